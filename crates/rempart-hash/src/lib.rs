//! Perceptual image hashing for rempart: PDQ ([`pdq`]) from image bytes
//! ([`decode`]), hash banks ([`bank`]) and the index that answers "which
//! bank hashes lie within distance d of this one" at scale ([`index`]).
//!
//! This crate knows nothing about policies: a bank match is turned into a
//! named signal by the caller.

pub mod bank;
pub mod decode;
pub mod format;
pub mod hash256;
pub mod index;
pub mod pdq;
pub mod synthetic;

pub use decode::{DecodeOptions, Decoded, ImageError, PixelBudget};
pub use hash256::{Hash256, ParseHashError};
pub use pdq::{Dihedral, Luma, PdqHash};

/// Decodes image bytes and computes their PDQ hash.
pub fn hash_image(bytes: &[u8], options: &DecodeOptions) -> Result<(PdqHash, Decoded), ImageError> {
    let decoded = decode::decode(bytes, options)?;
    Ok((pdq::hash(&decoded.luma), decoded))
}

/// Decodes image bytes and computes the eight dihedral PDQ hashes.
pub fn dihedral_image(bytes: &[u8], options: &DecodeOptions) -> Result<(Dihedral, Decoded), ImageError> {
    let decoded = decode::decode(bytes, options)?;
    Ok((pdq::dihedral(&decoded.luma), decoded))
}
