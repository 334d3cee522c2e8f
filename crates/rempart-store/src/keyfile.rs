//! The secrets of a deployment, kept beside the database and never in it:
//! the audit log's Ed25519 signing keys and the pepper API-key hashes are
//! keyed with. A database dump alone can neither forge a tree head nor
//! test guesses of an API key.
//!
//! The file is JSON, written once by `rempart init` with mode 0600 and
//! replaced atomically (write, fsync, rename) when a key is added.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rempart_audit::NoteSigner;
use serde::{Deserialize, Serialize};

use crate::StoreError;

const FORMAT: &str = "rempart-keys/1";

#[derive(Clone, Serialize, Deserialize)]
struct SigningKeyEntry {
    /// Key name in signed notes (the log's origin).
    name: String,
    /// 32-byte Ed25519 seed, hex.
    seed: String,
    created_at: i64,
    #[serde(default)]
    retired: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct FileForm {
    format: String,
    /// The log's origin line in checkpoints (e.g. `rempart.example/log`).
    origin: String,
    /// HMAC key for API secrets, hex.
    api_pepper: String,
    signing_keys: Vec<SigningKeyEntry>,
}

/// The loaded secrets.
pub struct KeyFile {
    path: PathBuf,
    form: FileForm,
}

fn key_error(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::KeyFile { path: path.display().to_string(), message: message.into() }
}

/// 32 random bytes from the operating system.
pub fn random_bytes() -> Result<[u8; 32], StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError::Backend(format!("no randomness from the OS: {e}")))?;
    Ok(b)
}

impl KeyFile {
    /// Creates a new key file with one signing key; refuses to overwrite.
    pub fn create(path: &Path, origin: &str) -> Result<KeyFile, StoreError> {
        if path.exists() {
            return Err(key_error(path, "already exists; refusing to replace the log's signing key"));
        }
        if !rempart_audit::is_valid_key_name(origin) {
            return Err(key_error(path, format!("`{origin}` is not a valid signed-note key name (no spaces or `+`)")));
        }
        let form = FileForm {
            format: FORMAT.into(),
            origin: origin.into(),
            api_pepper: hex::encode(random_bytes()?),
            signing_keys: vec![SigningKeyEntry {
                name: origin.into(),
                seed: hex::encode(random_bytes()?),
                created_at: crate::time::now_ms(),
                retired: false,
            }],
        };
        let file = KeyFile { path: path.to_path_buf(), form };
        file.signer()?; // the seed makes a key
        file.save(true)?;
        Ok(file)
    }

    pub fn load(path: &Path) -> Result<KeyFile, StoreError> {
        let text = fs::read_to_string(path).map_err(|e| key_error(path, e.to_string()))?;
        let form: FileForm = serde_json::from_str(&text).map_err(|e| key_error(path, e.to_string()))?;
        if form.format != FORMAT {
            return Err(key_error(path, format!("format `{}`, expected `{FORMAT}`", form.format)));
        }
        let file = KeyFile { path: path.to_path_buf(), form };
        file.signer()?;
        file.pepper()?;
        Ok(file)
    }

    fn save(&self, new: bool) -> Result<(), StoreError> {
        let text = serde_json::to_string_pretty(&self.form).map_err(|e| key_error(&self.path, e.to_string()))?;
        let tmp = self.path.with_extension("keys.tmp");
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let target = if new { &self.path } else { &tmp };
        if new {
            options.create_new(true);
        }
        let mut f = options.open(target).map_err(|e| key_error(target, e.to_string()))?;
        f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| key_error(target, e.to_string()))?;
        if !new {
            fs::rename(&tmp, &self.path).map_err(|e| key_error(&self.path, e.to_string()))?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn origin(&self) -> &str {
        &self.form.origin
    }

    /// The current signing key.
    pub fn signer(&self) -> Result<NoteSigner, StoreError> {
        let entry = self
            .form
            .signing_keys
            .iter()
            .rev()
            .find(|k| !k.retired)
            .ok_or_else(|| key_error(&self.path, "no active signing key"))?;
        let seed: [u8; 32] = hex::decode(&entry.seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| key_error(&self.path, "a signing key seed is not 32 bytes of hex"))?;
        NoteSigner::from_seed(&entry.name, seed).map_err(|e| key_error(&self.path, e.to_string()))
    }

    /// Adds a new signing key and retires the others (key rotation).
    /// Returns the new signer.
    pub fn rotate(&mut self) -> Result<NoteSigner, StoreError> {
        for k in &mut self.form.signing_keys {
            k.retired = true;
        }
        self.form.signing_keys.push(SigningKeyEntry {
            name: self.form.origin.clone(),
            seed: hex::encode(random_bytes()?),
            created_at: crate::time::now_ms(),
            retired: false,
        });
        self.save(false)?;
        self.signer()
    }

    /// The HMAC key API secrets are hashed with.
    pub fn pepper(&self) -> Result<[u8; 32], StoreError> {
        hex::decode(&self.form.api_pepper)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| key_error(&self.path, "api_pepper is not 32 bytes of hex"))
    }
}
