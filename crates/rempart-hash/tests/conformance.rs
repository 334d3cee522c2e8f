//! Conformance with Meta's C++ PDQ reference on the suite in
//! `../shared/data/pdq` (expected outputs regenerated with the reference
//! hasher; see that folder's SOURCE.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rempart_hash::{decode::DecodeOptions, dihedral_image, hash_image, Hash256};

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pdq")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(suite().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn image(path: &str) -> Vec<u8> {
    std::fs::read(suite().join("images").join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `<hex>,<quality>,<file>` rows.
fn expected_hashes() -> Vec<(Hash256, u8, String)> {
    read("expected/regenerated_cpp_reference/hash_quality.csv")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.splitn(3, ',');
            let hash = parts.next().and_then(|h| h.parse().ok()).expect("hash");
            let quality = parts.next().and_then(|q| q.parse().ok()).expect("quality");
            (hash, quality, parts.next().expect("file").to_string())
        })
        .collect()
}

#[test]
fn hashes_agree_with_the_reference() {
    let expected = expected_hashes();
    assert!(expected.len() >= 35, "suite has {} rows", expected.len());
    let mut histogram: BTreeMap<u32, usize> = BTreeMap::new();
    let mut worst_quality_gap = 0i32;
    for (hash, quality, file) in &expected {
        let (ours, _) = hash_image(&image(file), &DecodeOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let distance = ours.hash.distance(hash);
        let gap = (i32::from(ours.quality) - i32::from(*quality)).abs();
        worst_quality_gap = worst_quality_gap.max(gap);
        println!("{distance:>3} bits  quality {:>3} vs {quality:>3}  {file}", ours.quality);
        *histogram.entry(distance).or_default() += 1;
    }
    println!("distance histogram (bits: images): {histogram:?}");
    let exact = histogram.get(&0).copied().unwrap_or(0);
    let within2: usize = histogram.range(..=2).map(|(_, n)| n).sum();
    assert!(exact * 2 > expected.len(), "exact on most: {exact}/{}", expected.len());
    assert!(within2 * 100 >= expected.len() * 95, "≤2 bits on ≥95%: {within2}/{}", expected.len());
    assert!(worst_quality_gap <= 3, "quality within a few points, worst gap {worst_quality_gap}");
}

#[test]
fn dihedral_hashes_agree_with_the_reference() {
    let rows = read("expected/regenerated_cpp_reference/pdqdih_across.csv");
    let (mut total, mut within2) = (0usize, 0usize);
    let mut worst = 0u32;
    for line in rows.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 10, "{line}");
        let file = fields[9];
        let (ours, _) =
            dihedral_image(&image(file), &DecodeOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (k, expected) in fields[..8].iter().enumerate() {
            let expected: Hash256 = expected.parse().expect("hash");
            let distance = ours.hashes[k].distance(&expected);
            worst = worst.max(distance);
            total += 1;
            within2 += usize::from(distance <= 2);
        }
    }
    println!("dihedral: {within2}/{total} within 2 bits, worst {worst}");
    assert!(total >= 8 * 35);
    assert!(within2 * 100 >= total * 95, "{within2}/{total}");
}

/// A rotated or mirrored copy of an image matches one of the original's
/// dihedral hashes far more closely than the original hash itself.
#[test]
fn dihedral_hashes_catch_rotated_copies() {
    let (original, _) = dihedral_image(&image("reg-test-input/dih/bridge-1-original.jpg"), &DecodeOptions::default())
        .expect("original");
    for copy in ["bridge-2-rotate-90", "bridge-3-rotate-180", "bridge-5-flipx", "bridge-8-flip-minus-1"] {
        let path = format!("reg-test-input/dih/{copy}.jpg");
        let (hashed, _) = hash_image(&image(&path), &DecodeOptions::default()).expect("copy");
        let nearest = original.hashes.iter().map(|h| h.distance(&hashed.hash)).min().unwrap_or(256);
        assert!(nearest <= 20, "{copy}: nearest dihedral at {nearest} bits");
        assert!(original.hashes[0].distance(&hashed.hash) > 60, "{copy} is far from the unrotated hash");
    }
}

#[test]
fn images_the_reference_rejects_are_flagged_and_refused_in_strict_mode() {
    let rejected = read("expected/regenerated_cpp_reference/rejected_by_reference_cli.csv");
    let strict = DecodeOptions { reference_strict: true, ..DecodeOptions::default() };
    let mut count = 0;
    for line in rejected.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let file = line.split(',').next().expect("file");
        let bytes = image(file);
        let (_, decoded) = hash_image(&bytes, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(decoded.deviation.is_some(), "{file} should be noted as a deviation from the reference");
        let err = hash_image(&bytes, &strict).expect_err(file);
        assert_eq!(err.code(), "reference_rejects", "{file}");
        count += 1;
    }
    assert_eq!(count, 6);
}

/// Where the reference refuses (alpha), Pillow-based hashers drop alpha;
/// python-threatexchange publishes the hash of its grey+alpha test image.
#[test]
fn alpha_images_hash_like_pillow_based_hashers() {
    let (ours, _) =
        hash_image(&image("python-threatexchange-resources/LA.png"), &DecodeOptions::default()).expect("LA");
    let published: Hash256 = "accb6d39648035f8125c8ce6ba65007de7b54c67a2d93ef7b8f33b0611306715".parse().expect("hex");
    let distance = ours.hash.distance(&published);
    println!("LA.png: {distance} bits from python-threatexchange's published hash");
    assert!(distance <= 16, "{distance}");
}

#[test]
fn broken_and_hostile_inputs_give_clear_errors() {
    let jpeg = image("bridge-mods/aaa-orig.jpg");
    for cut in [jpeg.len() / 3, jpeg.len() - 2, 200] {
        let err = hash_image(&jpeg[..cut], &DecodeOptions::default()).expect_err("truncated");
        assert_eq!(err.code(), "truncated", "cut at {cut}: {err}");
    }
    // Every image of the suite is whole, EXIF thumbnails included.
    for file in ["reg-test-input/exif-rotn/exif-rotn-6.jpg", "misc-images/wee.jpg"] {
        assert!(hash_image(&image(file), &DecodeOptions::default()).is_ok(), "{file}");
    }
    let png = image("misc-images/modes/L.png");
    assert_eq!(hash_image(&png[..png.len() / 2], &DecodeOptions::default()).expect_err("png").code(), "corrupt");
    assert_eq!(hash_image(b"", &DecodeOptions::default()).expect_err("empty").code(), "empty");
    assert_eq!(hash_image(b"<html>hi</html>", &DecodeOptions::default()).expect_err("html").code(), "unknown_format");
    let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
    garbage.extend_from_slice(&[0x55; 100]);
    assert_eq!(hash_image(&garbage, &DecodeOptions::default()).expect_err("garbage").code(), "corrupt");
    let tiny_cap = DecodeOptions { max_pixels: 10_000, ..DecodeOptions::default() };
    let err = hash_image(&jpeg, &tiny_cap).expect_err("cap");
    assert_eq!(err.code(), "too_many_pixels");
    assert!(err.to_string().contains("exceeds the cap"), "{err}");
}

/// A PNG whose header declares 100,000 × 100,000 pixels is refused from its
/// header, before any allocation.
#[test]
fn decompression_bombs_are_refused_from_the_header() {
    let bomb = png_header_claiming(100_000, 100_000);
    let err = hash_image(&bomb, &DecodeOptions::default()).expect_err("bomb");
    assert_eq!(err.code(), "too_many_pixels", "{err}");
}

fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&ihdr);
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
