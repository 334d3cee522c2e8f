//! The removed-listings index: the text fingerprint and image hashes of
//! every listing blocked or removed, persisted as JSONL (one removal per
//! line, append-only) and loaded read-only for screening.

use std::io::Write;
use std::path::Path;

use rempart_core::Listing;
use rempart_hash::index::HashIndex;
use rempart_hash::Hash256;
use rempart_relist::{Attributes, ListingText, RemovedEntry, RemovedIndex, TextFingerprint};
use serde::{Deserialize, Serialize};

/// One removal as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Removal {
    #[serde(flatten)]
    pub entry: RemovedEntry,
    /// PDQ hashes (hex) of the listing's images.
    #[serde(default)]
    pub images: Vec<String>,
}

/// Who and what a near image belongs to.
#[derive(Clone, Debug)]
struct ImageOwner {
    listing_id: String,
    decided_by: String,
    seller_id: Option<String>,
}

/// Index of removed listings. Built once from a file or the store; a
/// long-running service then [`add`](RemovedListings::add)s each new
/// removal, so a block is seen by the next submission.
pub struct RemovedListings {
    text: RemovedIndex,
    images: HashIndex,
    image_owners: Vec<ImageOwner>,
    /// Images added since the multi-index was built, scanned linearly:
    /// the index is a static structure, rebuilt once this grows.
    recent_images: Vec<(Hash256, ImageOwner)>,
    ids: std::collections::HashSet<String>,
}

/// Recent images scanned linearly before the index is rebuilt with them:
/// a scan of this many hashes costs about one index query.
const MAX_RECENT_IMAGES: usize = 2_048;

/// A removed listing an image is near.
#[derive(Clone, Debug)]
pub struct NearImage {
    pub listing_id: String,
    pub decided_by: String,
    pub seller_id: Option<String>,
    pub distance: u32,
}

/// A line of the removed-listings file that could not be read.
#[derive(Clone, Debug)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

/// The brand-like attributes a fingerprint reads besides the title:
/// sellers rarely change them when relisting.
fn other_text(listing: &Listing) -> String {
    let other: Vec<&str> = listing
        .attributes
        .iter()
        .filter(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "brand" | "manufacturer" | "model" | "marque"))
        .map(|(_, v)| v.as_str())
        .collect();
    other.join(" ")
}

fn listing_text<'a>(listing: &'a Listing, other: &'a str) -> ListingText<'a> {
    ListingText {
        title: &listing.title,
        description: listing.description.as_deref(),
        other: (!other.is_empty()).then_some(other),
    }
}

/// The text fingerprint of a listing: its title and brand-like
/// attributes.
pub fn fingerprint(listing: &Listing) -> TextFingerprint {
    let other = other_text(listing);
    TextFingerprint::new(&listing_text(listing, &other))
}

/// What the same text states (sizes, capacities, colours, model numbers),
/// kept with a removal so that a product-line variant can be told from a
/// relisting.
pub fn attributes(listing: &Listing) -> Attributes {
    let other = other_text(listing);
    Attributes::of_listing(&listing_text(listing, &other))
}

impl Removal {
    /// The record for a listing removed by `decided_by`, with the image
    /// hashes known for it.
    pub fn of(listing: &Listing, decided_by: &str, images: Vec<Hash256>) -> Removal {
        Removal {
            entry: RemovedEntry {
                listing_id: listing.id.clone(),
                decided_by: decided_by.to_string(),
                seller_id: listing.seller.as_ref().and_then(|s| s.id.clone()),
                fingerprint: fingerprint(listing),
                attributes: attributes(listing),
            },
            images: images.iter().map(Hash256::to_string).collect(),
        }
    }
}

impl RemovedListings {
    /// Loads the file; a missing file is an empty index. Bad lines are
    /// returned, never fatal.
    pub fn load(path: &Path) -> std::io::Result<(RemovedListings, Vec<BadLine>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut removals = Vec::new();
        let mut bad = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match serde_json::from_str::<Removal>(line) {
                Ok(r) => removals.push(r),
                Err(e) => bad.push(BadLine { line: n + 1, reason: e.to_string() }),
            }
        }
        let (index, mut bad_images) = RemovedListings::build(removals);
        bad.append(&mut bad_images);
        Ok((index, bad))
    }

    /// Builds the index from removals in memory.
    pub fn build(removals: Vec<Removal>) -> (RemovedListings, Vec<BadLine>) {
        let mut text = RemovedIndex::new();
        let mut hashes = Vec::new();
        let mut image_owners = Vec::new();
        let mut bad = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for (n, removal) in removals.into_iter().enumerate() {
            ids.insert(removal.entry.listing_id.clone());
            let owner = ImageOwner {
                listing_id: removal.entry.listing_id.clone(),
                decided_by: removal.entry.decided_by.clone(),
                seller_id: removal.entry.seller_id.clone(),
            };
            for hex in &removal.images {
                match hex.parse::<Hash256>() {
                    Ok(h) => {
                        hashes.push(h);
                        image_owners.push(owner.clone());
                    }
                    Err(e) => bad.push(BadLine { line: n + 1, reason: format!("images: {e}") }),
                }
            }
            if let Err(e) = text.insert(removal.entry) {
                bad.push(BadLine { line: n + 1, reason: e.to_string() });
            }
        }
        (RemovedListings { text, images: HashIndex::new(hashes), image_owners, recent_images: Vec::new(), ids }, bad)
    }

    /// Adds one removal to the live index.
    pub fn add(&mut self, removal: Removal) -> Result<(), String> {
        let owner = ImageOwner {
            listing_id: removal.entry.listing_id.clone(),
            decided_by: removal.entry.decided_by.clone(),
            seller_id: removal.entry.seller_id.clone(),
        };
        let hashes = removal.images.iter().map(|h| h.parse::<Hash256>()).collect::<Result<Vec<_>, _>>();
        let hashes = hashes.map_err(|e| format!("images: {e}"))?;
        self.ids.insert(removal.entry.listing_id.clone());
        self.text.insert(removal.entry).map_err(|e| e.to_string())?;
        self.recent_images.extend(hashes.into_iter().map(|h| (h, owner.clone())));
        if self.recent_images.len() > MAX_RECENT_IMAGES {
            let mut all = self.images.hashes().to_vec();
            for (h, owner) in self.recent_images.drain(..) {
                all.push(h);
                self.image_owners.push(owner);
            }
            self.images = HashIndex::new(all);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether `listing_id` was removed.
    pub fn contains(&self, listing_id: &str) -> bool {
        self.ids.contains(listing_id)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Removed listings whose text is near `listing`'s (similarity
    /// `min_similarity` or more), excluding the listing itself, with their
    /// attributes compared: best score first.
    pub fn near_text(&self, listing: &Listing, min_similarity: f64) -> Vec<rempart_relist::Near> {
        let fingerprint = fingerprint(listing);
        // Most listings are near nothing: read attributes (about as long
        // as the fingerprint) only for those that are.
        if self.text.query(&fingerprint, min_similarity).is_empty() {
            return Vec::new();
        }
        let mut near = self.text.query_with_attributes(&fingerprint, &attributes(listing), min_similarity);
        near.retain(|n| n.listing_id != listing.id);
        near
    }

    /// The nearest removed image within `max_distance` of `hash`,
    /// excluding images of the listing itself.
    pub fn near_image(&self, listing_id: &str, hash: &Hash256, max_distance: u32) -> Option<NearImage> {
        // Results come nearest first.
        let indexed = self.images.query(hash, max_distance).into_iter().find_map(|(id, distance)| {
            let owner = self.image_owners.get(id as usize).filter(|o| o.listing_id != listing_id)?;
            Some((owner, distance))
        });
        let recent = self
            .recent_images
            .iter()
            .filter(|(_, o)| o.listing_id != listing_id)
            .map(|(h, o)| (o, h.distance(hash)))
            .filter(|(_, d)| *d <= max_distance)
            .min_by_key(|(_, d)| *d);
        let (owner, distance) = match (indexed, recent) {
            (Some(a), Some(b)) => {
                if b.1 < a.1 {
                    b
                } else {
                    a
                }
            }
            (a, b) => a.or(b)?,
        };
        Some(NearImage {
            listing_id: owner.listing_id.clone(),
            decided_by: owner.decided_by.clone(),
            seller_id: owner.seller_id.clone(),
            distance,
        })
    }
}

/// Appends removals to the file (creating it), one JSON line each.
pub fn append(path: &Path, removals: &[Removal]) -> std::io::Result<()> {
    if removals.is_empty() {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut buffer = Vec::new();
    for removal in removals {
        serde_json::to_writer(&mut buffer, removal).map_err(std::io::Error::other)?;
        buffer.push(b'\n');
    }
    file.write_all(&buffer)?;
    file.sync_data()
}
