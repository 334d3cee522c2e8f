//! One module per resource. Every handler is registered through
//! `utoipa_axum::routes!`, so the OpenAPI document is generated from the
//! routes that exist.

pub mod appeals;
pub mod audit;
pub mod decisions;
pub mod keys;
pub mod listings;
pub mod notices;
pub mod packs;
pub mod reviews;
pub mod sellers;
pub mod system;

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // An unknown or missing field is reported at its parent: name the
        // field itself.
        let unknown = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|m| m.split_once('`'))
            .map(|(f, _)| f.to_string());
        let field = match (path.as_str(), unknown) {
            (".", Some(f)) => Some(f),
            // serde_path_to_error names an unknown key itself; a missing
            // one only by its parent.
            (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => Some(p.to_string()),
            (p, Some(f)) => Some(format!("{p}.{f}")),
            (".", None) => None,
            (p, None) => Some(p.to_string()),
        };
        ApiError::bad_request(field, message)
    })
}
