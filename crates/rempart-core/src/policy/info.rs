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

use crate::listing::Listing;
use crate::normalize::fold_word;

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
    paths: Vec<Vec<String>>,
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
        let paths: Vec<Vec<String>> = def.fields.iter().map(|f| f.split('.').map(str::to_string).collect()).collect();
        if let Some(bad) = def.fields.iter().find(|f| f.is_empty() || f.split('.').any(str::is_empty)) {
            return Err(format!("info `{name}`: field `{bad}` is not a dotted path (e.g. seller.type)"));
        }
        Ok(InfoItem {
            name: name.to_string(),
            file: file.to_string(),
            description: def.description.clone(),
            attributes: def.attributes.clone(),
            fields: def.fields.clone(),
            attribute_keys: def.attributes.iter().map(|a| attribute_key(a)).collect(),
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
        self.find_with_keys(listing, &attribute_keys(listing))
    }

    /// [`InfoItem::find`] with the listing's [`attribute_keys`] computed
    /// once for all items.
    pub fn find_with_keys<'a>(&self, listing: &'a Listing, keys: &[String]) -> Option<Found<'a>> {
        for ((key, value), folded) in listing.attributes.iter().zip(keys) {
            if self.attribute_keys.contains(folded) && self.accepts(value) {
                return Some(Found { field: format!("attributes.{key}").into(), text: value.as_str().into() });
            }
        }
        for path in &self.paths {
            if let Some(text) = value_at(listing, path) {
                if self.accepts(&text) {
                    return Some(Found { field: path.join(".").into(), text });
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

/// The listing's attribute names as [`InfoItem`]s compare them.
pub fn attribute_keys(listing: &Listing) -> Vec<String> {
    listing.attributes.iter().map(|(k, _)| attribute_key(k)).collect()
}

/// An attribute name compared loosely: `Manufacturer Name`,
/// `manufacturer-name` and `manufacturer_name` are one key.
fn attribute_key(name: &str) -> String {
    let words: Vec<String> =
        name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold_word).collect();
    words.join("_")
}

/// A value compared loosely: case, accents and separators aside.
fn fold_value(value: &str) -> String {
    let words: Vec<String> =
        value.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold_word).collect();
    words.join(" ")
}

/// The text at a JSON path of the listing: `seller.*` reads the seller,
/// anything else the fields the contract keeps without reading
/// (`gpsr.manufacturer.name`), and `attributes.NAME` an attribute.
fn value_at<'a>(listing: &'a Listing, path: &[String]) -> Option<Cow<'a, str>> {
    let (head, rest) = path.split_first()?;
    match (head.as_str(), rest) {
        ("seller", [key]) if key == "id" => listing.seller.as_ref()?.id.as_deref().map(Cow::Borrowed),
        ("seller", [key]) if key == "country" => listing.seller.as_ref()?.country.as_deref().map(Cow::Borrowed),
        ("seller", [key, deeper @ ..]) => scalar(walk(listing.seller.as_ref()?.extra.get(key)?, deeper)?),
        ("images", []) => listing.images.iter().find_map(|i| i.url.as_deref().or(i.pdq.as_deref())).map(Cow::Borrowed),
        ("attributes", [name]) => {
            let key = attribute_key(name);
            listing.attributes.iter().find(|(k, _)| attribute_key(k) == key).map(|(_, v)| v.as_str().into())
        }
        (other, _) => scalar(walk(listing.extra.get(other)?, rest)?),
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
