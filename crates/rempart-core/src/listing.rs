//! The listing contract (DESIGN.md): only `id` and `title` are required,
//! unknown fields are kept, and every rejection names the field.
//!
//! Deserialisation is a hand-written serde visitor rather than a derive:
//! a derive with `#[serde(flatten)]` buffers the whole object and reports
//! type errors without the field's name, and both matter here — one
//! listing per line, millions of lines, and an operator who must know
//! which field of which line is wrong.

use std::fmt;

use serde::de::{self, Deserializer, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Size caps that keep one absurd record from costing the batch.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub id_bytes: usize,
    pub title_bytes: usize,
    pub description_bytes: usize,
    pub category_bytes: usize,
    pub attribute_bytes: usize,
    pub attributes: usize,
    pub record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            id_bytes: 512,
            title_bytes: 8 * 1024,
            description_bytes: 256 * 1024,
            category_bytes: 2 * 1024,
            attribute_bytes: 16 * 1024,
            attributes: 512,
            record_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why a record was not accepted as a listing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A field is missing, has the wrong type, or is too large.
    #[error("field {field}: {message}")]
    Field { field: String, message: String },
    /// The record is not a JSON object (or not JSON at all).
    #[error("{0}")]
    Record(String),
}

impl InputError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError::Field { field: field.into(), message: message.into() }
    }

    /// The field at fault, if one is.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            InputError::Field { field, .. } => Some(field),
            InputError::Record(_) => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub amount: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Precomputed PDQ hash, 64 hex characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seller {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A product listing as the gate sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Listing {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Attributes in the order given; values are kept as text.
    #[serde(serialize_with = "serialize_attributes")]
    pub attributes: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    pub images: Vec<ImageRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<Seller>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// ISO 3166-1 alpha-2 codes, upper case. Empty: reaches everywhere.
    pub ship_to: Vec<String>,
    /// Fields the contract does not name, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn serialize_attributes<S: serde::Serializer>(attrs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(attrs.len()))?;
    for (k, v) in attrs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Listing {
    /// A listing with just an id and a title.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Listing {
        Listing { id: id.into(), title: title.into(), ..Listing::default() }
    }

    /// Parses one JSON record with the default limits.
    pub fn from_json(bytes: &[u8]) -> Result<Listing, InputError> {
        Listing::from_json_with(bytes, &Limits::default())
    }

    /// Parses one JSON record, enforcing `limits`.
    pub fn from_json_with(bytes: &[u8], limits: &Limits) -> Result<Listing, InputError> {
        if bytes.len() > limits.record_bytes {
            return Err(InputError::Record(format!(
                "record is {} bytes, over the {}-byte cap",
                bytes.len(),
                limits.record_bytes
            )));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let listing = de.deserialize_map(ListingVisitor { limits }).map_err(|e| decode_error(&e))?;
        de.end()
            .map_err(|e| InputError::Record(format!("trailing characters after the object: {}", strip_position(&e))))?;
        Ok(listing)
    }

    /// Checks caps and codes on a listing built in code or from CSV.
    pub fn validate(&self, limits: &Limits) -> Result<(), InputError> {
        check_id(&self.id, limits)?;
        check_len("title", &self.title, limits.title_bytes)?;
        if self.title.trim().is_empty() {
            return Err(InputError::field("title", "is empty"));
        }
        if let Some(d) = &self.description {
            check_len("description", d, limits.description_bytes)?;
        }
        if let Some(c) = &self.category {
            check_len("category", c, limits.category_bytes)?;
        }
        for (k, v) in &self.attributes {
            check_len(&format!("attributes.{k}"), v, limits.attribute_bytes)?;
        }
        for (i, code) in self.ship_to.iter().enumerate() {
            check_country(&format!("ship_to[{i}]"), code)?;
        }
        Ok(())
    }
}

/// Turns a serde_json error into an [`InputError`], recovering the field
/// name our visitor put in front of the message.
fn decode_error(e: &serde_json::Error) -> InputError {
    let message = strip_position(e);
    if let Some(rest) = message.strip_prefix("field ") {
        if let Some((field, what)) = rest.split_once(": ") {
            return InputError::field(field, what);
        }
    }
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            InputError::Record(format!("invalid JSON: {message} (column {})", e.column()))
        }
        _ => InputError::Record(message),
    }
}

fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(p) => text[..p].to_string(),
        None => text,
    }
}

fn check_len(field: &str, value: &str, cap: usize) -> Result<(), InputError> {
    if value.len() > cap {
        return Err(InputError::field(field, format!("{} bytes, over the {cap}-byte cap", value.len())));
    }
    Ok(())
}

fn check_id(id: &str, limits: &Limits) -> Result<(), InputError> {
    if id.is_empty() {
        return Err(InputError::field("id", "is empty"));
    }
    check_len("id", id, limits.id_bytes)
}

fn check_country(field: &str, code: &str) -> Result<(), InputError> {
    let ok = code == "EU" || (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()));
    if ok {
        Ok(())
    } else {
        Err(InputError::field(field, format!("`{code}` is not an ISO 3166-1 alpha-2 country code")))
    }
}

struct ListingVisitor<'a> {
    limits: &'a Limits,
}

fn field_err<E: de::Error>(field: &str, e: impl fmt::Display) -> E {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(p) => text[..p].to_string(),
        None => text,
    };
    E::custom(format!("field {field}: {text}"))
}

/// A string field that also accepts a number (catalogue ids often are).
struct IdValue(String);

impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdValue, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(IdValue(s)),
            Value::Number(n) => Ok(IdValue(n.to_string())),
            other => Err(de::Error::custom(format!("expected a string, found {}", kind_of(&other)))),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expect_string(field: &str, v: Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(format!("field {field}: expected a string, found {}", kind_of(&other))),
    }
}

fn attribute_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        // Lists of values ("colors": ["red", "blue"]) read as text.
        Value::Array(items) => Some(items.iter().filter_map(attribute_text).collect::<Vec<_>>().join(", ")),
        Value::Object(_) => Some(v.to_string()),
    }
}

impl<'de> Visitor<'de> for ListingVisitor<'_> {
    type Value = Listing;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a listing object with at least `id` and `title`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Listing, A::Error> {
        let mut listing = Listing::default();
        let (mut has_id, mut has_title) = (false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => {
                    listing.id = map.next_value::<IdValue>().map_err(|e| field_err("id", e))?.0;
                    has_id = true;
                }
                "title" => {
                    let v: Value = map.next_value()?;
                    listing.title = expect_string("title", v).map_err(A::Error::custom)?.unwrap_or_default();
                    has_title = true;
                }
                "description" | "category" | "language" => {
                    let v: Value = map.next_value()?;
                    let s = expect_string(&key, v).map_err(A::Error::custom)?;
                    match key.as_str() {
                        "description" => listing.description = s,
                        "category" => listing.category = s,
                        _ => listing.language = s,
                    }
                }
                "attributes" => match map.next_value::<Value>()? {
                    Value::Object(obj) => {
                        if obj.len() > self.limits.attributes {
                            return Err(A::Error::custom(format!(
                                "field attributes: {} entries, over the cap of {}",
                                obj.len(),
                                self.limits.attributes
                            )));
                        }
                        listing.attributes =
                            obj.iter().filter_map(|(k, v)| attribute_text(v).map(|t| (k.clone(), t))).collect();
                    }
                    Value::Null => {}
                    other => {
                        return Err(A::Error::custom(format!(
                            "field attributes: expected an object, found {}",
                            kind_of(&other)
                        )))
                    }
                },
                "price" => {
                    listing.price = map.next_value::<Option<Price>>().map_err(|e| field_err("price", e))?;
                }
                "images" => {
                    listing.images = map
                        .next_value::<Option<Vec<ImageRef>>>()
                        .map_err(|e| field_err("images", e))?
                        .unwrap_or_default();
                }
                "seller" => {
                    listing.seller = map.next_value::<Option<Seller>>().map_err(|e| field_err("seller", e))?;
                }
                "ship_to" => {
                    let v: Value = map.next_value()?;
                    listing.ship_to = parse_ship_to(v).map_err(A::Error::custom)?;
                }
                _ => {
                    let v: Value = map.next_value()?;
                    listing.extra.insert(key, v);
                }
            }
        }
        if !has_id {
            return Err(A::Error::custom("field id: missing (required)"));
        }
        if !has_title {
            return Err(A::Error::custom("field title: missing (required)"));
        }
        listing.validate(self.limits).map_err(|e| A::Error::custom(e.to_string()))?;
        Ok(listing)
    }
}

fn parse_ship_to(v: Value) -> Result<Vec<String>, String> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) => s.split([',', ';', ' ']).filter(|p| !p.is_empty()).map(str::to_string).collect(),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(format!("field ship_to[{i}]: expected a string, found {}", kind_of(&other))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(format!("field ship_to: expected an array of country codes, found {}", kind_of(&other))),
    };
    Ok(items.into_iter().map(|s| s.trim().to_ascii_uppercase()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_full_records() {
        let l = Listing::from_json(br#"{"id":"L-1","title":"Mug"}"#).expect("valid");
        assert_eq!((l.id.as_str(), l.title.as_str()), ("L-1", "Mug"));
        let l = Listing::from_json(
            br#"{"id":7,"title":"Doll","attributes":{"height":"100 cm","n":3},"ship_to":["fr"],"x":{"kept":true}}"#,
        )
        .expect("valid");
        assert_eq!(l.id, "7");
        assert_eq!(l.attributes, vec![("height".into(), "100 cm".into()), ("n".into(), "3".into())]);
        assert_eq!(l.ship_to, vec!["FR"]);
        assert_eq!(l.extra.get("x"), Some(&serde_json::json!({"kept": true})));
    }

    #[test]
    fn errors_name_the_field() {
        let e = Listing::from_json(br#"{"title":"Mug"}"#).unwrap_err();
        assert_eq!(e.field_name(), Some("id"));
        let e = Listing::from_json(br#"{"id":"a","title":5}"#).unwrap_err();
        assert_eq!(e.to_string(), "field title: expected a string, found a number");
        let e = Listing::from_json(br#"{"id":"a","title":"t","ship_to":["FRA"]}"#).unwrap_err();
        assert_eq!(e.field_name(), Some("ship_to[0]"));
        let e = Listing::from_json(br#"{"id":"a","title":"t","price":{"amount":"x"}}"#).unwrap_err();
        assert_eq!(e.field_name(), Some("price"));
        let e = Listing::from_json(br#"{"id":"a","#).unwrap_err();
        assert!(e.to_string().starts_with("invalid JSON"), "{e}");
        let e = Listing::from_json(br#"[1,2]"#).unwrap_err();
        assert!(e.to_string().contains("listing object"), "{e}");
    }

    #[test]
    fn caps_are_enforced() {
        let long = format!(r#"{{"id":"a","title":"{}"}}"#, "x".repeat(10_000));
        let e = Listing::from_json(long.as_bytes()).unwrap_err();
        assert_eq!(e.field_name(), Some("title"));
        let deep = format!(r#"{{"id":"a","title":"t","x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
        assert!(Listing::from_json(deep.as_bytes()).is_err());
    }
}
