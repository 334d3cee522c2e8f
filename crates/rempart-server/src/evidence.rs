//! The seller's text cut where the evidence lies, for the review console:
//! each field of the listing as received, split into segments, each saying
//! which evidence items cover it. The offsets are byte offsets into the
//! original text (DESIGN.md), so the cutting happens here, in Rust, and
//! the console only lays out segments as text nodes (never as HTML).

use rempart_core::{Evidence, Listing};
use serde::Serialize;

/// A piece of a field's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    /// Indexes (into the item's evidence list) of the evidence covering it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<usize>,
}

/// One field of the listing, cut into segments.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// `title`, `description`, `category`, `attributes.<name>`.
    pub field: String,
    pub segments: Vec<Segment>,
}

/// One evidence item as the console lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub index: usize,
    pub policy: String,
    pub rule: String,
    pub field: String,
    pub text: String,
    pub signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether it points into a text field shown above (else it is about
    /// an image or the seller).
    pub located: bool,
}

/// Cuts `text` at the spans' boundaries. Spans that are out of range or
/// not on character boundaries are skipped (they cannot be shown
/// faithfully), never guessed.
pub fn segments(text: &str, spans: &[(usize, usize, usize)]) -> Vec<Segment> {
    let valid: Vec<&(usize, usize, usize)> = spans
        .iter()
        .filter(|(s, e, _)| s < e && *e <= text.len() && text.is_char_boundary(*s) && text.is_char_boundary(*e))
        .collect();
    let mut cuts: Vec<usize> = vec![0, text.len()];
    cuts.extend(valid.iter().flat_map(|(s, e, _)| [*s, *e]));
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .filter(|w| w[0] < w[1])
        .map(|w| Segment {
            text: text[w[0]..w[1]].to_string(),
            evidence: valid.iter().filter(|(s, e, _)| *s <= w[0] && w[1] <= *e).map(|(_, _, i)| *i).collect(),
        })
        .collect()
}

/// The listing's text fields with the evidence of `matches` placed, and
/// the evidence list they refer to.
pub fn fields(listing: &Listing, matches: &[rempart_core::RuleMatch]) -> (Vec<Field>, Vec<Item>) {
    let mut items: Vec<Item> = Vec::new();
    let mut placed: Vec<(&str, &Evidence, usize)> = Vec::new();
    for m in matches {
        for e in &m.evidence {
            let index = items.len();
            items.push(Item {
                index,
                policy: m.policy.clone(),
                rule: m.rule.clone(),
                field: e.field.clone(),
                text: e.text.clone(),
                signal: e.signal.clone(),
                detail: e.detail.clone(),
                located: false,
            });
            placed.push((e.field.as_str(), e, index));
        }
    }
    let mut texts: Vec<(String, &str)> = vec![("title".into(), listing.title.as_str())];
    if let Some(d) = &listing.description {
        texts.push(("description".into(), d));
    }
    if let Some(c) = &listing.category {
        texts.push(("category".into(), c));
    }
    for (k, v) in &listing.attributes {
        texts.push((format!("attributes.{k}"), v));
    }
    let fields = texts
        .into_iter()
        .map(|(name, text)| {
            let spans: Vec<(usize, usize, usize)> =
                placed.iter().filter(|(f, _, _)| *f == name).map(|(_, e, i)| (e.start, e.end, *i)).collect();
            let segments = segments(text, &spans);
            for s in &segments {
                for &i in &s.evidence {
                    items[i].located = true;
                }
            }
            Field { field: name, segments }
        })
        .collect();
    (fields, items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_spans_cut_the_text_without_losing_a_byte() {
        let text = "Poupée sexuelle 100 cm";
        // "Poupée sexuelle" = bytes 0..16 (é is two bytes), "sexuelle" =
        // 8..16, "100 cm" = 17..23.
        let s = segments(text, &[(0, 16, 0), (8, 16, 1), (17, 23, 2)]);
        let joined: String = s.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(joined, text);
        let marked: Vec<(&str, Vec<usize>)> = s.iter().map(|x| (x.text.as_str(), x.evidence.clone())).collect();
        assert_eq!(marked, [("Poupée ", vec![0]), ("sexuelle", vec![0, 1]), (" ", vec![]), ("100 cm", vec![2])]);
    }

    #[test]
    fn spans_off_character_boundaries_are_not_shown() {
        let s = segments("é", &[(1, 2, 0)]);
        assert_eq!(s, [Segment { text: "é".into(), evidence: vec![] }]);
        assert_eq!(segments("", &[]), Vec::<Segment>::new());
    }
}
