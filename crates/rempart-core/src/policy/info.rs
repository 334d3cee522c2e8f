//! Listing information a rule can require (`[info.NAME]` in a pack): a
//! piece of information is *present* when the listing carries a non-empty
//! value under one of the accepted attribute names or JSON paths,
//! optionally one of the accepted values or matching a pattern.
//!
//! This is what lets a policy say "a trader's offer must show the
//! manufacturer's postal address" (GPSR Art. 19) as data: the accepted
//! names and values are lists in the policy file, and a rule names the
//! item like a signal (`trader_offer & !manufacturer_postal_address`).
//! When such a rule fires, the decision names each required item that is
//! absent ([`crate::RuleMatch::missing`]) so the seller can supply it.

use std::borrow::Cow;

use serde_json::Value;

use crate::lexicon::FastMap;
use crate::listing::Listing;
use crate::normalize::{fold_words_joined, is_folded_name};

/// A compiled `[info.NAME]` item.
#[derive(Clone, Debug)]
pub struct InfoItem {
    pub name: String,
    pub file: String,
    /// What the seller is asked for, in words.
    pub description: String,
    /// Accepted attribute names, as written in the pack.
    pub attributes: Vec<String>,
    /// Accepted JSON paths (`seller.type`, `gpsr.manufacturer.name`).
    pub fields: Vec<String>,
    attribute_keys: Vec<String>,
    /// `fields`, resolved once: every listing is searched at each of them.
    paths: Vec<InfoPath>,
    /// Accepted values, folded; empty: any non-empty value.
    values: Vec<String>,
    pattern: Option<regex::Regex>,
}

/// Where an item was found: the field (`attributes.manufacturer`,
/// `seller.type`) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub field: Cow<'a, str>,
    pub text: Cow<'a, str>,
}

impl InfoItem {
    /// Compiles an item; `Err` names what is wrong with it.
    pub(crate) fn new(name: &str, file: &str, def: &super::schema::InfoDef) -> Result<InfoItem, String> {
        if def.attributes.is_empty() && def.fields.is_empty() {
            return Err(format!("info `{name}` names no attributes and no fields"));
        }
        let pattern = match &def.pattern {
            Some(p) => Some(regex::Regex::new(p).map_err(|e| format!("info `{name}`: pattern {p:?}: {e}"))?),
            None => None,
        };
        let paths = def.fields.iter().map(|f| InfoPath::new(f)).collect();
        if let Some(bad) = def.fields.iter().find(|f| f.is_empty() || f.split('.').any(str::is_empty)) {
            return Err(format!("info `{name}`: field `{bad}` is not a dotted path (e.g. seller.type)"));
        }
        Ok(InfoItem {
            name: name.to_string(),
            file: file.to_string(),
            description: def.description.clone(),
            attributes: def.attributes.clone(),
            fields: def.fields.clone(),
            attribute_keys: def.attributes.iter().map(|a| attribute_key(a).into_owned()).collect(),
            paths,
            values: def.values.iter().map(|v| fold_value(v)).collect(),
            pattern,
        })
    }

    /// An item with accepted values tests *what* the seller said (a
    /// business account, a manufacturer established in the EU); one
    /// without is information to supply, named as missing when absent.
    pub fn is_condition(&self) -> bool {
        !self.values.is_empty()
    }

    /// The first place the listing carries this item, if it does.
    pub fn find<'a>(&self, listing: &'a Listing) -> Option<Found<'a>> {
        let mut attributes = listing.attributes.iter();
        let accepted = attributes.find(|(key, value)| {
            let key = attribute_key(key);
            self.attribute_keys.iter().any(|k| *k == key) && self.accepts(value)
        });
        accepted.map(|(key, value)| Found::attribute(key, value)).or_else(|| self.find_at_paths(listing))
    }

    /// The first of the item's JSON paths where the listing carries it.
    fn find_at_paths<'a>(&self, listing: &'a Listing) -> Option<Found<'a>> {
        for path in &self.paths {
            if let Some(text) = path.value_in(listing) {
                if self.accepts(&text) {
                    return Some(Found { field: path.dotted.clone().into(), text });
                }
            }
        }
        None
    }

    fn accepts(&self, value: &str) -> bool {
        let value = value.trim();
        !value.is_empty()
            && (self.values.is_empty() || self.values.contains(&fold_value(value)))
            && self.pattern.as_ref().is_none_or(|p| p.is_match(value))
    }
}

impl<'a> Found<'a> {
    fn attribute(key: &str, value: &'a str) -> Found<'a> {
        Found { field: format!("attributes.{key}").into(), text: value.into() }
    }
}

/// The accepted attribute names of a pack's items, folded as a listing's
/// are ([`attribute_key`]), each with the items that accept it (indices
/// into the items, ascending): a listing's attribute name is looked up
/// once instead of compared with every accepted name of every item.
#[derive(Clone, Debug, Default)]
pub(crate) struct AcceptedNames(FastMap<String, Vec<usize>>);

impl AcceptedNames {
    pub(crate) fn new(items: &[InfoItem]) -> AcceptedNames {
        let mut names: FastMap<String, Vec<usize>> = FastMap::default();
        for (i, item) in items.iter().enumerate() {
            for key in &item.attribute_keys {
                let accepting = names.entry(key.clone()).or_default();
                // Two spellings of one name (`manufacturer name`,
                // `manufacturer_name`) fold to one key.
                if accepting.last() != Some(&i) {
                    accepting.push(i);
                }
            }
        }
        AcceptedNames(names)
    }
}

/// Where the listing carries item `i` of `items` ([`InfoItem::find`]),
/// with `names` prepared from the same items: under the first attribute,
/// in the listing's order, that accepts it, else at one of its paths.
pub(crate) fn find_one<'a>(
    items: &[InfoItem],
    names: &AcceptedNames,
    i: usize,
    listing: &'a Listing,
) -> Option<Found<'a>> {
    let item = items.get(i)?;
    for (key, value) in &listing.attributes {
        let accepting = names.0.get(attribute_key(key).as_ref()).is_some_and(|accepting| accepting.contains(&i));
        if accepting && item.accepts(value) {
            return Some(Found::attribute(key, value));
        }
    }
    item.find_at_paths(listing)
}

/// An attribute name compared loosely: `Manufacturer Name`,
/// `manufacturer-name` and `manufacturer_name` are one key.
fn attribute_key(name: &str) -> Cow<'_, str> {
    // Most names are written folded already (`manufacturer`, `height_cm`)
    // and fold to themselves, so they are not copied.
    if is_folded_name(name) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(fold_attribute_name(name))
}

/// [`attribute_key`] of any name: its words folded, joined by `_`.
fn fold_attribute_name(name: &str) -> String {
    fold_words_joined(name, '_')
}

/// A value compared loosely: case, accents and separators aside.
fn fold_value(value: &str) -> String {
    fold_words_joined(value, ' ')
}

/// A JSON path of the listing, resolved when the pack is compiled: which
/// part of the listing it reads is decided once, not for every listing,
/// and a path into the fields the contract keeps without reading costs
/// nothing on the many listings that carry none. Resolving each path for
/// every listing cost 1,200 instructions per listing, 1.7 % of screening
/// (BENCHMARKS.md, issue 14, tenth step).
#[derive(Clone, Debug)]
struct InfoPath {
    /// As the pack wrote it (`gpsr.manufacturer.name`), for the evidence.
    dotted: String,
    place: Place,
}

#[derive(Clone, Debug)]
enum Place {
    SellerId,
    SellerCountry,
    /// `seller.KEY.DEEPER…`: the seller's fields the contract does not name.
    Seller {
        key: String,
        deeper: Vec<String>,
    },
    /// `images`: the first image's address or hash.
    Images,
    /// `attributes.NAME`, the name folded as [`attribute_key`] folds it.
    Attribute(String),
    /// `HEAD.REST…`: the listing's fields the contract does not name.
    Kept {
        head: String,
        rest: Vec<String>,
    },
}

impl InfoPath {
    /// `dotted` is checked by [`InfoItem::new`] (no empty segment).
    fn new(dotted: &str) -> InfoPath {
        let mut segments = dotted.split('.').map(str::to_string);
        let head = segments.next().unwrap_or_default();
        let rest: Vec<String> = segments.collect();
        let place = match (head.as_str(), rest.as_slice()) {
            ("seller", [key]) if key == "id" => Place::SellerId,
            ("seller", [key]) if key == "country" => Place::SellerCountry,
            ("seller", [key, deeper @ ..]) => Place::Seller { key: key.clone(), deeper: deeper.to_vec() },
            ("images", []) => Place::Images,
            ("attributes", [name]) => Place::Attribute(attribute_key(name).into_owned()),
            _ => Place::Kept { head, rest },
        };
        InfoPath { dotted: dotted.to_string(), place }
    }

    /// The text at this path of `listing`, if it holds a scalar there.
    fn value_in<'a>(&self, listing: &'a Listing) -> Option<Cow<'a, str>> {
        match &self.place {
            Place::SellerId => listing.seller.as_ref()?.id.as_deref().map(Cow::Borrowed),
            Place::SellerCountry => listing.seller.as_ref()?.country.as_deref().map(Cow::Borrowed),
            Place::Seller { key, deeper } => scalar(walk(listing.seller.as_ref()?.extra.get(key)?, deeper)?),
            Place::Images => {
                listing.images.iter().find_map(|i| i.url.as_deref().or(i.pdq.as_deref())).map(Cow::Borrowed)
            }
            Place::Attribute(key) => listing
                .attributes
                .iter()
                .find(|(k, _)| attribute_key(k) == key.as_str())
                .map(|(_, v)| v.as_str().into()),
            Place::Kept { .. } if listing.extra.is_empty() => None,
            Place::Kept { head, rest } => scalar(walk(listing.extra.get(head)?, rest)?),
        }
    }
}

fn walk<'a>(mut value: &'a Value, path: &[String]) -> Option<&'a Value> {
    for key in path {
        value = value.as_object()?.get(key)?;
    }
    Some(value)
}

fn scalar(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(true) => Some(Cow::Borrowed("true")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::schema::InfoDef;

    fn item(attributes: &[&str], fields: &[&str], values: &[&str], pattern: Option<&str>) -> InfoItem {
        let def = InfoDef {
            description: "d".into(),
            attributes: attributes.iter().map(|s| s.to_string()).collect(),
            fields: fields.iter().map(|s| s.to_string()).collect(),
            values: values.iter().map(|s| s.to_string()).collect(),
            pattern: pattern.map(str::to_string),
        };
        InfoItem::new("x", "f.toml", &def).expect("valid")
    }

    #[test]
    fn attribute_names_and_values_compare_loosely() {
        let name = item(&["manufacturer_name", "fabricant"], &[], &[], None);
        let mut listing = Listing::new("1", "Mug");
        assert!(name.find(&listing).is_none());
        listing.attributes.push(("Manufacturer Name".into(), "  ".into()));
        assert!(name.find(&listing).is_none(), "blank values are absent");
        listing.attributes.push(("Fabricant".into(), "Acme SAS".into()));
        let found = name.find(&listing).expect("present");
        assert_eq!((found.field.as_ref(), found.text.as_ref()), ("attributes.Fabricant", "Acme SAS"));

        let in_eu = item(&["manufacturer_country"], &[], &["FR", "France", "Deutschland"], None);
        listing.attributes.push(("manufacturer-country".into(), "FRANCE".into()));
        assert!(in_eu.find(&listing).is_some());
        listing.attributes.pop();
        listing.attributes.push(("manufacturer_country".into(), "China".into()));
        assert!(in_eu.find(&listing).is_none());
        assert!(in_eu.is_condition() && !name.is_condition());
    }

    #[test]
    fn names_written_folded_are_kept_as_they_are() {
        let names = [
            "manufacturer",
            "height_cm",
            "eu_rp",
            "a1_b2",
            "Manufacturer",
            "manufacturer name",
            "_brand",
            "brand_",
            "eu__rp",
            "",
            "_",
            "straße",
            "Marke",
            "e-mail",
            "x\u{200B}y",
            "ÉCOLE_2",
            "0",
            "a_0_b",
        ];
        for name in names {
            assert_eq!(attribute_key(name), fold_attribute_name(name), "{name:?}");
        }
        assert!(matches!(attribute_key("height_cm"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        /// A name folds in one string as its words fold one by one.
        #[test]
        fn ascii_names_fold_as_every_name_does(name in "[ -~]{0,16}") {
            let word_by_word = crate::normalize::fold_words(&name).collect::<Vec<_>>().join("_");
            proptest::prop_assert_eq!(fold_attribute_name(&name), word_by_word);
        }
    }

    /// Through the prepared names, each item is found where its own
    /// search finds it: under the first attribute it accepts (names
    /// compared loosely, values checked), else at one of its paths.
    #[test]
    fn prepared_names_find_what_each_item_finds() {
        let items = [
            item(&["manufacturer_name", "Manufacturer Name", "fabricant"], &["gpsr.manufacturer.name"], &[], None),
            item(&["manufacturer country", "Fabricant"], &[], &["FR", "France"], None),
            item(&["Straße Nr", "brand"], &["seller.type"], &["business"], None),
            item(&["brand"], &[], &[], Some(r"\S+\s+\S+")),
        ];
        let names = AcceptedNames::new(&items);
        let keys = [
            "manufacturer_name",
            "Manufacturer-Name",
            "FABRICANT",
            "manufacturer__name",
            "_fabricant",
            "straße nr",
            "STRASSE_NR",
            "Straße-Nr",
            "brand",
            "height_cm",
            "",
        ];
        let values = ["Acme", "  ", "France", "china", " FR ", "business", "Acme Corp"];
        let with_paths =
            r#"{"id":"1","title":"t","seller":{"type":"Business"},"gpsr":{"manufacturer":{"name":"Acme"}}}"#;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut found = 0;
        for round in 0..3_000 {
            let json = if round % 3 == 0 { with_paths } else { r#"{"id":"1","title":"t"}"# };
            let mut listing = Listing::from_json(json.as_bytes()).expect("listing");
            for _ in 0..next() % 5 {
                let (key, value) = (keys[next() as usize % keys.len()], values[next() as usize % values.len()]);
                listing.attributes.push((key.into(), value.into()));
            }
            let expected: Vec<Option<Found>> = items.iter().map(|i| i.find(&listing)).collect();
            found += expected.iter().flatten().count();
            let prepared: Vec<Option<Found>> =
                (0..items.len()).map(|i| find_one(&items, &names, i, &listing)).collect();
            assert_eq!(prepared, expected, "{:?}", listing.attributes);
        }
        assert!(found > 2_000, "{found} items found");
    }

    /// A resolved path reads what walking the listing's own JSON (as it
    /// is written back out) reads, for every kind of path, on listings
    /// with and without the parts it names.
    #[test]
    fn resolved_paths_read_what_the_listing_json_holds() {
        let listings = [
            r#"{"id":"1","title":"t"}"#,
            r#"{"id":"1","title":"t","seller":{"id":"S","country":"FR","type":"Business","a":{"b":7}}}"#,
            r#"{"id":"1","title":"t","gpsr":{"manufacturer":{"name":"Acme","ok":true,"no":false}},"gtin":"123"}"#,
            r#"{"id":"1","title":"t","gpsr":"flat","attributes":{"Brand":"B"},"seller":{"id":"S"}}"#,
        ];
        let paths = [
            "seller.id",
            "seller.country",
            "seller.type",
            "seller.a.b",
            "seller.a",
            "seller",
            "gpsr.manufacturer.name",
            "gpsr.manufacturer.ok",
            "gpsr.manufacturer.no",
            "gpsr.manufacturer",
            "gpsr.manufacturer.name.x",
            "gpsr",
            "gtin",
            "absent.path",
        ];
        let mut read = 0;
        for json in listings {
            let listing = Listing::from_json(json.as_bytes()).expect("listing");
            let written = serde_json::to_value(&listing).expect("serialises");
            for path in paths {
                let mut walked = Some(&written);
                for segment in path.split('.') {
                    walked = walked.and_then(|v| v.as_object()).and_then(|o| o.get(segment));
                }
                let expected = walked.and_then(scalar);
                read += usize::from(expected.is_some());
                assert_eq!(InfoPath::new(path).value_in(&listing), expected, "{path} in {json}");
            }
        }
        assert!(read >= 9, "{read} values read");
    }

    #[test]
    fn json_paths_reach_the_seller_and_kept_fields() {
        let trader = item(&[], &["seller.type"], &["business", "trader"], None);
        let email = item(&[], &["gpsr.manufacturer.email"], &[], Some("@"));
        let listing = Listing::from_json(
            br#"{"id":"1","title":"Mug","seller":{"id":"S","type":"Business"},"gpsr":{"manufacturer":{"email":"info@acme.eu"}}}"#,
        )
        .expect("listing");
        let found = trader.find(&listing).expect("trader");
        assert_eq!((found.field.as_ref(), found.text.as_ref()), ("seller.type", "Business"));
        assert!(email.find(&listing).is_some());
        let listing = Listing::from_json(br#"{"id":"1","title":"Mug","gpsr":{"manufacturer":{"email":"n/a"}}}"#)
            .expect("listing");
        assert!(email.find(&listing).is_none(), "the pattern is not met");
        assert!(trader.find(&listing).is_none());
    }
}
