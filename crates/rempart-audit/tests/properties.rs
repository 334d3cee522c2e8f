//! Property tests: proofs over random sizes, and no panic on any input.

use std::sync::OnceLock;

use proptest::prelude::*;
use rempart_audit::*;

const MAX_LEAVES: u64 = 4_000;

fn tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = MemoryTree::new();
        for i in 0..MAX_LEAVES {
            tree.push(leaf(i)).unwrap();
        }
        tree
    })
}

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

fn hash_strategy() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn inclusion_proofs_verify_and_bind_the_leaf(size in 1..=MAX_LEAVES, pick in any::<u64>(), other in any::<u64>()) {
        let index = pick % size;
        let root = root_at(tree(), size).unwrap();
        let proof = inclusion_proof(tree(), index, size).unwrap();
        prop_assert_eq!(proof.len(), ProofPlan::inclusion(index, size).unwrap().len());
        prop_assert!(verify_inclusion(&leaf(index), index, size, &proof, &root).is_ok());
        let other = other % size;
        if other != index {
            prop_assert!(verify_inclusion(&leaf(other), index, size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf(index), other, size, &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_bind_both_roots(new in 1..=MAX_LEAVES, pick in any::<u64>()) {
        let old = 1 + pick % new;
        let (old_root, new_root) = (root_at(tree(), old).unwrap(), root_at(tree(), new).unwrap());
        let proof = consistency_proof(tree(), old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        if old < new {
            let older = root_at(tree(), old - 1).unwrap();
            prop_assert!(verify_consistency(old, new, &older, &new_root, &proof).is_err());
            prop_assert!(verify_consistency(old, new, &old_root, &old_root, &proof).is_err());
        }
    }

    #[test]
    fn restoring_at_any_size_gives_the_same_frontier(size in 0..=MAX_LEAVES) {
        let restored = Frontier::restore(size, tree()).unwrap();
        prop_assert_eq!(restored.size(), size);
        prop_assert_eq!(restored.root(), root_at(tree(), size).unwrap());
        prop_assert_eq!(Frontier::node_ids(size).len(), size.count_ones() as usize);
    }

    #[test]
    fn verifiers_never_panic(
        index in any::<u64>(),
        size in prop_oneof![any::<u64>(), 0..64u64],
        old in prop_oneof![any::<u64>(), 0..64u64],
        proof in prop::collection::vec(hash_strategy(), 0..70),
        a in hash_strategy(),
        b in hash_strategy(),
    ) {
        // Random hashes essentially never verify; what matters is no panic.
        let _ = verify_inclusion(&a, index, size, &proof, &b);
        let _ = root_from_inclusion(&a, index, size, &proof);
        let _ = verify_consistency(old, size, &a, &b, &proof);
        let _ = ProofPlan::inclusion(index, size);
        let _ = ProofPlan::consistency(old, size);
    }

    #[test]
    fn parsers_never_panic(text in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let keys: KeyRing = [NoteSigner::from_seed("k", [1; 32]).unwrap().verifier()].into_iter().collect();
        for input in [text.as_str(), &String::from_utf8_lossy(&bytes)] {
            let _ = parse_note(input);
            let _ = open_note(input, &keys);
            let _ = SignedTreeHead::parse(input);
            let _ = TreeHead::from_checkpoint_text(input);
            let _ = NoteVerifier::from_vkey(input);
            let _ = NoteSigner::from_skey(input);
            let _ = parse_sha256_digest(input);
        }
    }

    #[test]
    fn a_signed_head_survives_no_edit(size in any::<u64>(), root in hash_strategy(), ts in any::<u64>(), at in any::<usize>(), with in any::<char>()) {
        let signer = NoteSigner::from_seed("market.example/rempart", [5; 32]).unwrap();
        let head = TreeHead { origin: "market.example/rempart".into(), size, root, timestamp_ms: ts };
        let signed = SignedTreeHead::sign(&head, &signer).unwrap();
        let keys: KeyRing = [signer.verifier()].into_iter().collect();
        let parsed = SignedTreeHead::parse(signed.checkpoint()).unwrap();
        prop_assert_eq!(parsed.head(), &head);
        let mut chars: Vec<char> = signed.checkpoint().chars().collect();
        let at = at % chars.len();
        prop_assume!(chars[at] != with);
        chars[at] = with;
        let edited: String = chars.into_iter().collect();
        let accepted = SignedTreeHead::parse(&edited).is_ok_and(|s| s.verify(&keys).is_ok());
        prop_assert!(!accepted, "edit at {} accepted", at);
    }
}
