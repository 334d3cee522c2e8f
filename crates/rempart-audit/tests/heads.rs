//! Signed notes, signed tree heads and offline entry verification.
//!
//! The fixed key, texts and signatures in `go_*` tests are data from
//! golang.org/x/mod `sumdb/note/note_test.go` (BSD-3-Clause, Copyright The
//! Go Authors), commit fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db; the
//! `c2sp_*` vector is the example of <https://c2sp.org/signed-note>
//! (C2SP/C2SP `signed-note.md`, commit 5ba5ee830903e91240fc6f9f3a7a9293d49e69c9).

use rempart_audit::*;

const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn ring(vkeys: &[&str]) -> KeyRing {
    vkeys.iter().map(|k| NoteVerifier::from_vkey(k).unwrap()).collect()
}

fn key(vkey: &str) -> KeyId {
    NoteVerifier::from_vkey(vkey).unwrap().key_id()
}

#[test]
fn go_fixed_key_signs_exactly_as_go_does() {
    let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
    assert_eq!(*signer.to_skey(), PETER_SKEY);
    assert_eq!(sign_note(TEXT, &[&signer]).unwrap(), format!("{TEXT}\n{PETER_SIG}"));
    assert_eq!(signer.key_id().to_string(), "PeterNeumann+c74f20a3");
    // The secret never shows in debug output.
    assert!(!format!("{signer:?}").contains("AYEK"));
}

#[test]
fn go_mangled_keys_are_refused() {
    for (good, parse) in [
        (PETER_VKEY, &(|k: &str| NoteVerifier::from_vkey(k).is_ok()) as &dyn Fn(&str) -> bool),
        (PETER_SKEY, &|k: &str| NoteSigner::from_skey(k).is_ok()),
    ] {
        assert!(parse(good));
        let b = good.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let part = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(!parse(part), "substring {part:?} accepted");
            }
        }
        for i in 0..b.len() {
            let mut changed = b.to_vec();
            changed[i] += 1;
            assert!(!parse(std::str::from_utf8(&changed).unwrap()), "byte {i} + 1 accepted");
        }
    }
    // Wrong key length and unknown algorithm, each with an adjusted key id.
    assert!(
        NoteVerifier::from_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").is_err()
    );
    assert_eq!(
        NoteVerifier::from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::UnsupportedAlgorithm(0x65))
    );
}

#[test]
fn go_open_semantics() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    let one = open_note(&msg, &ring(&[PETER_VKEY])).unwrap();
    assert_eq!(one.text, TEXT);
    assert_eq!(one.verified, vec![key(PETER_VKEY)]);
    assert_eq!(one.unverified.len(), 1);
    assert_eq!(one.unverified[0].key, key(ENOCH_VKEY));

    let both = open_note(&msg, &ring(&[PETER_VKEY, ENOCH_VKEY])).unwrap();
    assert_eq!(both.verified, vec![key(PETER_VKEY), key(ENOCH_VKEY)]);
    assert!(both.unverified.is_empty());

    assert_eq!(
        open_note(&msg, &KeyRing::new()),
        Err(NoteError::NoTrustedSignature(vec![key(PETER_VKEY), key(ENOCH_VKEY)]))
    );
    assert_eq!(
        open_note(&format!("{TEXT}\n{ENOCH_SIG}"), &ring(&[ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY])),
        Err(NoteError::AmbiguousKey(key(ENOCH_VKEY)))
    );
    // A duplicated trusted key that did not sign is harmless.
    assert!(open_note(&format!("{TEXT}\n{PETER_SIG}"), &ring(&[ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY])).is_ok());

    let too_many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert_eq!(open_note(&too_many, &ring(&[PETER_VKEY])), Err(NoteError::TooManySignatures(101)));

    let corrupt = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(open_note(&corrupt, &ring(&[PETER_VKEY])), Err(NoteError::InvalidSignature(key(PETER_VKEY))));

    // Duplicates: verified once, distinct unverified lines once each.
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dup = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
    let opened = open_note(&dup, &ring(&[PETER_VKEY])).unwrap();
    assert_eq!(opened.verified, vec![key(PETER_VKEY)]);
    assert_eq!(opened.unverified.len(), 2);

    for bad in [
        TEXT.to_string(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ] {
        assert!(matches!(open_note(&bad, &ring(&[PETER_VKEY])), Err(NoteError::Malformed(_))), "{bad:?}");
    }
}

#[test]
fn c2sp_signed_note_example_verifies() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let opened = open_note(note, &ring(&[vkey])).unwrap();
    assert_eq!(opened.text, "This is an example message.\n");
    assert_eq!(opened.verified, vec![key(vkey)]);
}

// ---- signed tree heads ------------------------------------------------------------

const ORIGIN: &str = "market.example/rempart";

fn head(size: u64, root: Hash) -> TreeHead {
    TreeHead { origin: ORIGIN.into(), size, root, timestamp_ms: 1_767_225_600_123 }
}

fn log_key(seed: u8) -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [seed; 32]).unwrap()
}

#[test]
fn checkpoint_text_is_the_c2sp_form_with_a_timestamp_line() {
    let signed = SignedTreeHead::sign(&head(20852163, Hash([7; 32])), &log_key(1)).unwrap();
    let text = signed.checkpoint();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "20852163");
    assert_eq!(lines[2], Hash([7; 32]).to_base64());
    assert_eq!(lines[3], "timestamp_ms 1767225600123");
    assert_eq!(lines[4], "");
    assert!(lines[5].starts_with("— market.example/rempart "));
    assert_eq!(lines.len(), 6);
    // Readable as a plain signed note by the same rules Go applies.
    let opened = open_note(text, &[log_key(1).verifier()].into_iter().collect()).unwrap();
    assert_eq!(TreeHead::from_checkpoint_text(&opened.text).unwrap(), head(20852163, Hash([7; 32])));
}

#[test]
fn sign_parse_verify_round_trip_and_json() {
    let signer = log_key(2);
    let h = head(5, leaf_hash(b"x"));
    let signed = SignedTreeHead::sign(&h, &signer).unwrap();
    let keys = KeyRing::from_vkeys(&format!("# the log\n{}\n", signer.verifier())).unwrap();
    let parsed = SignedTreeHead::parse(signed.checkpoint()).unwrap();
    assert_eq!(parsed, signed);
    assert_eq!(parsed.verify(&keys).unwrap(), signer.key_id());
    assert_eq!(parsed.head(), &h);

    let json = serde_json::to_value(signed.to_json()).unwrap();
    assert_eq!(json["tree_size"], 5);
    assert_eq!(json["root_hash"], leaf_hash(b"x").to_hex());
    assert_eq!(json["key_id"], signer.key_id().id_hex());
    let back: SignedTreeHeadJson = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.to_signed().unwrap(), signed);
    for (field, value) in [
        ("tree_size", serde_json::json!(6)),
        ("origin", serde_json::json!("other.example/log")),
        ("timestamp_ms", serde_json::json!(1)),
        ("root_hash", serde_json::json!(Hash([1; 32]).to_hex())),
        ("key_id", serde_json::json!("00000000")),
    ] {
        let mut lying = json.clone();
        lying[field] = value;
        let lying: SignedTreeHeadJson = serde_json::from_value(lying).unwrap();
        assert!(matches!(lying.to_signed(), Err(CheckpointError::JsonMismatch { .. })), "{field}");
    }
}

#[test]
fn tampering_any_byte_of_a_signed_head_is_rejected() {
    let signer = log_key(3);
    let keys: KeyRing = [signer.verifier()].into_iter().collect();
    let signed = SignedTreeHead::sign(&head(1234, leaf_hash(b"root")), &signer).unwrap();
    let bytes = signed.checkpoint().as_bytes();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x02, 0x20, 0x80] {
            let mut tampered = bytes.to_vec();
            tampered[i] ^= mask;
            let accepted = std::str::from_utf8(&tampered)
                .ok()
                .and_then(|text| SignedTreeHead::parse(text).ok())
                .is_some_and(|parsed| parsed.verify(&keys).is_ok());
            assert!(!accepted, "byte {i} ^ {mask:#04x} accepted");
        }
    }
}

#[test]
fn malformed_checkpoint_bodies_name_the_line() {
    let root = Hash([9; 32]).to_base64();
    for (text, line) in [
        (format!("{ORIGIN}\n012\n{root}\ntimestamp_ms 1\n"), "size"),
        (format!("{ORIGIN}\n-1\n{root}\ntimestamp_ms 1\n"), "size"),
        (format!("{ORIGIN}\n18446744073709551616\n{root}\ntimestamp_ms 1\n"), "size"),
        (format!("{ORIGIN}\n12\nAAAA\ntimestamp_ms 1\n"), "root"),
        (format!("{ORIGIN}\n12\n{root}\n"), "timestamp"),
        (format!("{ORIGIN}\n12\n{root}\ntimestamp_ms 01\n"), "timestamp"),
        (format!("{ORIGIN}\n12\n{root}\ntime 1\n"), "timestamp"),
        (format!("{ORIGIN}\n12\n{root}\ntimestamp_ms 1\nextra\n"), "extension"),
        (format!("\n12\n{root}\ntimestamp_ms 1\n"), "origin"),
    ] {
        match TreeHead::from_checkpoint_text(&text) {
            Err(CheckpointError::Body { line: got, .. }) => assert_eq!(got, line, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    assert!(head(1, Hash::default()).to_checkpoint_text().is_ok());
    let bad_origin = TreeHead { origin: "a\nb".into(), ..head(1, Hash::default()) };
    assert!(SignedTreeHead::sign(&bad_origin, &log_key(1)).is_err());
}

#[test]
fn key_rotation_and_witness_cosignatures() {
    let (old, new) = (log_key(10), log_key(11));
    assert_ne!(old.key_id().id, new.key_id().id);
    let before = SignedTreeHead::sign(&head(10, Hash([1; 32])), &old).unwrap();
    let after = SignedTreeHead::sign(&head(20, Hash([2; 32])), &new).unwrap();

    let both: KeyRing = [old.verifier(), new.verifier()].into_iter().collect();
    assert_eq!(before.verify(&both).unwrap(), old.key_id());
    assert_eq!(after.verify(&both).unwrap(), new.key_id());
    let only_new: KeyRing = [new.verifier()].into_iter().collect();
    assert!(matches!(before.verify(&only_new), Err(CheckpointError::Note(NoteError::NoTrustedSignature(_)))));

    // A witness adds its line; the log's ring ignores it, a ring that
    // trusts the witness requires it to verify.
    let witness = NoteSigner::from_seed("witness.example/w1", [12; 32]).unwrap();
    let cosigned = sign_note(&head(20, Hash([2; 32])).to_checkpoint_text().unwrap(), &[&new, &witness]).unwrap();
    let parsed = SignedTreeHead::parse(&cosigned).unwrap();
    assert_eq!(parsed.signatures().len(), 2);
    assert_eq!(parsed.verify(&only_new).unwrap(), new.key_id());
    let with_witness: KeyRing = [new.verifier(), witness.verifier()].into_iter().collect();
    assert!(parsed.verify(&with_witness).is_ok());
    let forged_witness = cosigned.replace(&witness.key_id().name, "witness.example/w2");
    assert!(SignedTreeHead::parse(&forged_witness).unwrap().verify(&with_witness).is_ok());
    let other_text = sign_note(&head(21, Hash([2; 32])).to_checkpoint_text().unwrap(), &[&witness]).unwrap();
    let swapped_line = format!(
        "{}{}",
        cosigned.lines().take(6).collect::<Vec<_>>().join("\n") + "\n",
        other_text.lines().last().unwrap()
    );
    assert!(SignedTreeHead::parse(&(swapped_line + "\n")).unwrap().verify(&with_witness).is_err());
}

// ---- offline entry verification ------------------------------------------------------

struct Fixture {
    signer: NoteSigner,
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
}

fn fixture() -> Fixture {
    let signer = log_key(20);
    let entries: Vec<Vec<u8>> = (0..13)
        .map(|i| canonical_json(&serde_json::json!({"decision_id": format!("d-{i}"), "verdict": "review"})).unwrap())
        .collect();
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.push(leaf_hash(e)).unwrap();
    }
    Fixture { signer, entries, tree }
}

#[test]
fn verify_entry_accepts_the_logged_entry_only() {
    let f = fixture();
    let keys: KeyRing = [f.signer.verifier()].into_iter().collect();
    let signed = SignedTreeHead::sign(&head(13, f.tree.root()), &f.signer).unwrap();
    for (i, entry) in f.entries.iter().enumerate() {
        let proof = InclusionProof {
            leaf_index: i as u64,
            tree_size: 13,
            leaf_hash: leaf_hash(entry),
            hashes: inclusion_proof(&f.tree, i as u64, 13).unwrap(),
        };
        // Round trip through JSON, as `rempart audit prove` prints it.
        let proof: InclusionProof = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
        let ok = verify_entry(entry, &proof, &signed, &keys).unwrap();
        assert_eq!((ok.leaf_index, ok.head.size), (i as u64, 13));

        let mut altered = entry.clone();
        altered[5] ^= 1;
        assert!(matches!(verify_entry(&altered, &proof, &signed, &keys), Err(EntryError::EntryAltered { .. })));
        for bit in 0..64 {
            let moved = InclusionProof { leaf_index: proof.leaf_index ^ (1 << bit), ..proof.clone() };
            assert!(verify_entry(entry, &moved, &signed, &keys).is_err(), "index bit {bit}");
            let resized = InclusionProof { tree_size: proof.tree_size ^ (1 << bit), ..proof.clone() };
            assert!(
                matches!(verify_entry(entry, &resized, &signed, &keys), Err(EntryError::SizeMismatch { .. })),
                "size bit {bit}"
            );
        }
        for k in 0..proof.hashes.len() {
            for bit in [0, 77, 255] {
                let mut bad = proof.clone();
                bad.hashes[k].0[bit / 8] ^= 1 << (bit % 8);
                assert!(matches!(verify_entry(entry, &bad, &signed, &keys), Err(EntryError::Proof(_))));
            }
        }
    }
    let stranger: KeyRing = [log_key(21).verifier()].into_iter().collect();
    let proof = InclusionProof {
        leaf_index: 0,
        tree_size: 13,
        leaf_hash: leaf_hash(&f.entries[0]),
        hashes: inclusion_proof(&f.tree, 0, 13).unwrap(),
    };
    assert!(matches!(verify_entry(&f.entries[0], &proof, &signed, &stranger), Err(EntryError::Head(_))));
}

#[test]
fn witness_checks_heads_extend_each_other() {
    let f = fixture();
    let old = head(5, root_at(&f.tree, 5).unwrap());
    let new = head(13, f.tree.root());
    let proof = ConsistencyProof { old_size: 5, new_size: 13, hashes: consistency_proof(&f.tree, 5, 13).unwrap() };
    let proof: ConsistencyProof = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
    verify_head_consistency(&old, &new, &proof).unwrap();

    // History rewritten: entry 2 changed after head 5 was published.
    let mut rewritten = MemoryTree::new();
    for (i, e) in f.entries.iter().enumerate() {
        rewritten.push(leaf_hash(if i == 2 { b"changed" } else { e })).unwrap();
    }
    let forked = head(13, rewritten.root());
    let fork_proof =
        ConsistencyProof { old_size: 5, new_size: 13, hashes: consistency_proof(&rewritten, 5, 13).unwrap() };
    assert!(matches!(verify_head_consistency(&old, &forked, &fork_proof), Err(HeadConsistencyError::Rewritten { .. })));

    assert!(matches!(verify_head_consistency(&new, &old, &proof), Err(HeadConsistencyError::Shrunk { .. })));
    let other_log = TreeHead { origin: "other.example/log".into(), ..new.clone() };
    assert!(matches!(
        verify_head_consistency(&old, &other_log, &proof),
        Err(HeadConsistencyError::OriginMismatch { .. })
    ));
    let wrong_sizes = ConsistencyProof { old_size: 4, ..proof.clone() };
    assert!(matches!(
        verify_head_consistency(&old, &new, &wrong_sizes),
        Err(HeadConsistencyError::SizeMismatch { .. })
    ));
    let empty = head(0, empty_root());
    let from_empty = ConsistencyProof { old_size: 0, new_size: 13, hashes: vec![] };
    verify_head_consistency(&empty, &new, &from_empty).unwrap();
    let lying_empty = head(0, Hash([1; 32]));
    assert!(verify_head_consistency(&lying_empty, &new, &from_empty).is_err());
    let same = ConsistencyProof { old_size: 13, new_size: 13, hashes: vec![] };
    verify_head_consistency(&new, &new, &same).unwrap();
    assert!(verify_head_consistency(&new, &forked, &same).is_err());
}
