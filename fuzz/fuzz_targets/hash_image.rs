//! Hostile image bytes → PDQ: decoding and hashing must return a hash or a
//! per-image error, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rempart_hash::decode::DecodeOptions;

fuzz_target!(|bytes: &[u8]| {
    // A small pixel cap keeps each run fast; the caps are what is tested.
    let options = DecodeOptions { max_pixels: 4_000_000, ..DecodeOptions::default() };
    if let Ok((hash, decoded)) = rempart_hash::hash_image(bytes, &options) {
        assert!(hash.quality <= 100);
        assert!(decoded.luma.rows <= 512 && decoded.luma.cols <= 512);
    }
});
