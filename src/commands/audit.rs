//! `rempart audit`: check the log — the whole of it from the database
//! (`verify`), one entry offline (`prove`, `check-proof`), or the published
//! heads from outside, without trusting the platform (`watch`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rempart_audit::{
    verify_entry, verify_head_consistency, ConsistencyProof, InclusionProof, KeyRing, SignedTreeHead,
    SignedTreeHeadJson,
};
use rempart_store::{audit, verify};
use serde::{Deserialize, Serialize};

use super::store_args::StoreArgs;

/// Exit status when the log (or a proof) does not verify.
pub const EXIT_TAMPERED: u8 = 5;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Recompute the whole log from the stored entries; name the first entry that was changed,
    /// removed, reordered or inserted.
    #[command(after_help = "Checks each entry's index and canonical form, its hash against the stored \
leaf, the leaves against the Merkle tree, every signed head's signature and root, and every decision row \
against the entry it points to. Trusts the keys given with --vkey, else the key file's and those \
recorded in the database. Prints the report as JSON on stdout and a summary on stderr.\n\n\
Exit status: 0 the log verifies; 5 it does not (the findings say where); 1 it could not be read.")]
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// A trusted signing key (signed-note vkey); repeatable.
        #[arg(long = "vkey", value_name = "VKEY")]
        vkeys: Vec<String>,
    },
    /// Print an inclusion proof of entry N against a signed head, to check offline with
    /// `rempart audit check-proof`.
    #[command(after_help = "Output (JSON): the entry's exact bytes, the inclusion proof, the signed head \
(C2SP checkpoint) and the log's public keys. If no signed head covers the entry yet, one is signed now \
(the key file is needed).\n\nExit status: 0 printed; 1 no such entry or no store.")]
    Prove {
        #[command(flatten)]
        store: StoreArgs,
        /// Leaf index of the entry.
        #[arg(long)]
        entry: u64,
    },
    /// Check a proof printed by `prove` (or served by GET /v1/decisions/{id}/proof), offline.
    #[command(after_help = "Recomputes the entry's leaf hash, the path to the head's root and the \
head's signature. Trust comes from --vkey (the platform's published key, obtained independently); \
without it the keys inside the file are used and the output says so.\n\n\
Exit status: 0 the entry is in the signed log; 5 it is not (the reason is printed); 1 unreadable file.")]
    CheckProof {
        /// The proof file (`-` for stdin).
        file: String,
        #[arg(long = "vkey", value_name = "VKEY")]
        vkeys: Vec<String>,
    },
    /// Watch a marketplace's published log as an outside witness: check every new signed head
    /// and its consistency with the last one seen; alert when history was rewritten.
    #[command(after_help = "Fetches URL/v1/audit/head, checks its signature against the trusted keys, \
asks URL/v1/audit/consistency for the proof that it extends the last head seen (kept in --state), and \
checks it. Prints one JSON line per head checked. A head that does not extend the last one (a rewrite, a \
fork, a rollback) prints an `alert` line and stops. The first run needs the platform's key: --vkey, or \
--trust-on-first-use to take the one it publishes at URL/v1/audit/keys.\n\n\
Exit status: 0 (with --once) checked; 5 history was rewritten or a head is forged; 1 cannot reach or read.")]
    Watch {
        /// The service's base URL (http://host:port).
        url: String,
        /// Where the last verified head and the trusted keys are kept between runs.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long = "vkey", value_name = "VKEY")]
        vkeys: Vec<String>,
        /// Take the keys the service publishes when the state file has none.
        #[arg(long)]
        trust_on_first_use: bool,
        /// Seconds between checks.
        #[arg(long, default_value_t = 30)]
        interval: u64,
        /// Check once and exit.
        #[arg(long)]
        once: bool,
    },
}

pub fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Verify { store, vkeys } => verify_db(&store, &vkeys),
        Command::Prove { store, entry } => prove(&store, entry),
        Command::CheckProof { file, vkeys } => check_proof(&file, &vkeys),
        Command::Watch { url, state, vkeys, trust_on_first_use, interval, once } => {
            watch(&url, &state, &vkeys, trust_on_first_use, Duration::from_secs(interval.max(1)), once)
        }
    }
}

fn ring(vkeys: &[String]) -> Result<KeyRing> {
    KeyRing::from_vkeys(&vkeys.join("\n")).context("--vkey")
}

fn verify_db(store_args: &StoreArgs, vkeys: &[String]) -> Result<u8> {
    let store = store_args.open()?;
    let trusted = if vkeys.is_empty() {
        let mut keys: Vec<String> = store.read(audit::vkeys)?;
        if let Ok(kf) = store_args.keyfile() {
            keys.push(kf.signer()?.verifier().to_vkey());
        }
        keys.sort();
        keys.dedup();
        ring(&keys)?
    } else {
        ring(vkeys)?
    };
    let bar = crate::progress::items(0, "verify");
    let report = store.read(|tx| {
        verify::verify(tx, &trusted, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
    })?;
    bar.finish_and_clear();
    println!("{}", serde_json::to_string(&report)?);
    if report.ok() {
        eprintln!(
            "rempart: the audit log verifies: {} entries, {} signed heads, {} decisions; root {}",
            report.entries,
            report.heads_checked,
            report.decisions_checked,
            report.root.as_deref().unwrap_or("-")
        );
        Ok(crate::EXIT_OK)
    } else {
        eprintln!("rempart: THE AUDIT LOG DOES NOT VERIFY ({} finding(s))", report.findings.len());
        if let Some(first) = report.first_bad_entry() {
            eprintln!("rempart: first entry at fault: {first}");
        }
        for f in report.findings.iter().take(20) {
            eprintln!("  - {}", f.describe());
        }
        Ok(EXIT_TAMPERED)
    }
}

/// What `prove` prints and `check-proof` reads.
#[derive(Serialize, Deserialize)]
pub struct ProofFile {
    /// The entry's exact bytes.
    pub entry: String,
    pub inclusion: InclusionProof,
    pub head: SignedTreeHeadJson,
    /// The log's public keys as the platform published them.
    #[serde(default)]
    pub vkeys: Vec<String>,
}

fn prove(store_args: &StoreArgs, index: u64) -> Result<u8> {
    let store = store_args.open()?;
    let covering = store.read(audit::latest_head)?.filter(|h| h.size > index);
    if covering.is_none() {
        let signer = store_args.keyfile()?.signer()?;
        store.write(|tx| audit::sign_head(tx, &signer, false))?;
    }
    let file = store.read(|tx| {
        let head = audit::latest_head(tx)?
            .filter(|h| h.size > index)
            .ok_or_else(|| rempart_store::StoreError::NotFound(format!("audit entry {index}")))?;
        let inclusion = audit::inclusion(tx, index, head.size)?;
        let entry = String::from_utf8_lossy(&audit::entry(tx, index)?).into_owned();
        Ok(ProofFile { entry, inclusion, head: head.signed.to_json(), vkeys: audit::vkeys(tx)? })
    })?;
    println!("{}", serde_json::to_string_pretty(&file)?);
    Ok(crate::EXIT_OK)
}

fn check_proof(path: &str, vkeys: &[String]) -> Result<u8> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
    };
    let file: ProofFile = serde_json::from_str(&text).with_context(|| format!("{path}: not a proof file"))?;
    let (trusted, source) = if vkeys.is_empty() {
        (ring(&file.vkeys)?, "the keys inside the file (pass --vkey to trust an independently obtained key)")
    } else {
        (ring(vkeys)?, "the keys given with --vkey")
    };
    let head = file.head.to_signed().context("the head")?;
    match verify_entry(file.entry.as_bytes(), &file.inclusion, &head, &trusted) {
        Ok(v) => {
            println!(
                "{}",
                serde_json::json!({"verified": true, "leaf_index": v.leaf_index, "tree_size": v.head.size,
                    "signed_by": v.signed_by.id_hex(), "trusted": source})
            );
            eprintln!(
                "rempart: entry {} is in the log of {} entries signed by key {} (trusting {source})",
                v.leaf_index,
                v.head.size,
                v.signed_by.id_hex()
            );
            Ok(crate::EXIT_OK)
        }
        Err(e) => {
            println!("{}", serde_json::json!({"verified": false, "error": e.to_string()}));
            eprintln!("rempart: THE PROOF DOES NOT VERIFY: {e}");
            Ok(EXIT_TAMPERED)
        }
    }
}

/// What a witness remembers.
#[derive(Serialize, Deserialize, Default)]
struct WatchState {
    url: String,
    vkeys: Vec<String>,
    last: Option<String>,
}

fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T> {
    let mut response = ureq::get(url).call().with_context(|| format!("GET {url}"))?;
    let body = response.body_mut().read_to_string().with_context(|| format!("GET {url}: reading"))?;
    serde_json::from_str(&body).with_context(|| format!("GET {url}: not the expected JSON"))
}

fn save_state(path: &std::path::Path, state: &WatchState) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(serde_json::to_string_pretty(state)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn emit(event: serde_json::Value) {
    println!("{event}");
    let _ = std::io::stdout().flush();
}

fn watch(
    url: &str,
    state_path: &std::path::Path,
    vkeys: &[String],
    tofu: bool,
    every: Duration,
    once: bool,
) -> Result<u8> {
    let base = url.trim_end_matches('/').to_string();
    let mut state: WatchState = match std::fs::read_to_string(state_path) {
        Ok(t) => serde_json::from_str(&t).with_context(|| format!("{}: not a watch state", state_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => WatchState { url: base.clone(), ..WatchState::default() },
        Err(e) => return Err(e).with_context(|| format!("reading {}", state_path.display())),
    };
    if !vkeys.is_empty() {
        state.vkeys = vkeys.to_vec();
    }
    if state.vkeys.is_empty() {
        if !tofu {
            bail!("no trusted key: pass --vkey (the platform's published log key) or --trust-on-first-use");
        }
        state.vkeys = get_json(&format!("{base}/v1/audit/keys"))?;
        emit(serde_json::json!({"event": "trusted_keys", "vkeys": state.vkeys, "how": "trust on first use"}));
    }
    let trusted = ring(&state.vkeys)?;
    loop {
        let json: SignedTreeHeadJson = get_json(&format!("{base}/v1/audit/head"))?;
        let new = match json.to_signed().and_then(|h| h.verify(&trusted).map(|_| h)) {
            Ok(h) => h,
            Err(e) => {
                emit(
                    serde_json::json!({"event": "alert", "reason": format!("the published head does not verify: {e}")}),
                );
                return Ok(EXIT_TAMPERED);
            }
        };
        let size = new.head().size;
        let verdict = match &state.last {
            None => Ok("first head seen".to_string()),
            Some(text) => {
                let old = SignedTreeHead::parse(text).context("the state's last head")?;
                let (from, to) = (old.head().size, size);
                let proof = if from == 0 || from >= to {
                    ConsistencyProof { old_size: from, new_size: to, hashes: Vec::new() }
                } else {
                    get_json(&format!("{base}/v1/audit/consistency?from={from}&to={to}"))?
                };
                verify_head_consistency(old.head(), new.head(), &proof)
                    .map(|()| format!("consistent with the head of size {from}"))
                    .map_err(|e| e.to_string())
            }
        };
        match verdict {
            Ok(how) => {
                emit(serde_json::json!({"event": "head", "size": size, "root": new.head().root.to_hex(),
                    "timestamp_ms": new.head().timestamp_ms, "verified": how}));
                state.last = Some(new.checkpoint().to_string());
                state.url = base.clone();
                save_state(state_path, &state)?;
            }
            Err(why) => {
                emit(serde_json::json!({"event": "alert", "size": size,
                    "reason": format!("HISTORY REWRITTEN: the new head does not extend the last one seen: {why}")}));
                return Ok(EXIT_TAMPERED);
            }
        }
        if once {
            return Ok(crate::EXIT_OK);
        }
        std::thread::sleep(every);
    }
}
