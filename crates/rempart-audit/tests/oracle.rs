//! The incremental tree and the stored-node proofs against two independent
//! oracles: RFC 9162 §2.1's recursive definitions of MTH, PATH and PROOF,
//! written out plainly below (brute force, O(n) per call), and the
//! `ct-merkle` crate, a separate RFC 6962 implementation.

use rempart_audit::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root_at, verify_consistency, verify_inclusion, Frontier,
    Hash, MemoryTree, NodeId, NodeReader, PlanError, ProofError, ProofPlan,
};

// ---- RFC 9162 §2.1, transcribed ----------------------------------------

/// Largest power of two smaller than n (n > 1).
fn k_for(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes (MTH of one entry is its leaf hash).
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => {
            use sha2_011::Digest as _;
            Hash::from_slice(sha2_011::Sha256::digest(b"").as_slice()).unwrap()
        }
        1 => d[0],
        n => {
            let k = k_for(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]).
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = k_for(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    subproof(m, d, true)
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k_for(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

// ---- helpers --------------------------------------------------------------

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
}

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push(*leaf).unwrap();
    }
    tree
}

/// A small deterministic generator (SplitMix64) for the random sizes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---- tests ------------------------------------------------------------------

#[test]
fn frontier_root_is_mth_for_every_size_up_to_300() {
    let d = leaves(300);
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), mth(&[]));
    for n in 1..=300 {
        let appended = frontier.append(d[n - 1]).unwrap();
        assert_eq!(appended.index, n as u64 - 1);
        assert_eq!(appended.root, mth(&d[..n]), "size {n}");
        assert_eq!(frontier.hashes().len(), n.count_ones() as usize);
    }
}

#[test]
fn emitted_nodes_are_exactly_the_perfect_subtrees_with_their_mth() {
    let d = leaves(300);
    let mut frontier = Frontier::new();
    let mut emitted = Vec::new();
    for leaf in &d {
        frontier.push(*leaf, |node| emitted.push(node)).unwrap();
    }
    let mut expected = Vec::new();
    for level in 0..9u8 {
        let width = 1usize << level;
        for index in 0..300 / width {
            expected.push(NodeId::new(level, index as u64));
        }
    }
    let mut ids: Vec<NodeId> = emitted.iter().map(|n| n.id).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "each perfect subtree once, nothing else");
    for node in &emitted {
        let width = 1usize << node.id.level;
        let start = node.id.index as usize * width;
        assert_eq!(node.hash, mth(&d[start..start + width]), "{:?}", node.id);
    }
}

#[test]
fn batch_append_matches_single_appends() {
    let d = leaves(300);
    let mut single = Frontier::new();
    let mut single_nodes = Vec::new();
    for leaf in &d {
        single_nodes.extend(single.append(*leaf).unwrap().nodes);
    }
    let mut batched = Frontier::new();
    let mut batched_nodes = Vec::new();
    for chunk in d.chunks(37) {
        let batch = batched.append_batch(chunk.iter().copied()).unwrap();
        assert_eq!(batch.root, mth(&d[..batch.size as usize]));
        batched_nodes.extend(batch.nodes);
    }
    assert_eq!(single, batched);
    assert_eq!(single_nodes, batched_nodes);
}

#[test]
fn restored_frontier_continues_like_the_original() {
    let d = leaves(300);
    let full = tree_of(&d);
    for n in 0..=300usize {
        let mut restored = Frontier::restore(n as u64, &full).unwrap();
        assert_eq!(restored, *tree_of(&d[..n]).frontier(), "size {n}");
        assert_eq!(restored.root(), mth(&d[..n]));
        if n < 300 {
            assert_eq!(restored.append(d[n]).unwrap().root, mth(&d[..=n]));
        }
    }
}

#[test]
fn historical_roots_from_stored_nodes() {
    let d = leaves(300);
    let full = tree_of(&d);
    for n in 0..=300usize {
        assert_eq!(root_at(&full, n as u64).unwrap(), mth(&d[..n]), "size {n}");
    }
}

#[test]
fn every_inclusion_proof_up_to_size_128_matches_path() {
    let d = leaves(128);
    let full = tree_of(&d);
    for n in 1..=128usize {
        let root = mth(&d[..n]);
        for i in 0..n {
            let got = inclusion_proof(&full, i as u64, n as u64).unwrap();
            assert_eq!(got, path(i, &d[..n]), "PATH({i}, D[{n}])");
            verify_inclusion(&d[i], i as u64, n as u64, &got, &root).unwrap();
        }
    }
}

#[test]
fn every_consistency_proof_up_to_size_128_matches_proof() {
    let d = leaves(128);
    let full = tree_of(&d);
    for n in 1..=128usize {
        let new_root = mth(&d[..n]);
        for m in 1..=n {
            let got = consistency_proof(&full, m as u64, n as u64).unwrap();
            assert_eq!(got, proof(m, &d[..n]), "PROOF({m}, D[{n}])");
            verify_consistency(m as u64, n as u64, &mth(&d[..m]), &new_root, &got).unwrap();
        }
    }
}

#[test]
fn random_pairs_in_a_larger_tree_match_the_rfc() {
    let d = leaves(20_000);
    let full = tree_of(&d);
    let mut rng = Rng(9162);
    for _ in 0..60 {
        let n = 1 + rng.below(20_000) as usize;
        let i = rng.below(n as u64) as usize;
        let m = 1 + rng.below(n as u64) as usize;
        let root = mth(&d[..n]);
        let incl = inclusion_proof(&full, i as u64, n as u64).unwrap();
        assert_eq!(incl, path(i, &d[..n]), "PATH({i}, D[{n}])");
        verify_inclusion(&d[i], i as u64, n as u64, &incl, &root).unwrap();
        let cons = consistency_proof(&full, m as u64, n as u64).unwrap();
        assert_eq!(cons, proof(m, &d[..n]), "PROOF({m}, D[{n}])");
        verify_consistency(m as u64, n as u64, &mth(&d[..m]), &root, &cons).unwrap();
    }
}

/// Counts node reads, to hold proof generation to O(log n) reads.
struct Counting<'a> {
    tree: &'a MemoryTree,
    reads: std::cell::Cell<usize>,
}
impl NodeReader for Counting<'_> {
    type Error = rempart_audit::MissingNode;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        self.reads.set(self.reads.get() + 1);
        self.tree.node(level, index)
    }
}

#[test]
fn proofs_read_logarithmically_many_nodes() {
    let d = leaves(5_000);
    let full = tree_of(&d);
    let reader = Counting { tree: &full, reads: std::cell::Cell::new(0) };
    let mut rng = Rng(1);
    for _ in 0..2_000 {
        let n = 1 + rng.below(5_000);
        let i = rng.below(n);
        let m = 1 + rng.below(n);
        let bound = 2 * (64 - n.leading_zeros() as usize) + 1;
        reader.reads.set(0);
        inclusion_proof(&reader, i, n).unwrap();
        assert!(reader.reads.get() <= bound, "inclusion({i}, {n}) read {}", reader.reads.get());
        reader.reads.set(0);
        consistency_proof(&reader, m, n).unwrap();
        assert!(reader.reads.get() <= bound, "consistency({m}, {n}) read {}", reader.reads.get());
    }
}

#[test]
fn impossible_requests_are_refused_not_panicking() {
    let full = tree_of(&leaves(10));
    assert!(matches!(
        inclusion_proof(&full, 10, 10),
        Err(ProofError::Plan(PlanError::IndexOutOfRange { index: 10, size: 10 }))
    ));
    assert!(matches!(inclusion_proof(&full, 0, 0), Err(ProofError::Plan(PlanError::IndexOutOfRange { .. }))));
    assert!(matches!(consistency_proof(&full, 5, 4), Err(ProofError::Plan(PlanError::SizeOrder { .. }))));
    assert!(matches!(consistency_proof(&full, 0, 4), Err(ProofError::Plan(PlanError::EmptyOldTree))));
    assert_eq!(consistency_proof(&full, 4, 4).unwrap(), vec![]);
    // Beyond what is stored: the reader's error comes through.
    assert!(matches!(inclusion_proof(&full, 3, 11), Err(ProofError::Read(_))));
    // Huge sizes plan without overflow.
    let plan = ProofPlan::inclusion(u64::MAX - 1, u64::MAX).unwrap();
    assert_eq!(plan.len(), 63);
    assert!(ProofPlan::consistency(u64::MAX - 1, u64::MAX).is_ok());
    assert_eq!(ProofPlan::root(u64::MAX).node_ids().len(), 64);
}

// ---- ct-merkle, an independent implementation ----------------------------------

#[test]
fn agrees_with_ct_merkle() {
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    let entries: Vec<Vec<u8>> = (0..200u32).map(|i| format!("entry {i}").into_bytes()).collect();
    let mut peer: MemoryBackedTree<sha2_011::Sha256, Vec<u8>> = MemoryBackedTree::new();
    let mut ours = MemoryTree::new();
    for (n, entry) in entries.iter().enumerate() {
        peer.push(entry.clone());
        ours.push(leaf_hash(entry)).unwrap();
        let size = n as u64 + 1;
        assert_eq!(peer.root().as_bytes().as_slice(), ours.root().as_bytes(), "root at {size}");
        for i in [0, n / 2, n] {
            let theirs = peer.prove_inclusion(i);
            let mine: Vec<u8> = inclusion_proof(&ours, i as u64, size).unwrap().iter().flat_map(|h| h.0).collect();
            assert_eq!(theirs.as_bytes(), &mine[..], "inclusion {i} in {size}");
        }
        for additions in [1, n / 2] {
            if additions == 0 || additions > n {
                continue;
            }
            let old = size - additions as u64;
            let theirs = peer.prove_consistency(additions);
            let mine: Vec<u8> = consistency_proof(&ours, old, size).unwrap().iter().flat_map(|h| h.0).collect();
            assert_eq!(theirs.as_bytes(), &mine[..], "consistency {old} -> {size}");
        }
    }
}

#[test]
fn sans_io_plan_gives_the_same_proofs() {
    let d = leaves(100);
    let full = tree_of(&d);
    for (index, size) in [(0u64, 7u64), (6, 7), (37, 100), (99, 100)] {
        let plan = ProofPlan::inclusion(index, size).unwrap();
        // What an async store does: fetch the listed nodes itself, then assemble.
        let fetched: Vec<Hash> = plan.node_ids().iter().map(|id| full.node(id.level, id.index).unwrap()).collect();
        assert_eq!(plan.assemble(&fetched).unwrap(), inclusion_proof(&full, index, size).unwrap());
        assert_eq!(plan.assemble(&fetched[1..]), None, "a short fetch is refused");
    }
    let plan = ProofPlan::consistency(37, 100).unwrap();
    let fetched: Vec<Hash> = plan.node_ids().iter().map(|id| full.node(id.level, id.index).unwrap()).collect();
    assert_eq!(plan.assemble(&fetched).unwrap(), proof(37, &d));
    assert_eq!(ProofPlan::root(100).assemble(&full.nodes(&Frontier::node_ids(100)).unwrap()).unwrap(), vec![mth(&d)]);
}
