//! RFC 8785 canonical JSON against the RFC author's published vectors.
//!
//! `tests/data/jcs/` holds cyberphone/json-canonicalization's `testdata/input`
//! and `testdata/output` (see `tests/data/SOURCE.md`). The number test
//! regenerates that repository's ES6 number test file as its
//! `testdata/README.md` specifies (168 fixed doubles, 2,000 consecutive
//! subnormal-boundary values, then doubles from a SHA-256 chain), formats
//! each line as `<hex bits>,<canonical number>`, and compares the SHA-256
//! of the first 1,000 / 10,000 / 100,000 / 1,000,000 lines with the
//! checksums published there. The fixed values below are data from that
//! README (Apache-2.0, Anders Rundgren), commit
//! 19d51d7fe467d4706a3ff08adf8a748f29fc21e0.

use std::path::Path;

use rempart_audit::{
    canonical_digest, canonical_json, canonical_object, sha256, sha256_digest, CanonicalError, Member,
};
use sha2::{Digest as _, Sha256};

const STATIC_DOUBLES: [u64; 168] = [
    0x0000000000000000,
    0x8000000000000000,
    0x0000000000000001,
    0x8000000000000001,
    0xc46696695dbd1cc3,
    0xc43211ede4974a35,
    0xc3fce97ca0f21056,
    0xc3c7213080c1a6ac,
    0xc39280f39a348556,
    0xc35d9b1f5d20d557,
    0xc327af4c4a80aaac,
    0xc2f2f2a36ecd5556,
    0xc2be51057e155558,
    0xc28840d131aaaaac,
    0xc253670dc1555557,
    0xc21f0b4935555557,
    0xc1e8d5d42aaaaaac,
    0xc1b3de4355555556,
    0xc17fca0555555556,
    0xc1496e6aaaaaaaab,
    0xc114585555555555,
    0xc0e046aaaaaaaaab,
    0xc0aa0aaaaaaaaaaa,
    0xc074d55555555555,
    0xc040aaaaaaaaaaab,
    0xc00aaaaaaaaaaaab,
    0xbfd5555555555555,
    0xbfa1111111111111,
    0xbf6b4e81b4e81b4f,
    0xbf35d867c3ece2a5,
    0xbf0179ec9cbd821e,
    0xbecbf647612f3696,
    0xbe965e9f80f29212,
    0xbe61e54c672874db,
    0xbe2ca213d840baf8,
    0xbdf6e80fe033c8c6,
    0xbdc2533fe68fd3d2,
    0xbd8d51ffd74c861c,
    0xbd5774ccac3d3817,
    0xbd22c3d6f030f9ac,
    0xbcee0624b3818f79,
    0xbcb804ea293472c7,
    0xbc833721ba905bd3,
    0xbc4ebe9c5db3c61e,
    0xbc18987d17c304e5,
    0xbbe3ad30dfcf371d,
    0xbbaf7b816618582f,
    0xbb792f9ab81379bf,
    0xbb442615600f9499,
    0xbb101e77800c76e1,
    0xbad9ca58cce0be35,
    0xbaa4a1e0a3e6fe90,
    0xba708180831f320d,
    0xba3a68cd9e985016,
    0x446696695dbd1cc3,
    0x443211ede4974a35,
    0x43fce97ca0f21056,
    0x43c7213080c1a6ac,
    0x439280f39a348556,
    0x435d9b1f5d20d557,
    0x4327af4c4a80aaac,
    0x42f2f2a36ecd5556,
    0x42be51057e155558,
    0x428840d131aaaaac,
    0x4253670dc1555557,
    0x421f0b4935555557,
    0x41e8d5d42aaaaaac,
    0x41b3de4355555556,
    0x417fca0555555556,
    0x41496e6aaaaaaaab,
    0x4114585555555555,
    0x40e046aaaaaaaaab,
    0x40aa0aaaaaaaaaaa,
    0x4074d55555555555,
    0x4040aaaaaaaaaaab,
    0x400aaaaaaaaaaaab,
    0x3fd5555555555555,
    0x3fa1111111111111,
    0x3f6b4e81b4e81b4f,
    0x3f35d867c3ece2a5,
    0x3f0179ec9cbd821e,
    0x3ecbf647612f3696,
    0x3e965e9f80f29212,
    0x3e61e54c672874db,
    0x3e2ca213d840baf8,
    0x3df6e80fe033c8c6,
    0x3dc2533fe68fd3d2,
    0x3d8d51ffd74c861c,
    0x3d5774ccac3d3817,
    0x3d22c3d6f030f9ac,
    0x3cee0624b3818f79,
    0x3cb804ea293472c7,
    0x3c833721ba905bd3,
    0x3c4ebe9c5db3c61e,
    0x3c18987d17c304e5,
    0x3be3ad30dfcf371d,
    0x3baf7b816618582f,
    0x3b792f9ab81379bf,
    0x3b442615600f9499,
    0x3b101e77800c76e1,
    0x3ad9ca58cce0be35,
    0x3aa4a1e0a3e6fe90,
    0x3a708180831f320d,
    0x3a3a68cd9e985016,
    0x4024000000000000,
    0x4014000000000000,
    0x3fe0000000000000,
    0x3fa999999999999a,
    0x3f747ae147ae147b,
    0x3f40624dd2f1a9fc,
    0x3f0a36e2eb1c432d,
    0x3ed4f8b588e368f1,
    0x3ea0c6f7a0b5ed8d,
    0x3e6ad7f29abcaf48,
    0x3e35798ee2308c3a,
    0x3ed539223589fa95,
    0x3ed4ff26cd5a7781,
    0x3ed4f95a762283ff,
    0x3ed4f8c60703520c,
    0x3ed4f8b72f19cd0d,
    0x3ed4f8b5b31c0c8d,
    0x3ed4f8b58d1c461a,
    0x3ed4f8b5894f7f0e,
    0x3ed4f8b588ee37f3,
    0x3ed4f8b588e47da4,
    0x3ed4f8b588e3849c,
    0x3ed4f8b588e36bb5,
    0x3ed4f8b588e36937,
    0x3ed4f8b588e368f8,
    0x3ed4f8b588e368f1,
    0x3ff0000000000000,
    0xbff0000000000000,
    0xbfeffffffffffffa,
    0xbfeffffffffffffb,
    0x3feffffffffffffa,
    0x3feffffffffffffb,
    0x3feffffffffffffc,
    0x3feffffffffffffe,
    0xbfefffffffffffff,
    0xbfefffffffffffff,
    0x3fefffffffffffff,
    0x3fefffffffffffff,
    0x3fd3333333333332,
    0x3fd3333333333333,
    0x3fd3333333333334,
    0x0010000000000000,
    0x000ffffffffffffd,
    0x000fffffffffffff,
    0x7fefffffffffffff,
    0xffefffffffffffff,
    0x4340000000000000,
    0xc340000000000000,
    0x4430000000000000,
    0x44b52d02c7e14af5,
    0x44b52d02c7e14af6,
    0x44b52d02c7e14af7,
    0x444b1ae4d6e2ef4e,
    0x444b1ae4d6e2ef4f,
    0x444b1ae4d6e2ef50,
    0x3eb0c6f7a0b5ed8c,
    0x3eb0c6f7a0b5ed8d,
    0x41b3de4355555553,
    0x41b3de4355555554,
    0x41b3de4355555555,
    0x41b3de4355555556,
    0x41b3de4355555557,
    0xbecbf647612f3696,
    0x43143ff3c1cb0959,
];

/// (lines, SHA-256 of the first `lines` lines), from the README's table.
const CHECKSUMS: [(usize, &str); 4] = [
    (1_000, "be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687"),
    (10_000, "b9f7a8e75ef22a835685a52ccba7f7d6bdc99e34b010992cbc5864cd12be6892"),
    (100_000, "22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7"),
    (1_000_000, "49415fee2c56c77864931bd3624faad425c3c577d6d74e89a83bc725506dad16"),
];

/// The README's generator: fixed values, then 2,000 serial values, then
/// finite non-zero doubles read little-endian from a SHA-256 chain.
struct Es6Numbers {
    index: usize,
    block: [u8; 32],
    offset: usize,
}

impl Iterator for Es6Numbers {
    type Item = f64;
    fn next(&mut self) -> Option<f64> {
        let i = self.index;
        self.index += 1;
        if i < STATIC_DOUBLES.len() {
            return Some(f64::from_bits(STATIC_DOUBLES[i]));
        }
        if i < STATIC_DOUBLES.len() + 2000 {
            return Some(f64::from_bits(0x0010_0000_0000_0000 + (i - STATIC_DOUBLES.len()) as u64));
        }
        loop {
            if self.offset == 32 {
                self.block = Sha256::digest(self.block).into();
                self.offset = 0;
            }
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&self.block[self.offset..self.offset + 8]);
            self.offset += 8;
            let f = f64::from_le_bytes(bytes);
            if f != 0.0 && f.is_finite() {
                return Some(f);
            }
        }
    }
}

#[test]
fn es6_number_serialisation_matches_the_published_checksums() {
    let numbers = Es6Numbers { index: 0, block: [0; 32], offset: 32 };
    let mut hasher = Sha256::new();
    let mut checkpoints = CHECKSUMS.iter();
    let mut next = checkpoints.next();
    let mut line = String::with_capacity(64);
    for (n, f) in numbers.enumerate().take(CHECKSUMS[CHECKSUMS.len() - 1].0) {
        let value = serde_json::Value::from(f);
        let canonical = canonical_json(&value).unwrap();
        line.clear();
        line.push_str(&format!("{:x},", f.to_bits()));
        line.push_str(std::str::from_utf8(&canonical).unwrap());
        line.push('\n');
        hasher.update(line.as_bytes());
        if let Some(&(lines, expected)) = next {
            if n + 1 == lines {
                assert_eq!(hex::encode(hasher.clone().finalize()), expected, "first {lines} lines");
                next = checkpoints.next();
            }
        }
    }
    assert!(next.is_none(), "not every checksum was reached");
}

#[test]
fn readme_sample_lines() {
    for (bits, expected) in [
        (0x4340000000000001u64, "9007199254740994"),
        (0x4340000000000002, "9007199254740996"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x8000000000000000, "0"),
        (0, "0"),
    ] {
        assert_eq!(canonical_json(&serde_json::Value::from(f64::from_bits(bits))).unwrap(), expected.as_bytes());
    }
}

#[test]
fn cyberphone_input_output_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jcs");
    let mut names: Vec<String> = std::fs::read_dir(dir.join("input"))
        .unwrap_or_else(|e| panic!("test data {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["arrays.json", "french.json", "structures.json", "unicode.json", "values.json", "weird.json"]);
    for name in names {
        let input = std::fs::read(dir.join("input").join(&name)).unwrap();
        let expected = std::fs::read(dir.join("output").join(&name)).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&input).unwrap();
        let got = canonical_json(&value).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected), "{name}");
        assert_eq!(canonical_digest(&value).unwrap(), sha256_digest(&expected));
        assert_eq!(sha256_digest(&expected), format!("sha256:{}", sha256(&expected)));
    }
}

#[test]
fn canonical_form_is_a_fixed_point_and_ignores_insertion_order() {
    let a: serde_json::Value = serde_json::from_str(r#"{"b":[1,2.0,{"z":null,"a":true}],"a":"\u00e9"}"#).unwrap();
    let b: serde_json::Value = serde_json::from_str(r#"{"a":"é","b":[1,2,{"a":true,"z":null}]}"#).unwrap();
    let ca = canonical_json(&a).unwrap();
    assert_eq!(ca, canonical_json(&b).unwrap());
    let again: serde_json::Value = serde_json::from_slice(&ca).unwrap();
    assert_eq!(canonical_json(&again).unwrap(), ca);
}

#[test]
fn integers_that_jcs_would_round_are_refused() {
    let value: serde_json::Value =
        serde_json::from_str(r#"{"ok": 9007199254740991, "big": [9007199254740993]}"#).unwrap();
    match canonical_json(&value) {
        Err(CanonicalError::UnsafeInteger { path, value }) => {
            assert_eq!(path, "$.big[0]");
            assert_eq!(value, "9007199254740993");
        }
        other => panic!("{other:?}"),
    }
}

/// An object spliced from members, some given already canonical, is the
/// published canonical output of the whole (every object vector, including
/// `weird.json`, whose member names need UTF-16 ordering), whichever
/// members are pre-canonicalised.
#[test]
fn spliced_objects_are_the_published_canonical_form() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jcs");
    let mut objects = 0;
    for name in ["arrays.json", "french.json", "structures.json", "unicode.json", "values.json", "weird.json"] {
        let input = std::fs::read(dir.join("input").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = std::fs::read(dir.join("output").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let serde_json::Value::Object(map) = serde_json::from_slice(&input).unwrap() else { continue };
        objects += 1;
        let pre: Vec<Vec<u8>> = map.values().map(|v| canonical_json(v).unwrap()).collect();
        // Every split of the members into given-canonical and given-as-values.
        for mask in 0u32..(1 << map.len().min(10)) {
            let members: Vec<(&str, Member<'_>)> = map
                .iter()
                .zip(&pre)
                .enumerate()
                .map(|(i, ((k, v), c))| {
                    (k.as_str(), if mask >> i & 1 == 1 { Member::Canonical(c) } else { Member::Value(v) })
                })
                .collect();
            assert_eq!(
                String::from_utf8_lossy(&canonical_object(&members).unwrap()),
                String::from_utf8_lossy(&expected),
                "{name}"
            );
        }
    }
    assert!(objects >= 4, "the vectors have objects");
    let twice =
        canonical_object(&[("a", Member::Value(&serde_json::json!(1))), ("a", Member::Value(&serde_json::json!(2)))]);
    assert!(twice.is_err(), "a member given twice is refused");
}

/// Any JSON value whose integers are safe: nested arrays and objects,
/// member names and strings from all of Unicode (controls, astral
/// characters and the U+E000–U+FFFF range, where UTF-16 and UTF-8 orders
/// differ), finite doubles.
fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let text = prop_oneof![
        "\\PC{0,12}",
        proptest::collection::vec(
            prop_oneof![
                Just('\u{0}'),
                Just('\u{1f}'),
                Just('"'),
                Just('\\'),
                Just('\u{e000}'),
                Just('\u{1f600}'),
                any::<char>()
            ],
            0..6
        )
        .prop_map(|c| c.into_iter().collect::<String>()),
    ];
    let safe = rempart_audit::MAX_SAFE_INTEGER as i64;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (-safe..=safe).prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        text.clone().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            proptest::collection::vec((text.clone(), inner), 0..8)
                .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// The structure is walked by rempart and the scalars written by the
    /// crate: the whole equals the crate's own canonical form of the value.
    #[test]
    fn canonical_json_equals_the_crates_whole_serialisation(value in json_value()) {
        let ours = canonical_json(&value).expect("safe integers and finite doubles canonicalise");
        let crates = serde_json_canonicalizer::to_vec(&value).expect("the crate canonicalises it");
        proptest::prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&crates));
    }
}
