//! The seller's standing as external signals (DESIGN.md: "seller risk" is
//! a signal at the I/O edge): the store knows who is suspended, who has
//! strikes, whose trader record is missing or unverified; the pack's
//! `repeat_offenders` and `trader_traceability` policies decide what that
//! means for a listing. No rule lives here, only the facts:
//!
//! - `seller_suspended`: a suspension is in force (evidence: its id, end
//!   and strikes);
//! - `seller_prior_strikes`: the seller has strikes in the window — fired
//!   only for a listing the gate would otherwise publish under a
//!   condition (`restrict`), which is what makes it borderline;
//! - `trader_record_missing` / `trader_record_unverified`: a trader (the
//!   listing says so, a record exists, or the pack says every seller is
//!   one) without a verified Art. 30 record (evidence: what is lacking).

use std::collections::HashMap;

use rempart_core::{Evidence, ExternalSignals, Gate, Listing};
use rempart_store::sellers::{self, Standing};
use rempart_store::{StoreError, Tx};

pub const SUSPENDED: &str = "seller_suspended";
pub const PRIOR_STRIKES: &str = "seller_prior_strikes";
pub const TRADER_MISSING: &str = "trader_record_missing";
pub const TRADER_UNVERIFIED: &str = "trader_record_unverified";
const SIGNALS: [&str; 4] = [SUSPENDED, PRIOR_STRIKES, TRADER_MISSING, TRADER_UNVERIFIED];

/// The standing of the sellers of a batch of listings.
#[derive(Clone, Debug, Default)]
pub struct SellerFacts {
    standings: HashMap<String, Standing>,
    all_sellers_are_traders: bool,
    window_days: u32,
}

/// Does the pack name any of the seller signals? (Else nothing is read.)
pub fn wanted(gate: &Gate) -> bool {
    gate.pack().external_signals.iter().any(|s| SIGNALS.contains(&s.as_str()))
}

fn seller_id(listing: &Listing) -> Option<&str> {
    listing.seller.as_ref().and_then(|s| s.id.as_deref()).filter(|s| !s.is_empty())
}

/// The listing says its seller is a business.
fn declared_trader(listing: &Listing) -> bool {
    listing.seller.as_ref().is_some_and(|s| {
        ["type", "account_type"].iter().filter_map(|k| s.extra.get(*k)?.as_str()).any(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "business" | "trader" | "professional" | "pro" | "company" | "account_type_business"
            )
        })
    })
}

/// Reads the standing of the sellers of `listings`.
pub fn read(tx: &mut Tx<'_>, gate: &Gate, listings: &[Listing]) -> Result<SellerFacts, StoreError> {
    let procedures = &gate.pack().procedures;
    let mut ids: Vec<String> = listings.iter().filter_map(seller_id).map(String::from).collect();
    ids.sort();
    ids.dedup();
    Ok(SellerFacts {
        standings: sellers::standings(tx, &ids, procedures.repeat_offenders.window_days)?,
        all_sellers_are_traders: procedures.all_sellers_are_traders,
        window_days: procedures.repeat_offenders.window_days,
    })
}

fn evidence(listing: &Listing, signal: &str, detail: String) -> Evidence {
    let text = seller_id(listing).unwrap_or_default().to_string();
    Evidence { field: "seller.id".into(), start: 0, end: text.len(), text, signal: signal.into(), detail: Some(detail) }
}

impl SellerFacts {
    /// Fires the suspension and trader signals for `listing`.
    pub fn fire(&self, listing: &Listing, external: &mut ExternalSignals) {
        let standing = seller_id(listing).and_then(|s| self.standings.get(s));
        if let Some(m) = standing.and_then(|s| s.suspension.as_ref()) {
            let detail = format!(
                "suspension {} until {} ({} strike(s), DSA Art. 23)",
                m.measure_id,
                m.ends_at.as_deref().unwrap_or("?"),
                m.strikes.len()
            );
            external.fire(SUSPENDED, vec![evidence(listing, SUSPENDED, detail)]);
        }
        let trader =
            declared_trader(listing) || self.all_sellers_are_traders || standing.is_some_and(|s| s.trader.is_some());
        if !trader {
            return;
        }
        match (seller_id(listing), standing.and_then(|s| s.trader.as_ref())) {
            (None, _) => external.fire(
                TRADER_MISSING,
                vec![evidence(listing, TRADER_MISSING, "the listing names no seller (seller.id)".into())],
            ),
            (Some(id), None) => external.fire(
                TRADER_MISSING,
                vec![evidence(listing, TRADER_MISSING, format!("seller {id} has no trader record (DSA Art. 30(1))"))],
            ),
            (Some(_), Some(t)) if t.status != "verified" => {
                let detail = format!("trader record {}: lacking {}", t.status, t.lacking.join(", "));
                external.fire(TRADER_UNVERIFIED, vec![evidence(listing, TRADER_UNVERIFIED, detail)]);
            }
            _ => {}
        }
    }

    /// Fires `seller_prior_strikes` when the seller has strikes in the
    /// window; the caller does so only for a borderline listing. Returns
    /// whether it fired.
    pub fn fire_prior_strikes(&self, listing: &Listing, external: &mut ExternalSignals) -> bool {
        let Some(n) = seller_id(listing).and_then(|s| self.standings.get(s)).map(|s| s.strikes_in_window) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        let detail = format!("{n} block(s) confirmed by a person in the last {} days", self.window_days);
        external.fire(PRIOR_STRIKES, vec![evidence(listing, PRIOR_STRIKES, detail)]);
        true
    }
}
