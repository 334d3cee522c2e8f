//! `rempart evidence`: one listing's record as a file a court can check
//! offline (`export`), and the check (`verify`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rempart_audit::{KeyRing, SignedTreeHead, SignedTreeHeadJson};
use rempart_dsa::evidence::{self, Bundle, BundleEntry, BundleVersion};
use rempart_store::{audit, dsa, packs, records, time, StoreError};
use serde_json::json;

use super::audit::EXIT_TAMPERED;
use super::store_args::StoreArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write one listing's evidence bundle: every version as received, every decision as its audit
    /// entry with an inclusion proof against a signed tree head, the policy text that decided, the
    /// log's public keys.
    #[command(after_help = "The bundle is one JSON file (format rempart-evidence/1). If no signed head \
covers the listing's last entry yet, one is signed now (the key file is needed). Check it with \
`rempart evidence verify FILE --vkey KEY` on any machine, without the database.\n\n\
Exit status: 0 written; 1 no such listing, no store, or the file cannot be written.")]
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The listing's id.
        #[arg(long)]
        listing: String,
        /// Where to write the bundle (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        out: String,
    },
    /// Check a bundle offline: the head's signature, every entry's inclusion proof, every version
    /// against the digest its logged decision recorded, every policy text against its hash.
    #[command(after_help = "Trust comes from --vkey (the platform's published key, obtained \
independently); without it the keys inside the bundle are used and the output says so. --head takes a \
signed head (C2SP checkpoint text or its JSON) obtained independently, e.g. from a witness: a head of the \
same size with another root means two histories were signed.\n\n\
Output: one JSON object on stdout {\"verified\", \"findings\", \"notes\", …}; each finding names the part \
of the bundle that was altered (head, entries[i], versions[k], packs[v]).\n\n\
Exit status: 0 everything verifies; 5 something was altered (each finding printed); 1 unreadable file.")]
    Verify {
        /// The bundle (`-` for stdin).
        file: String,
        /// A trusted signing key (signed-note vkey); repeatable.
        #[arg(long = "vkey", value_name = "VKEY")]
        vkeys: Vec<String>,
        /// A signed tree head obtained independently (file: checkpoint text or JSON).
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
    },
    /// Render a bundle as one readable, printable HTML file for a court file, with the result of
    /// the offline check at the top.
    #[command(
        after_help = "The bundle is checked first, exactly as `rempart evidence verify` does (same --vkey and --head); the page opens with the verdict, then a timeline of every logged entry, each version as received, each decision with its rule, legal basis and the triggering words marked in the seller's text, the review, notice, order and appeal history, and appendices with the policy text that decided and the inclusion proofs. One self-contained file: no script, nothing fetched; print it from any browser (A4 print style).\n\n\
Exit status: 0 written and the evidence verifies; 5 written, but something was altered (the page says what, in red); 1 unreadable bundle or unwritable output."
    )]
    Render {
        /// The bundle (`-` for stdin).
        file: String,
        /// Where to write the HTML (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        out: String,
        /// A trusted signing key (signed-note vkey); repeatable.
        #[arg(long = "vkey", value_name = "VKEY")]
        vkeys: Vec<String>,
        /// A signed tree head obtained independently (file: checkpoint text or JSON).
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
    },
}

pub fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Export { store, listing, out } => export(&store, &listing, &out),
        Command::Verify { file, vkeys, head } => verify(&file, &vkeys, head.as_deref()),
        Command::Render { file, out, vkeys, head } => render(&file, &out, &vkeys, head.as_deref()),
    }
}

fn export(store_args: &StoreArgs, listing_id: &str, out: &str) -> Result<u8> {
    let store = store_args.open()?;
    let last_index = store.read(|tx| {
        let history = records::history(tx, listing_id)?;
        let decisions = history.versions.iter().flat_map(|v| v.decisions.iter().map(|d| d.audit_index)).max();
        let others = dsa::listing_history(tx, listing_id)?.into_iter().max();
        Ok(decisions.map(|d| others.map_or(d, |o| o.max(d))))
    })?;
    let Some(last_index) = last_index else { bail!("listing {listing_id} has no recorded decision") };
    if store.read(audit::latest_head)?.filter(|h| h.size > last_index).is_none() {
        let signer = store_args.keyfile()?.signer()?;
        store.write(|tx| audit::sign_head(tx, &signer, false))?;
    }
    let bundle = store.read(|tx| {
        let history = records::history(tx, listing_id)?;
        let head = audit::latest_head(tx)?
            .filter(|h| h.size > last_index)
            .ok_or_else(|| StoreError::NotFound("a signed head covering the listing".into()))?;
        let mut versions = Vec::new();
        let mut entries = Vec::new();
        let mut pack_files = BTreeMap::new();
        for v in &history.versions {
            versions.push(BundleVersion {
                version: v.version,
                received_at: v.received_at.clone(),
                listing: v.listing.get().to_string(),
            });
            for d in &v.decisions {
                let entry = String::from_utf8(audit::entry(tx, d.audit_index)?)
                    .map_err(|e| StoreError::Audit(format!("entry {} is not UTF-8: {e}", d.audit_index)))?;
                let proof = audit::inclusion(tx, d.audit_index, head.size)?;
                entries.push(BundleEntry { entry, proof });
                let pack = &d.record.decision.policy_version;
                if !pack_files.contains_key(pack) {
                    match packs::get(tx, pack) {
                        Ok(p) => {
                            pack_files.insert(pack.clone(), p.files);
                        }
                        Err(StoreError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        let decided: std::collections::BTreeSet<u64> = entries.iter().map(|e| e.proof.leaf_index).collect();
        let mut history = Vec::new();
        for index in dsa::listing_history(tx, listing_id)? {
            if decided.contains(&index) || index >= head.size {
                continue;
            }
            let entry = String::from_utf8(audit::entry(tx, index)?)
                .map_err(|e| StoreError::Audit(format!("entry {index} is not UTF-8: {e}")))?;
            history.push(BundleEntry { entry, proof: audit::inclusion(tx, index, head.size)? });
        }
        Ok(Bundle {
            format: evidence::FORMAT.into(),
            listing_id: listing_id.to_string(),
            exported_at: time::rfc3339(time::now_ms()),
            versions,
            entries,
            history,
            packs: pack_files,
            head: head.signed.to_json(),
            vkeys: audit::vkeys(tx)?,
        })
    })?;
    let text = serde_json::to_string_pretty(&bundle)?;
    if out == "-" {
        println!("{text}");
    } else {
        std::fs::write(out, text + "\n").with_context(|| format!("writing {out}"))?;
    }
    eprintln!(
        "rempart: evidence for listing {listing_id}: {} version(s), {} decision(s), {} history entries (reviews, notices, appeals), proven against the signed head of {} entries",
        bundle.versions.len(),
        bundle.entries.len(),
        bundle.history.len(),
        bundle.head.tree_size
    );
    Ok(crate::EXIT_OK)
}

/// Reads a bundle and checks it: the bundle, what was found, and the
/// trust basis in words.
fn check(
    path: &str,
    vkeys: &[String],
    head: Option<&std::path::Path>,
) -> Result<(Bundle, evidence::Verdict, &'static str)> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
    };
    let bundle: Bundle = serde_json::from_str(&text).with_context(|| format!("{path}: not an evidence bundle"))?;
    let (keys, trusting) = if vkeys.is_empty() {
        (&bundle.vkeys[..], "the keys inside the bundle (pass --vkey to trust an independently obtained key)")
    } else {
        (vkeys, "the keys given with --vkey")
    };
    let trusted = KeyRing::from_vkeys(&keys.join("\n")).context("the trusted keys")?;
    let independent = match head {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let signed = match serde_json::from_str::<SignedTreeHeadJson>(&text) {
                Ok(j) => j.to_signed(),
                Err(_) => SignedTreeHead::parse(&text),
            };
            Some(signed.with_context(|| format!("{}: not a signed tree head", p.display()))?)
        }
    };
    let verdict = evidence::verify(&bundle, &trusted, independent.as_ref());
    Ok((bundle, verdict, trusting))
}

fn render(path: &str, out: &str, vkeys: &[String], head: Option<&std::path::Path>) -> Result<u8> {
    let (bundle, verdict, trusting) = check(path, vkeys, head)?;
    let html = rempart_dsa::evidence_html::render(&bundle, &verdict, trusting);
    if out == "-" {
        print!("{html}");
    } else {
        std::fs::write(out, html).with_context(|| format!("writing {out}"))?;
    }
    eprintln!(
        "rempart: evidence file for listing {} written to {out}: {}",
        bundle.listing_id,
        if verdict.ok() {
            "it verifies".to_string()
        } else {
            format!("IT DOES NOT VERIFY ({} finding(s))", verdict.findings.len())
        }
    );
    Ok(if verdict.ok() { crate::EXIT_OK } else { EXIT_TAMPERED })
}

fn verify(path: &str, vkeys: &[String], head: Option<&std::path::Path>) -> Result<u8> {
    let (bundle, verdict, trusting) = check(path, vkeys, head)?;
    println!(
        "{}",
        json!({"verified": verdict.ok(), "listing_id": bundle.listing_id, "findings": verdict.findings,
            "notes": verdict.notes, "entries_verified": verdict.entries_verified,
            "history_verified": verdict.history_verified,
            "versions_verified": verdict.versions_verified, "packs_verified": verdict.packs_verified,
            "tree_size": verdict.tree_size, "signed_by": verdict.signed_by, "trusted": trusting})
    );
    for note in &verdict.notes {
        eprintln!("rempart: note: {note}");
    }
    if verdict.ok() {
        eprintln!(
            "rempart: the evidence for listing {} verifies: {} version(s), {} decision(s) in the log of {} entries signed by key {} (trusting {trusting})",
            bundle.listing_id,
            verdict.versions_verified,
            verdict.entries_verified,
            verdict.tree_size,
            verdict.signed_by.as_deref().unwrap_or("-")
        );
        Ok(crate::EXIT_OK)
    } else {
        eprintln!("rempart: THE EVIDENCE DOES NOT VERIFY ({} finding(s))", verdict.findings.len());
        for f in &verdict.findings {
            eprintln!("  - {f}");
        }
        Ok(EXIT_TAMPERED)
    }
}
