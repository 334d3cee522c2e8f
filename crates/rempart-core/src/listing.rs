//! The listing contract (DESIGN.md): only `id` and `title` are required,
//! unknown fields are kept, and every rejection names the field.
//!
//! Deserialisation is a hand-written serde visitor rather than a derive:
//! a derive with `#[serde(flatten)]` buffers the whole object and reports
//! type errors without the field's name, and both matter here — one
//! listing per line, millions of lines, and an operator who must know
//! which field of which line is wrong.
//!
//! A record must mean one thing. A key given twice, at any depth, makes
//! the record invalid: parsers disagree on which value wins, so the title
//! the marketplace shows and the title screened could differ. A numeric
//! `id` keeps the digits as written (an integer of at most 64 bits) and
//! anything else numeric is refused rather than rewritten through
//! floating point (`1e2` would become `"100.0"`, and two large ids the
//! same string). An id of only spaces or invisible characters is blank.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scratch::{self, SpareStrings};

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
        // A record checked as UTF-8 once, in one pass, is read without
        // checking each string again (serde_json's `StrRead`; 1.7k
        // instructions per listing went to per-string checks). A record
        // that is not UTF-8 is read as bytes, so its error names the
        // place as before.
        scratch::with_spare_strings(|spare| match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => Listing::deserialize_from(serde_json::Deserializer::from_str(text), limits, spare),
            Err(_) => Listing::deserialize_from(serde_json::Deserializer::from_slice(bytes), limits, spare),
        })
    }

    fn deserialize_from<'de, R: serde_json::de::Read<'de>>(
        mut de: serde_json::Deserializer<R>,
        limits: &Limits,
        spare: &mut SpareStrings,
    ) -> Result<Listing, InputError> {
        let listing = de.deserialize_map(ListingVisitor { limits, spare }).map_err(|e| decode_error(&e))?;
        de.end()
            .map_err(|e| InputError::Record(format!("trailing characters after the object: {}", strip_position(&e))))?;
        Ok(listing)
    }

    /// Gives this listing's strings to the next record this thread reads
    /// ([`Listing::from_json_with`]), which copies its own into them
    /// rather than allocating its own: a reader that is done with each
    /// listing before the next saves five or six allocations and frees a
    /// record (BENCHMARKS.md, issue 14, seventeenth step). A listing never
    /// given back costs nothing more than before.
    pub fn recycle(self) {
        let Listing { id, title, description, category, mut attributes, language, .. } = self;
        scratch::with_spare_strings(|spare| {
            // The one read first given back last, so that the next
            // record's id, title and description, in the order most
            // records give them, get this one's and need not grow.
            let fields = [language, category, description];
            let given = 2 * attributes.len() + fields.iter().flatten().count() + 2;
            let texts = attributes.drain(..).rev().flat_map(|(name, value)| [value, name]);
            spare.keep(texts.chain(fields.into_iter().flatten()).chain([title, id]), given);
            spare.keep_attributes(attributes);
        });
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
        // Field names are written out only for an error: formatting one
        // per attribute of every listing was most of this check's cost.
        for (k, v) in &self.attributes {
            check_len(format_args!("attributes.{k}"), v, limits.attribute_bytes)?;
        }
        for (i, code) in self.ship_to.iter().enumerate() {
            check_country(format_args!("ship_to[{i}]"), code)?;
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
    without_position(e.to_string())
}

/// An error message without the ` at line L column C` serde_json ends it
/// with (the record's line is reported by the caller).
fn without_position(mut text: String) -> String {
    if let Some(p) = text.rfind(" at line ") {
        text.truncate(p);
    }
    text
}

fn check_len(field: impl fmt::Display, value: &str, cap: usize) -> Result<(), InputError> {
    if value.len() > cap {
        return Err(InputError::field(field.to_string(), format!("{} bytes, over the {cap}-byte cap", value.len())));
    }
    Ok(())
}

fn check_id(id: &str, limits: &Limits) -> Result<(), InputError> {
    if id.is_empty() {
        return Err(InputError::field("id", "is empty"));
    }
    use crate::normalize::props::{is_default_ignorable, is_white_space};
    if id.chars().all(|c| is_white_space(c) || is_default_ignorable(c)) {
        return Err(InputError::field("id", "is blank (only spaces or invisible characters)"));
    }
    check_len("id", id, limits.id_bytes)
}

fn check_country(field: impl fmt::Display, code: &str) -> Result<(), InputError> {
    match crate::policy::territory::unknown_code(code) {
        None => Ok(()),
        Some(why) => Err(InputError::field(field.to_string(), why)),
    }
}

struct ListingVisitor<'a> {
    limits: &'a Limits,
    spare: &'a mut SpareStrings,
}

fn field_err<E: de::Error>(field: &str, e: impl fmt::Display) -> E {
    E::custom(format!("field {field}: {}", without_position(e.to_string())))
}

/// A string field that also accepts an integer (catalogue ids often are),
/// kept as its digits. Other numbers are refused: their text would come
/// back rewritten through floating point.
struct IdValue<'s>(&'s mut SpareStrings);

impl<'de> de::DeserializeSeed<'de> for IdValue<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for IdValue<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
        Ok(self.0.text(s))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<String, E> {
        Ok(s)
    }
    // Integers reach here exactly as written (JSON has no leading
    // zeros, and serde_json reads them without rounding).
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<String, E> {
        Ok(n.to_string())
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<String, E> {
        Ok(n.to_string())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(E::custom(
            "a numeric id must be an integer written in digits, of at most 64 bits; give other ids as strings (their digits would be rewritten)",
        ))
    }
}

/// Reads a JSON value with duplicate keys refused at every depth; errors
/// name `field`, the record's field the value belongs to. Syntax errors
/// pass through untouched (they are reported as invalid JSON).
#[derive(Clone, Copy)]
struct Strict<'a> {
    field: &'a str,
}

impl<'de> de::DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("field {}: a number that is not finite", self.field)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let mut object = StrictObject { field: self.field, entries: Map::new() };
        read_object(map, self.field, &mut object)?;
        Ok(Value::Object(object.entries))
    }
}

/// Where [`read_object`] puts an object's entries, telling it which names
/// it already holds.
trait Entries<'de> {
    fn holds(&self, name: &str) -> bool;
    /// Reads the value of the entry named `name` from `map`, and keeps both.
    fn read<A: MapAccess<'de>>(&mut self, name: Cow<'de, str>, map: &mut A) -> Result<(), A::Error>;
}

/// An object of the record field `field` as a JSON value.
struct StrictObject<'a> {
    field: &'a str,
    entries: Map<String, Value>,
}

impl<'de> Entries<'de> for StrictObject<'_> {
    fn holds(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
    fn read<A: MapAccess<'de>>(&mut self, name: Cow<'de, str>, map: &mut A) -> Result<(), A::Error> {
        let value = map.next_value_seed(Strict { field: self.field })?;
        self.entries.insert(name.into_owned(), value);
        Ok(())
    }
}

/// Reads an object of the record field `field` into `entries`: a name
/// given twice is refused at its second occurrence.
fn read_object<'de, A: MapAccess<'de>>(
    mut map: A,
    field: &str,
    entries: &mut impl Entries<'de>,
) -> Result<(), A::Error> {
    while let Some(FieldKey(name)) = map.next_key::<FieldKey<'de>>()? {
        if entries.holds(&name) {
            return Err(A::Error::custom(format!(
                "field {field}: duplicate key `{name}` (given twice, so the record is ambiguous)"
            )));
        }
        entries.read(name, &mut map)?;
    }
    Ok(())
}

/// A value of a record field that is read as text: a string is copied
/// into a spare string ([`SpareStrings`]); any other value is read by
/// [`Strict`] (so that a name repeated inside it is refused as anywhere
/// else), then given to [`TextValue::other`].
trait TextValue<'de>: Sized {
    type Value;
    /// The record field the value belongs to, for [`Strict`]'s errors.
    fn field(&self) -> &'static str;
    fn text(self, text: &str) -> Result<Self::Value, String>;
    fn other(self, value: Value) -> Result<Self::Value, String>;
    /// An object, read by [`Strict`] unless the field reads its own.
    fn object<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = self.strict().visit_map(map)?;
        self.other(value).map_err(A::Error::custom)
    }
    fn strict(&self) -> Strict<'static> {
        Strict { field: self.field() }
    }
}

/// Reads a value as `T` says ([`TextValue`]).
struct ReadAs<T>(T);

impl<'de, T: TextValue<'de>> de::DeserializeSeed<'de> for ReadAs<T> {
    type Value = T::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<T> ReadAs<T> {
    /// The value `read` reads by [`Strict`], given to [`TextValue::other`].
    fn by_strict<'de, E: de::Error>(self, read: impl FnOnce(Strict<'static>) -> Result<Value, E>) -> Result<T::Value, E>
    where
        T: TextValue<'de>,
    {
        let value = read(self.0.strict())?;
        self.0.other(value).map_err(E::custom)
    }
}

impl<'de, T: TextValue<'de>> Visitor<'de> for ReadAs<T> {
    type Value = T::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<T::Value, E> {
        self.by_strict(|strict| strict.visit_bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T::Value, E> {
        self.by_strict(|strict| strict.visit_i64(n))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T::Value, E> {
        self.by_strict(|strict| strict.visit_u64(n))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<T::Value, E> {
        self.by_strict(|strict| strict.visit_f64(n))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<T::Value, E> {
        self.0.text(s).map_err(E::custom)
    }
    fn visit_unit<E: de::Error>(self) -> Result<T::Value, E> {
        self.by_strict(|strict| strict.visit_unit())
    }
    fn visit_none<E: de::Error>(self) -> Result<T::Value, E> {
        self.by_strict(|strict| strict.visit_none())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<T::Value, A::Error> {
        self.by_strict(|strict| strict.visit_seq(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T::Value, A::Error> {
        self.0.object(map)
    }
}

/// `title`, `description`, `category` or `language`: a string, or null.
struct StringField<'s> {
    field: &'static str,
    spare: &'s mut SpareStrings,
}

impl<'de> TextValue<'de> for StringField<'_> {
    type Value = Option<String>;

    fn field(&self) -> &'static str {
        self.field
    }

    fn text(self, text: &str) -> Result<Option<String>, String> {
        Ok(Some(self.spare.text(text)))
    }
    fn other(self, value: Value) -> Result<Option<String>, String> {
        expect_string(self.field, value)
    }
}

/// The value of an attribute, as text ([`attribute_text`]); `None` for
/// null.
struct AttributeValue<'s> {
    spare: &'s mut SpareStrings,
}

impl<'de> TextValue<'de> for AttributeValue<'_> {
    type Value = Option<String>;

    fn field(&self) -> &'static str {
        "attributes"
    }

    fn text(self, text: &str) -> Result<Option<String>, String> {
        Ok(Some(self.spare.text(text)))
    }
    fn other(self, value: Value) -> Result<Option<String>, String> {
        Ok(attribute_text(value))
    }
}

/// The `attributes` object, read straight into (name, text) pairs.
///
/// Read as a JSON object first, it cost a map entry (a SipHash of the
/// name, an index table) and a `Value` per attribute, taken apart at
/// once. Read here, its entries go through the loop every object of a
/// record goes through ([`read_object`]: a name given twice is an error at
/// its second occurrence, values read by [`Strict`] unless they are
/// strings), then the entry cap is checked, with the same messages; a
/// value that is not an object is read by [`Strict`] and named in the
/// same error.
struct Attributes<'a> {
    limits: &'a Limits,
    spare: &'a mut SpareStrings,
}

/// Up to this many names, a repeated one is found by comparing it with
/// each before it; past it, through a hash set (a hostile record may
/// hold thousands).
const FEW_ATTRIBUTES: usize = 16;

impl<'de> TextValue<'de> for Attributes<'_> {
    type Value = Vec<(String, String)>;

    fn field(&self) -> &'static str {
        "attributes"
    }

    fn text(self, text: &str) -> Result<Self::Value, String> {
        self.other(Value::String(text.to_owned()))
    }
    /// Nothing for null, else the error naming what the value is.
    fn other(self, value: Value) -> Result<Self::Value, String> {
        match value {
            Value::Null => Ok(Vec::new()),
            other => Err(format!("field attributes: expected an object, found {}", kind_of(&other))),
        }
    }
    fn object<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut pairs =
            AttributePairs { texts: self.spare.attributes(), nulls: Vec::new(), many: None, spare: self.spare };
        read_object(map, "attributes", &mut pairs)?;
        let entries = pairs.texts.len() + pairs.nulls.len();
        if entries > self.limits.attributes {
            return Err(A::Error::custom(format!(
                "field attributes: {entries} entries, over the cap of {}",
                self.limits.attributes
            )));
        }
        Ok(pairs.texts)
    }
}

/// Attributes as read: each name with its text, and the names of those
/// whose value is null (entries, for the cap and for names given twice,
/// dropped after).
struct AttributePairs<'s> {
    texts: Vec<(String, String)>,
    nulls: Vec<String>,
    /// Every name, once there are [`FEW_ATTRIBUTES`] of them.
    many: Option<std::collections::HashSet<String>>,
    spare: &'s mut SpareStrings,
}

impl<'de> Entries<'de> for AttributePairs<'_> {
    fn holds(&self, name: &str) -> bool {
        match &self.many {
            Some(names) => names.contains(name),
            None => self.texts.iter().any(|(held, _)| held == name) || self.nulls.iter().any(|held| held == name),
        }
    }
    fn read<A: MapAccess<'de>>(&mut self, name: Cow<'de, str>, map: &mut A) -> Result<(), A::Error> {
        let name = self.spare.text(&name);
        let text = map.next_value_seed(ReadAs(AttributeValue { spare: self.spare }))?;
        if let Some(names) = &mut self.many {
            names.insert(name.clone());
        }
        match text {
            Some(text) => self.texts.push((name, text)),
            None => self.nulls.push(name),
        }
        if self.many.is_none() && self.texts.len() + self.nulls.len() == FEW_ATTRIBUTES {
            let names = self.texts.iter().map(|(name, _)| name).chain(&self.nulls);
            self.many = Some(names.cloned().collect());
        }
        Ok(())
    }
}

/// The contract's fields, for spotting one given twice.
const KNOWN_FIELDS: [&str; 10] =
    ["id", "title", "description", "category", "language", "attributes", "price", "images", "seller", "ship_to"];

/// Reads a typed field from its strict value, naming the field on error.
fn typed<T: serde::de::DeserializeOwned, E: de::Error>(field: &str, v: Value) -> Result<T, E> {
    serde_json::from_value(v).map_err(|e| field_err(field, e))
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

fn attribute_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        // Lists of values ("colors": ["red", "blue"]) read as text.
        Value::Array(items) => Some(items.into_iter().filter_map(attribute_text).collect::<Vec<_>>().join(", ")),
        Value::Object(_) => Some(v.to_string()),
    }
}

/// A record's field name, borrowed from the record's bytes unless it
/// holds an escape. serde's own `Cow<str>` always copies, and a copy per
/// key was one of the largest sources of allocations per listing.
struct FieldKey<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for FieldKey<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FieldKeyVisitor)
    }
}

struct FieldKeyVisitor;

impl<'de> Visitor<'de> for FieldKeyVisitor {
    type Value = FieldKey<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<FieldKey<'de>, E> {
        Ok(FieldKey(Cow::Borrowed(s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<FieldKey<'de>, E> {
        Ok(FieldKey(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<FieldKey<'de>, E> {
        Ok(FieldKey(Cow::Owned(s)))
    }
}

impl<'de> Visitor<'de> for ListingVisitor<'_> {
    type Value = Listing;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a listing object with at least `id` and `title`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Listing, A::Error> {
        let spare = self.spare;
        let mut listing = Listing::default();
        let mut seen = [false; KNOWN_FIELDS.len()];
        while let Some(FieldKey(key)) = map.next_key::<FieldKey<'de>>()? {
            let known = KNOWN_FIELDS.iter().position(|k| *k == key);
            let repeated = match known {
                Some(i) => std::mem::replace(&mut seen[i], true),
                None => listing.extra.contains_key(key.as_ref()),
            };
            if repeated {
                return Err(A::Error::custom(format!(
                    "field {key}: duplicate key (the record gives `{key}` twice, so it is ambiguous)"
                )));
            }
            match key.as_ref() {
                "id" => listing.id = map.next_value_seed(IdValue(spare)).map_err(|e| field_err("id", e))?,
                "attributes" => {
                    listing.attributes = map.next_value_seed(ReadAs(Attributes { limits: self.limits, spare }))?;
                }
                "title" => {
                    listing.title =
                        map.next_value_seed(ReadAs(StringField { field: "title", spare }))?.unwrap_or_default();
                }
                "description" => {
                    listing.description = map.next_value_seed(ReadAs(StringField { field: "description", spare }))?
                }
                "category" => {
                    listing.category = map.next_value_seed(ReadAs(StringField { field: "category", spare }))?
                }
                "language" => {
                    listing.language = map.next_value_seed(ReadAs(StringField { field: "language", spare }))?
                }
                _ => listing.read_other(key, &mut map)?,
            }
        }
        let (has_id, has_title) = (seen[0], seen[1]);
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

impl Listing {
    /// Reads the value of record field `key`, one that is not text.
    fn read_other<'de, A: MapAccess<'de>>(&mut self, key: Cow<'de, str>, map: &mut A) -> Result<(), A::Error> {
        let v = map.next_value_seed(Strict { field: &key })?;
        match key.as_ref() {
            "price" => self.price = typed("price", v)?,
            "images" => self.images = typed::<Option<Vec<ImageRef>>, _>("images", v)?.unwrap_or_default(),
            "seller" => self.seller = typed("seller", v)?,
            "ship_to" => self.ship_to = parse_ship_to(v).map_err(A::Error::custom)?,
            _ => {
                self.extra.insert(key.into_owned(), v);
            }
        }
        Ok(())
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
    // Upper-cased in place: most codes come without surrounding spaces.
    Ok(items
        .into_iter()
        .map(|mut s| {
            if s.trim().len() != s.len() {
                s = s.trim().to_string();
            }
            s.make_ascii_uppercase();
            s
        })
        .collect())
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

    /// `attributes` read as a whole JSON value first, then taken apart:
    /// how records were read before [`Attributes`], kept as its oracle.
    fn attributes_as_a_value(json: &str) -> Result<Vec<(String, String)>, String> {
        let limits = Limits::default();
        let mut de = serde_json::Deserializer::from_str(json);
        let value = de::DeserializeSeed::deserialize(Strict { field: "attributes" }, &mut de)
            .map_err(|e| decode_error(&e).to_string())?;
        match value {
            Value::Object(obj) => {
                if obj.len() > limits.attributes {
                    return Err(format!(
                        "field attributes: {} entries, over the cap of {}",
                        obj.len(),
                        limits.attributes
                    ));
                }
                Ok(obj.into_iter().filter_map(|(k, v)| attribute_text(v).map(|t| (k, t))).collect())
            }
            Value::Null => Ok(Vec::new()),
            other => Err(format!("field attributes: expected an object, found {}", kind_of(&other))),
        }
    }

    /// Attributes read straight into pairs give what reading them as a
    /// JSON value gave, texts and errors alike: on objects with repeated
    /// names before and after the hash set takes over, nested repeats,
    /// every kind of value, more entries than the cap, and non-objects.
    #[test]
    fn attributes_read_as_pairs_as_they_read_as_a_value() {
        let values = [
            "null",
            "true",
            "false",
            "0",
            "-3",
            "2.50",
            "1e3",
            r#""""#,
            r#""x""#,
            r#""caf\u00e9""#,
            r#"[1,"a",null,[2,{"k":false}]]"#,
            "[]",
            r#"{"a":1,"b":[null]}"#,
            r#"{"a":1,"a":2}"#,
            "{}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut ok, mut errors) = (0, 0);
        for round in 0..3_000 {
            let json = if round % 50 == 0 {
                values[round / 50 % values.len()].to_string()
            } else {
                let entries = match next() % 10 {
                    0 => 505 + next() as usize % 15,
                    1..=3 => next() as usize % 40,
                    _ => next() as usize % 6,
                };
                // Around the cap, every name distinct; else some repeated.
                let names = if entries >= 500 { usize::MAX } else { 1 + next() as usize % 60 };
                let pairs: Vec<String> = (0..entries)
                    .map(|i| {
                        let name = if names == usize::MAX { i } else { next() as usize % names };
                        let value = values[next() as usize % values.len()];
                        // Around the cap, no value that is an error itself.
                        let value = if names == usize::MAX && value.contains(r#""a":2"#) { "1" } else { value };
                        format!(r#""n{name}":{value}"#)
                    })
                    .collect();
                format!("{{{}}}", pairs.join(","))
            };
            let record = format!(r#"{{"id":"1","title":"t","attributes":{json}}}"#);
            let read = Listing::from_json(record.as_bytes()).map(|l| l.attributes).map_err(|e| e.to_string());
            let expected = attributes_as_a_value(&json);
            assert_eq!(read, expected, "{json}");
            if read.is_ok() {
                ok += 1;
            } else {
                errors += 1;
            }
        }
        assert!(ok > 1_000 && errors > 500, "{ok} read, {errors} rejected");
    }

    /// Records read into the strings of listings given back before
    /// ([`Listing::recycle`]) read as they do on a thread that has none:
    /// the same listing, or the same error, whatever came before (longer
    /// or shorter strings, more or fewer attributes, a record rejected
    /// halfway through).
    #[test]
    fn recycled_strings_read_as_fresh_ones() {
        const TEXTS: [&str; 12] = [
            r#""""#,
            r#""x""#,
            r#""Poupée 100 cm""#,
            r#""caf\u00e9 \"quoted\"""#,
            r#""a much longer description, long enough to need its string grown, a much longer description""#,
            "null",
            "7",
            "2.5",
            "true",
            r#"["a",1,null]"#,
            r#"{"k":"v"}"#,
            r#"{"k":1,"k":2}"#,
        ];
        struct Draw(u64);
        impl Draw {
            fn below(&mut self, n: usize) -> usize {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 as usize % n
            }
            /// Mostly a string (the first five texts), now and then anything.
            fn text(&mut self) -> &'static str {
                let n = if self.below(8) == 0 { TEXTS.len() } else { 5 };
                TEXTS[self.below(n)]
            }
        }
        let mut draw = Draw(0x2545_f491_4f6c_dd1d);
        let mut records = Vec::new();
        for _ in 0..2_000 {
            let mut fields = vec![match draw.below(4) {
                0 => r#""id":12"#.to_string(),
                1 => r#""id":"L-\u0031""#.to_string(),
                _ => format!(r#""id":"L-{}""#, draw.below(100_000)),
            }];
            fields.push(format!(r#""title":{}"#, if draw.below(8) == 0 { draw.text() } else { r#""Mug""# }));
            for name in ["description", "category", "language"] {
                if draw.below(4) != 0 {
                    fields.push(format!(r#""{name}":{}"#, draw.text()));
                }
            }
            // Names distinct but now and then.
            let attributes: Vec<String> = (0..draw.below(20))
                .map(|i| format!(r#""a{}":{}"#, if draw.below(40) == 0 { 0 } else { i }, draw.text()))
                .collect();
            if !attributes.is_empty() {
                fields.push(format!(r#""attributes":{{{}}}"#, attributes.join(",")));
            }
            if draw.below(10) == 0 {
                fields.push(r#""ship_to":["fr"],"extra":{"kept":true}"#.to_string());
            }
            // Fields in any order, the title usually after the id.
            if draw.below(5) == 0 {
                fields.reverse();
            }
            records.push(format!("{{{}}}", fields.join(",")));
        }
        let read = |record: &String| Listing::from_json(record.as_bytes());
        let fresh: Vec<_> = std::thread::scope(|scope| {
            records.iter().map(|record| scope.spawn(|| read(record)).join().expect("reads")).collect()
        });
        let (mut valid, mut recycled) = (0, 0);
        for (record, expected) in records.iter().zip(fresh) {
            let got = read(record);
            assert_eq!(got, expected, "{record}");
            if let Ok(listing) = got {
                valid += 1;
                recycled += 2 + listing.attributes.len();
                listing.recycle();
            }
        }
        assert!(valid > 300 && valid < 1_900, "{valid} of 2,000 records valid");
        assert!(recycled > 3_000, "{recycled} strings given back");
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

    /// A record that is not UTF-8 is read as bytes, so its error names
    /// the first bad place (in a string or out of one) as a byte reader
    /// does.
    #[test]
    fn records_that_are_not_utf8_say_where() {
        for (json, error) in [
            (&b"{\"id\":\"b\",\"title\":\"T\xffasse\"}"[..], "invalid JSON: invalid unicode code point (column 21)"),
            (
                b"{\"id\":\"c\",\"title\":\"Mug\",\"description\":\"ok \xc3\xa9 \xc3\"}",
                "invalid JSON: invalid unicode code point (column 46)",
            ),
            (b"{\"id\":\"e\",\"title\":\"Mug\", \xff \"x\":1}", "invalid JSON: key must be a string (column 26)"),
            (b"{\"id\":\"f\",\"title\":\"\xed\xa0\x80\"}", "invalid JSON: invalid unicode code point (column 20)"),
        ] {
            assert_eq!(Listing::from_json(json).unwrap_err().to_string(), error);
        }
    }

    #[test]
    fn records_are_unambiguous_or_rejected() {
        for (json, field) in [
            (r#"{"id":"a","title":"Mug","title":"Doll"}"#, "title"),
            (r#"{"id":"a","id":"b","title":"Mug"}"#, "id"),
            (r#"{"id":"a","title":"Mug","x":1,"x":2}"#, "x"),
            (r#"{"id":"a","title":"Mug","attributes":{"height":"170 cm","height":"100 cm"}}"#, "attributes"),
            (r#"{"id":"a","title":"Mug","images":[{"pdq":"00","pdq":"ff"}]}"#, "images"),
            (r#"{"id":"a","title":"Mug","images":[{"url":"u","pdq_quality":1,"pdq_quality":99}]}"#, "images"),
            (r#"{"id":"a","title":"Mug","seller":{"id":"s","id":"t"}}"#, "seller"),
            (r#"{"id":"a","title":"Mug","x":{"deep":[{"k":1,"k":2}]}}"#, "x"),
            (r#"{"id":1e2,"title":"Mug"}"#, "id"),
            (r#"{"id":1.0,"title":"Mug"}"#, "id"),
            (r#"{"id":123456789012345678901234567890,"title":"Mug"}"#, "id"),
            (r#"{"id":"   ","title":"Mug"}"#, "id"),
            (r#"{"id":"\u00a0\u200b","title":"Mug"}"#, "id"),
            (r#"{"id":"a","title":"Mug","ship_to":["ZZ"]}"#, "ship_to[0]"),
            (r#"{"id":"a","title":"Mug","ship_to":"FR,UK"}"#, "ship_to[1]"),
            // A name spelled with an escape is the same name.
            (r#"{"id":"a","title":"Mug","ti\u0074le":"Doll"}"#, "title"),
            (r#"{"id":"a","title":"Mug","\u0078":1,"x":2}"#, "x"),
        ] {
            let e = Listing::from_json(json.as_bytes()).expect_err(json);
            assert_eq!(e.field_name(), Some(field), "{json}: {e}");
        }
        let e = Listing::from_json(br#"{"id":"a","title":"Mug","price":{"amount":1e999}}"#).expect_err("infinite");
        assert!(e.to_string().contains("out of range"), "{e}");
        for (json, id) in [
            (r#"{"id":18446744073709551615,"title":"Mug"}"#, "18446744073709551615"),
            (r#"{"id":-42,"title":"Mug"}"#, "-42"),
            (r#"{"id":" L-1 ","title":"Mug"}"#, " L-1 "),
        ] {
            assert_eq!(Listing::from_json(json.as_bytes()).expect(json).id, id);
        }
        let escaped = br#"{"\u0069d":"a","ti\u0074le":"Mug","attributes":{"b\u0072and":"Acme"},"n\u006fte":1}"#;
        let listing = Listing::from_json(escaped).expect("escaped names");
        assert_eq!((listing.id.as_str(), listing.title.as_str()), ("a", "Mug"));
        assert_eq!(listing.attributes, [("brand".to_string(), "Acme".to_string())]);
        assert!(listing.extra.contains_key("note"));
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
