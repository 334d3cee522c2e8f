//! One module per resource. Every handler is registered through
//! `utoipa_axum::routes!`, so the OpenAPI document is generated from the
//! routes that exist.

pub mod audit;
pub mod decisions;
pub mod keys;
pub mod listings;
pub mod packs;
pub mod reviews;
pub mod system;

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        ApiError::bad_request(field, e.into_inner().to_string())
    })
}
