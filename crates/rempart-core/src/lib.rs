//! The pure screening pipeline of rempart.
//!
//! A listing goes through **normalise** ([`normalize`]) → **extract**
//! ([`extract`]) → **signals** (term sets matched by [`matcher`], stated
//! quantities, external signals) → **policy** ([`policy`]) → **decision**
//! ([`decision`]). Nothing here does I/O except reading a policy folder
//! on request; the compiled [`Gate`] is immutable and `Send + Sync`.
//!
//! ```
//! use rempart_core::{Action, Gate, Listing};
//!
//! let gate = Gate::with_default_pack()?;
//! let mut listing = Listing::new("L-7", "Silicone doll");
//! listing.attributes.push(("height".into(), "3ft 2in".into()));
//! let decision = gate.screen(&listing);
//! println!("{}", serde_json::to_string(&decision)?);
//! assert!(decision.policy_version.starts_with("sha256:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod automaton;
mod bytescan;
pub mod decision;
pub mod eval;
pub mod extract;
pub mod gate;
pub mod language;
pub mod lexicon;
pub mod listing;
pub mod matcher;
pub mod normalize;
pub mod policy;
mod scratch;
mod word_boundary;

pub use decision::{
    Action, Condition, Decision, DecisionWriter, Downgrade, DowngradeReason, DsaGround, Evidence, RuleMatch,
    SignalError, DECISION_SCHEMA_VERSION, ENGINE_VERSION,
};
pub use gate::{ExternalSignals, Gate, SetsFound};
pub use listing::{InputError, Limits, Listing};
pub use policy::{Pack, PackError, Semantic};
