//! Throughput of the audit log primitives, with `ct-merkle` (an in-memory
//! RFC 6962 tree) as the peer where it offers the same operation.
//!
//! ```text
//! cargo run --release -p rempart-audit --example audit_bench -- [SIZES] [PROOFS]
//! ```
//!
//! SIZES is a comma-separated list of leaf counts (default
//! `1000000,10000000`), PROOFS the number of proofs generated and verified
//! per kind (default 100000). Single-threaded. Our tree is a `MemoryTree`,
//! i.e. the frontier plus every persisted node in vectors: proof generation
//! goes through the same `NodeReader` path a database-backed store uses,
//! minus the I/O.

use std::time::Instant;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof as PeerConsistency, InclusionProof as PeerInclusion, RootHash};
use rempart_audit::*;

type Peer = MemoryBackedTree<sha2_011::Sha256, [u8; 8]>;

/// SplitMix64: deterministic random indices without a dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

fn rate(count: u64, seconds: f64) -> String {
    let per_second = count as f64 / seconds;
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else {
        format!("{:.1} k/s", per_second / 1e3)
    }
}

fn row(what: &str, ours: Option<(u64, f64)>, peer: Option<(u64, f64)>) {
    let fmt = |m: Option<(u64, f64)>| m.map(|(n, s)| rate(n, s)).unwrap_or_else(|| "—".into());
    let ratio = match (ours, peer) {
        (Some((a, sa)), Some((b, sb))) => format!("{:.2}×", (a as f64 / sa) / (b as f64 / sb)),
        _ => "—".into(),
    };
    println!("| {what} | {} | {} | {ratio} |", fmt(ours), fmt(peer));
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

fn peak_rss_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_owned()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| format!("{:.0} MiB", kb / 1024.0))
        .unwrap_or_else(|| "?".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sizes: Vec<u64> = args
        .next()
        .unwrap_or_else(|| "1000000,10000000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let proofs: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100_000);

    for &n in &sizes {
        println!("\n### {n} leaves, {proofs} proofs per kind\n");
        println!("| operation | rempart-audit | ct-merkle 0.3 | ratio |");
        println!("| --- | ---: | ---: | ---: |");
        let items: Vec<[u8; 8]> = (0..n).map(|i| i.to_le_bytes()).collect();

        // Appending: leaf hash + frontier push + storing every completed node.
        let (tree, secs) = timed(|| {
            let mut tree = MemoryTree::new();
            for item in &items {
                tree.push(leaf_hash(item)).expect("far from full");
            }
            tree
        });
        let (peer, peer_secs) = timed(|| {
            let mut peer = Peer::new();
            for item in &items {
                peer.push(*item);
            }
            peer
        });
        row("append (leaf hash + nodes kept)", Some((n, secs)), Some((n, peer_secs)));
        assert_eq!(peer.root().as_bytes().as_slice(), tree.root().as_bytes());

        let leaves: Vec<Hash> = items.iter().take(1_000_000).map(|i| leaf_hash(i)).collect();
        let count = leaves.len() as u64;
        let (_, secs) = timed(|| {
            let mut frontier = Frontier::new();
            let mut persisted = 0usize;
            for leaf in &leaves {
                persisted += frontier.append(*leaf).expect("far from full").nodes.len();
            }
            persisted
        });
        row("`Frontier::append` (+ root per leaf, node list)", Some((count, secs)), None);
        let (_, secs) = timed(|| {
            let mut frontier = Frontier::new();
            let mut persisted = 0usize;
            for batch in leaves.chunks(100) {
                persisted += frontier.append_batch(batch.iter().copied()).expect("far from full").nodes.len();
            }
            persisted
        });
        row("`Frontier::append_batch` of 100 (+ root per batch)", Some((count, secs)), None);

        // Proof generation at the current size (the only one ct-merkle does)…
        let mut rng = Rng(n);
        let indices: Vec<u64> = (0..proofs).map(|_| rng.below(n)).collect();
        let (ours, secs) =
            timed(|| indices.iter().map(|&i| inclusion_proof(&tree, i, n).expect("in range")).collect::<Vec<_>>());
        let (theirs, peer_secs) =
            timed(|| indices.iter().map(|&i| peer.prove_inclusion(i as usize)).collect::<Vec<PeerInclusion<_>>>());
        row("inclusion proof, size n", Some((proofs, secs)), Some((proofs, peer_secs)));

        // …and at historical sizes, which only a store of perfect nodes gives.
        let historical: Vec<(u64, u64)> = (0..proofs)
            .map(|_| {
                let size = 1 + rng.below(n);
                (rng.below(size), size)
            })
            .collect();
        let (_, secs) = timed(|| {
            historical.iter().map(|&(i, size)| inclusion_proof(&tree, i, size).expect("in range").len()).sum::<usize>()
        });
        row("inclusion proof, random past size", Some((proofs, secs)), None);

        let olds: Vec<u64> = (0..proofs).map(|_| 1 + rng.below(n - 1)).collect();
        let (ours_cons, secs) =
            timed(|| olds.iter().map(|&m| consistency_proof(&tree, m, n).expect("m < n")).collect::<Vec<_>>());
        let (theirs_cons, peer_secs) = timed(|| {
            olds.iter().map(|&m| peer.prove_consistency((n - m) as usize)).collect::<Vec<PeerConsistency<_>>>()
        });
        row("consistency proof, m → n", Some((proofs, secs)), Some((proofs, peer_secs)));
        let pairs: Vec<(u64, u64)> = (0..proofs)
            .map(|_| {
                let new = 2 + rng.below(n - 1);
                (1 + rng.below(new - 1), new)
            })
            .collect();
        let (_, secs) = timed(|| {
            pairs.iter().map(|&(m, size)| consistency_proof(&tree, m, size).expect("m < n").len()).sum::<usize>()
        });
        row("consistency proof, random past sizes", Some((proofs, secs)), None);

        // Verification with no tree.
        let root = tree.root();
        let leaf_of = |i: u64| leaf_hash(&items[i as usize]);
        let (ok, secs) = timed(|| {
            indices.iter().zip(&ours).filter(|(&i, p)| verify_inclusion(&leaf_of(i), i, n, p, &root).is_ok()).count()
        });
        assert_eq!(ok as u64, proofs);
        let peer_root: RootHash<sha2_011::Sha256> = peer.root();
        let (ok, peer_secs) = timed(|| {
            indices
                .iter()
                .zip(&theirs)
                .filter(|(&i, p)| peer_root.verify_inclusion(&items[i as usize], i, p).is_ok())
                .count()
        });
        assert_eq!(ok as u64, proofs);
        row("verify inclusion (incl. leaf hash)", Some((proofs, secs)), Some((proofs, peer_secs)));

        let old_roots: Vec<Hash> = olds.iter().map(|&m| root_at(&tree, m).expect("stored")).collect();
        let (ok, secs) = timed(|| {
            olds.iter()
                .zip(&old_roots)
                .zip(&ours_cons)
                .filter(|((&m, old), p)| verify_consistency(m, n, old, &root, p).is_ok())
                .count()
        });
        assert_eq!(ok as u64, proofs);
        let peer_old: Vec<RootHash<sha2_011::Sha256>> = olds
            .iter()
            .zip(&old_roots)
            .map(|(&m, r)| {
                let digest = sha2_011::digest::Output::<sha2_011::Sha256>::try_from(&r.0[..]).expect("32 bytes");
                RootHash::new(digest, m)
            })
            .collect();
        let (ok, peer_secs) = timed(|| {
            peer_old.iter().zip(&theirs_cons).filter(|(old, p)| peer_root.verify_consistency(old, p).is_ok()).count()
        });
        assert_eq!(ok as u64, proofs);
        row("verify consistency", Some((proofs, secs)), Some((proofs, peer_secs)));

        let (_, secs) = timed(|| {
            (0..proofs).map(|i| root_at(&tree, 1 + (i * 7919) % n).expect("stored")).fold(0u8, |a, h| a ^ h.0[0])
        });
        row("`root_at` (historical root from stored nodes)", Some((proofs, secs)), None);
        println!("\npeak RSS so far (both trees in memory): {}", peak_rss_mib());
        drop(peer);
    }

    // Signed heads and canonical JSON do not depend on the tree size.
    println!("\n### signed heads and canonical JSON\n");
    println!("| operation | rate |");
    println!("| --- | ---: |");
    let signer = NoteSigner::from_seed("market.example/rempart", [1; 32])?;
    let keys: KeyRing = [signer.verifier()].into_iter().collect();
    let count = 20_000u64;
    let (heads, secs) = timed(|| {
        (0..count)
            .map(|i| {
                let head =
                    TreeHead { origin: "market.example/rempart".into(), size: i, root: Hash([7; 32]), timestamp_ms: i };
                SignedTreeHead::sign(&head, &signer).expect("valid head")
            })
            .collect::<Vec<_>>()
    });
    println!("| sign a checkpoint (ed25519) | {} |", rate(count, secs));
    let texts: Vec<String> = heads.iter().map(|h| h.checkpoint().to_owned()).collect();
    let (ok, secs) =
        timed(|| texts.iter().filter(|t| SignedTreeHead::parse(t).and_then(|h| h.verify(&keys)).is_ok()).count());
    assert_eq!(ok as u64, count);
    println!("| parse + verify a checkpoint | {} |", rate(count, secs));
    let record = serde_json::json!({
        "schema_version": 1, "decision_id": "01JF8Z6Q3V6Y4N2M8K7H5G3F1D", "listing_id": "L-123456",
        "listing_digest": sha256_digest(b"listing"), "time": "2026-12-02T10:00:00.000Z",
        "verdict": "block", "policy_version": "sha256:0f1e", "engine_version": "0.1.0+abc123",
        "matches": [{"policy": "weapons", "rule": "knuckle-duster", "legal_basis": "Code de la sécurité intérieure, art. R311-2",
                     "evidence": [{"field": "title", "start": 0, "end": 14, "text": "poing américain"}]}]
    });
    let (_, secs) = timed(|| (0..count).map(|_| canonical_json(&record).expect("safe").len()).sum::<usize>());
    println!(
        "| canonical JSON of a decision record ({} bytes) | {} |",
        canonical_json(&record)?.len(),
        rate(count, secs)
    );
    let (_, secs) =
        timed(|| (0..count).map(|_| serde_json::to_vec(&record).expect("serialisable").len()).sum::<usize>());
    println!("| baseline: `serde_json::to_vec` of the same record (not canonical) | {} |", rate(count, secs));
    let (_, secs) = timed(|| (0..count).map(|i| leaf_hash(&i.to_le_bytes())).fold(0u8, |a, h| a ^ h.0[0]));
    println!("| baseline: one SHA-256 (leaf hash of 8 bytes) | {} |", rate(count, secs));
    Ok(())
}
