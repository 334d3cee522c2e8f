//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature
//! lines `— <key name> base64(key id || signature)`. The key id is the
//! first four bytes of `SHA-256(name || "\n" || 0x01 || public key)`. This
//! is the format of Go's `golang.org/x/mod/sumdb/note` and of transparency
//! log checkpoints, so heads we sign can be checked by standard tooling
//! and co-signed by witnesses (their signatures are further lines).
//!
//! Keys travel as text: the public *vkey* `<name>+<key id hex>+base64(0x01
//! || public key)`, and the secret *skey* `PRIVATE+KEY+<name>+<key id
//! hex>+base64(0x01 || seed)` (Go's `note.NewSigner` format).
//!
//! Verification follows the spec: signatures from unknown keys are ignored
//! (that is what lets keys rotate and witnesses co-sign), a signature from a
//! known key must verify or the whole note is rejected, and at least one
//! known key must have signed.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// Signature type byte of Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Most signature lines a note may carry (Go's limit; the spec asks for at
/// least 16).
pub const MAX_SIGNATURES: usize = 100;

const SIGNATURE_PREFIX: &str = "\u{2014} ";
const SKEY_PREFIX: &str = "PRIVATE+KEY+";

/// The name and 32-bit id that identify a key in signature lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    /// Key name (for our log, its origin).
    pub name: String,
    /// `SHA-256(name || "\n" || 0x01 || public key)[..4]`, big-endian.
    pub id: u32,
}

impl KeyId {
    /// The id as 8 lowercase hex digits, as in vkeys.
    pub fn id_hex(&self) -> String {
        format!("{:08x}", self.id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{:08x}", self.name, self.id)
    }
}

/// A key string that is not a valid Ed25519 note key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Key names must be non-empty and free of spaces, `+` and control characters.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters")]
    InvalidName(String),
    /// The text is not of the form the format requires.
    #[error("malformed {kind}: expected {expected}")]
    Malformed {
        /// "vkey" or "skey".
        kind: &'static str,
        /// The shape it should have.
        expected: &'static str,
    },
    /// A signature type other than Ed25519 (0x01).
    #[error("unsupported signature type 0x{0:02x}: only Ed25519 (0x01) is supported")]
    UnsupportedAlgorithm(u8),
    /// The key id in the text is not the one the name and key give.
    #[error("key id {claimed:08x} does not match the name and key (computed {computed:08x})")]
    KeyIdMismatch {
        /// Id in the text.
        claimed: u32,
        /// Id computed from name and public key.
        computed: u32,
    },
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
}

/// A note that cannot be signed, parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note breaks the signed-note syntax; the reason says where.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("the note has {0} signatures, more than the {MAX_SIGNATURES} accepted")]
    TooManySignatures(usize),
    /// Two trusted keys share a name and key id: the signer is ambiguous.
    #[error("ambiguous key {0}: two trusted keys share this name and id")]
    AmbiguousKey(KeyId),
    /// A trusted key's signature does not verify: the note was altered or
    /// forged.
    #[error("invalid signature for key {0}")]
    InvalidSignature(KeyId),
    /// No signature is from a trusted key.
    #[error("no signature from a trusted key (signed by: {})", list_keys(.0))]
    NoTrustedSignature(Vec<KeyId>),
}

fn list_keys(keys: &[KeyId]) -> String {
    if keys.is_empty() {
        return "none".into();
    }
    keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Whether `name` may be a key name: non-empty, no Unicode white space, no
/// `+` (the vkey separator), no control characters.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn checked_name(name: &str) -> Result<String, KeyError> {
    if is_valid_key_name(name) {
        Ok(name.to_owned())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

/// Decodes `base64(0x01 || 32 bytes)`, the key material of vkeys and skeys.
fn decode_key_material(text: &str, kind: &'static str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let malformed = KeyError::Malformed { kind, expected: "base64 of 0x01 followed by 32 key bytes" };
    let bytes = Zeroizing::new(BASE64.decode(text).map_err(|_| malformed.clone())?);
    match bytes.split_first() {
        Some((&ALG_ED25519, key)) => {
            let mut out = Zeroizing::new([0u8; 32]);
            if key.len() != 32 {
                return Err(malformed);
            }
            out.copy_from_slice(key);
            Ok(out)
        }
        Some((&other, _)) => Err(KeyError::UnsupportedAlgorithm(other)),
        None => Err(malformed),
    }
}

/// Splits `<name>+<key id hex>+<base64(0x01 || key)>` (the key material's
/// base64 may itself contain `+`).
fn split_key_text<'a>(
    text: &'a str,
    kind: &'static str,
    expected: &'static str,
) -> Result<(&'a str, u32, Zeroizing<[u8; 32]>), KeyError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Malformed { kind, expected });
    };
    Ok((name, parse_key_id_hex(id_hex, kind)?, decode_key_material(material, kind)?))
}

fn parse_key_id_hex(text: &str, kind: &'static str) -> Result<u32, KeyError> {
    let malformed = KeyError::Malformed { kind, expected: "an 8-digit hex key id" };
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed);
    }
    u32::from_str_radix(text, 16).map_err(|_| malformed)
}

/// A secret Ed25519 note key. The store keeps it (as [`NoteSigner::to_skey`]
/// text or the raw seed); everything else only ever needs the
/// [`NoteVerifier`].
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("NoteSigner").field("key", &self.key_id().to_string()).finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A key from a 32-byte Ed25519 seed. Draw the seed from a CSPRNG
    /// (e.g. `getrandom`); this crate does no I/O and takes no RNG.
    ///
    /// ```
    /// use rempart_audit::NoteSigner;
    ///
    /// let signer = NoteSigner::from_seed("log.example/rempart", [7; 32])?;
    /// let vkey = signer.verifier().to_vkey();
    /// assert!(vkey.starts_with("log.example/rempart+"));
    /// # Ok::<(), rempart_audit::KeyError>(())
    /// ```
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        let seed = Zeroizing::new(seed);
        let name = checked_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(&name, key.verifying_key().as_bytes());
        Ok(NoteSigner { name, id, key })
    }

    /// Parses Go's secret key text `PRIVATE+KEY+<name>+<id>+<base64>`.
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        const EXPECTED: &str = "PRIVATE+KEY+<name>+<8 hex digits>+<base64(0x01 || seed)>";
        let rest = skey.strip_prefix(SKEY_PREFIX).ok_or(KeyError::Malformed { kind: "skey", expected: EXPECTED })?;
        let (name, claimed, seed) = split_key_text(rest, "skey", EXPECTED)?;
        let signer = NoteSigner::from_seed(name, *seed)?;
        if signer.id != claimed {
            return Err(KeyError::KeyIdMismatch { claimed, computed: signer.id });
        }
        Ok(signer)
    }

    /// The secret key as Go's `note.NewSigner` text; wipe it after use.
    pub fn to_skey(&self) -> Zeroizing<String> {
        let mut material = Zeroizing::new(Vec::with_capacity(33));
        material.push(ALG_ED25519);
        material.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!("{SKEY_PREFIX}{}+{:08x}+{}", self.name, self.id, BASE64.encode(&*material)))
    }

    /// Key name and id.
    pub fn key_id(&self) -> KeyId {
        KeyId { name: self.name.clone(), id: self.id }
    }

    /// The public half.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), id: self.id, key: self.key.verifying_key() }
    }

    /// The signature line for `text` (which must already be valid note text).
    fn signature_line(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, BASE64.encode(blob))
    }
}

/// A public Ed25519 note key: verifies signatures of one [`NoteSigner`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier from a key name and a raw 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, KeyError> {
        let name = checked_name(name)?;
        let key = VerifyingKey::from_bytes(&public_key).map_err(|_| KeyError::InvalidPublicKey)?;
        Ok(NoteVerifier { id: key_id(&name, &public_key), name, key })
    }

    /// Parses a vkey `<name>+<8 hex digits>+<base64(0x01 || public key)>`,
    /// checking that the id matches the name and key.
    pub fn from_vkey(vkey: &str) -> Result<Self, KeyError> {
        let (name, claimed, public_key) = split_key_text(vkey, "vkey", "<name>+<8 hex digits>+<base64(0x01 || key)>")?;
        let verifier = NoteVerifier::new(name, *public_key)?;
        if verifier.id != claimed {
            return Err(KeyError::KeyIdMismatch { claimed, computed: verifier.id });
        }
        Ok(verifier)
    }

    /// The vkey text to publish (README, `/v1/audit/keys`, auditors' config).
    pub fn to_vkey(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(ALG_ED25519);
        material.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(material))
    }

    /// Key name and id.
    pub fn key_id(&self) -> KeyId {
        KeyId { name: self.name.clone(), id: self.id }
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        // Strict: refuses non-canonical and small-order encodings, so a
        // signature has one valid form.
        self.key.verify_strict(text.as_bytes(), &signature).is_ok()
    }
}

impl FromStr for NoteVerifier {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoteVerifier::from_vkey(s)
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

/// The keys a verifier trusts: the log's current key and its past ones
/// (heads signed before a rotation stay verifiable), and witnesses'.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: Vec<NoteVerifier>,
}

impl KeyRing {
    /// No trusted key.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Adds a trusted key.
    pub fn push(&mut self, key: NoteVerifier) {
        self.keys.push(key);
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[NoteVerifier] {
        &self.keys
    }

    /// Parses one vkey per line (blank lines and `#` comments skipped).
    pub fn from_vkeys(text: &str) -> Result<Self, KeyError> {
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(NoteVerifier::from_vkey)
            .collect::<Result<_, _>>()?;
        Ok(KeyRing { keys })
    }

    /// The trusted key with this name and id, if exactly one.
    fn find(&self, name: &str, id: u32) -> Result<Option<&NoteVerifier>, NoteError> {
        let mut matching = self.keys.iter().filter(|k| k.id == id && k.name == name);
        let first = matching.next();
        if matching.next().is_some() {
            return Err(NoteError::AmbiguousKey(KeyId { name: name.to_owned(), id }));
        }
        Ok(first)
    }
}

impl FromIterator<NoteVerifier> for KeyRing {
    fn from_iter<I: IntoIterator<Item = NoteVerifier>>(iter: I) -> Self {
        KeyRing { keys: iter.into_iter().collect() }
    }
}

/// One signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Who claims to have signed.
    pub key: KeyId,
    /// The signature bytes after the 4-byte key id (64 for Ed25519).
    pub signature: Vec<u8>,
}

/// A note split into text and signature lines, nothing verified yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, final newline included.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// A note whose signatures were checked against a [`KeyRing`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// Trusted keys whose signatures verified, in line order, each once.
    pub verified: Vec<KeyId>,
    /// Signatures from keys not in the ring (ignored, as the spec
    /// requires), each distinct line once.
    pub unverified: Vec<NoteSignature>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must end with a newline".into()));
    }
    if let Some(c) = text.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed(format!("control character U+{:04X} in the text", u32::from(c))));
    }
    Ok(())
}

/// Signs `text` (ending in a newline, no control characters but newlines)
/// with each signer; returns the whole note.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::Malformed("a note needs at least one signature".into()));
    }
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 128);
    note.push_str(text);
    note.push('\n');
    for signer in signers {
        note.push_str(&signer.signature_line(text));
    }
    Ok(note)
}

/// Splits a note into text and signature lines, checking the syntax only.
pub fn parse_note(note: &str) -> Result<Note, NoteError> {
    check_text(note)?;
    let split = note.rfind("\n\n").ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    let (text, signature_block) = (&note[..=split], &note[split + 2..]);
    let lines: Vec<&str> = signature_block.split_terminator('\n').collect();
    if lines.is_empty() {
        return Err(NoteError::Malformed("no signature lines".into()));
    }
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures(lines.len()));
    }
    let signatures =
        lines.iter().enumerate().map(|(i, line)| parse_signature_line(i + 1, line)).collect::<Result<_, _>>()?;
    Ok(Note { text: text.to_owned(), signatures })
}

fn parse_signature_line(number: usize, line: &str) -> Result<NoteSignature, NoteError> {
    let malformed = |why: &str| NoteError::Malformed(format!("signature line {number}: {why}"));
    let rest =
        line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| malformed("does not start with an em dash and a space"))?;
    let (name, blob) = rest.split_once(' ').ok_or_else(|| malformed("expected '<key name> <base64 signature>'"))?;
    if !is_valid_key_name(name) {
        return Err(malformed("invalid key name"));
    }
    let bytes = BASE64.decode(blob).map_err(|_| malformed("signature is not canonical base64"))?;
    if bytes.len() < 5 {
        return Err(malformed("signature shorter than a key id and one byte"));
    }
    let (id, signature) = bytes.split_at(4);
    let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    Ok(NoteSignature { key: KeyId { name: name.to_owned(), id }, signature: signature.to_vec() })
}

/// Parses `note` and checks its signatures against `keys`: every signature
/// from a trusted key must verify and at least one must be present.
///
/// ```
/// use rempart_audit::{open_note, sign_note, KeyRing, NoteSigner};
///
/// let signer = NoteSigner::from_seed("log.example/rempart", [1; 32])?;
/// let note = sign_note("hello\n", &[&signer])?;
/// let keys: KeyRing = [signer.verifier()].into_iter().collect();
/// let opened = open_note(&note, &keys)?;
/// assert_eq!(opened.verified, vec![signer.key_id()]);
///
/// let forged = note.replace("hello", "HELLO");
/// assert!(open_note(&forged, &keys).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_note(note: &str, keys: &KeyRing) -> Result<OpenedNote, NoteError> {
    let Note { text, signatures } = parse_note(note)?;
    let mut verified: Vec<KeyId> = Vec::new();
    let mut unverified = Vec::new();
    for signature in signatures {
        match keys.find(&signature.key.name, signature.key.id)? {
            Some(key) => {
                if !key.verifies(&text, &signature.signature) {
                    return Err(NoteError::InvalidSignature(signature.key));
                }
                if !verified.contains(&signature.key) {
                    verified.push(signature.key);
                }
            }
            None if unverified.contains(&signature) => {}
            None => unverified.push(signature),
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoTrustedSignature(unverified.into_iter().map(|s| s.key).collect()));
    }
    Ok(OpenedNote { text, verified, unverified })
}
