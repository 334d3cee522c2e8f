//! Perceptual image hashing for rempart: PDQ ([`pdq`]), hash banks
//! ([`bank`]) and the index that answers "which bank hashes lie within
//! distance d of this one" at scale ([`index`]).
//!
//! This crate knows nothing about policies: a bank match is turned into a
//! named signal by the caller.

pub mod hash256;
pub mod index;

pub use hash256::{Hash256, ParseHashError};
