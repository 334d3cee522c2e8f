//! Who is calling: the API key in `Authorization: Bearer rk_…` (or
//! `X-Api-Key`), its role, and its rate limit.
//!
//! Keys are few and read on every request, so the server keeps them in
//! memory and reloads them from the store when they change (and every few
//! seconds, so a key revoked by another process stops working quickly).
//! Secrets are never logged; a failed attempt logs the key id only.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rempart_store::keys::{self, ApiKey, Role};

use crate::error::ApiError;
use crate::state::App;

/// The keys, as last loaded.
pub struct KeyCache {
    pepper: [u8; 32],
    keys: RwLock<HashMap<String, ApiKey>>,
    limiters: Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
    default_rate_per_minute: u32,
}

impl KeyCache {
    pub fn new(pepper: [u8; 32], default_rate_per_minute: u32) -> KeyCache {
        KeyCache {
            pepper,
            keys: RwLock::new(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
            default_rate_per_minute,
        }
    }

    pub fn replace(&self, all: Vec<ApiKey>) {
        let map = all.into_iter().map(|k| (k.key_id.clone(), k)).collect();
        if let Ok(mut keys) = self.keys.write() {
            *keys = map;
        }
    }

    /// A key by id, as last loaded.
    pub fn get(&self, key_id: &str) -> Option<ApiKey> {
        self.keys.read().ok()?.get(key_id).cloned()
    }

    pub fn pepper(&self) -> &[u8; 32] {
        &self.pepper
    }

    /// Whether a key id is known; an unknown one may have been created by
    /// another process since the last reload.
    fn knows(&self, id: &str) -> bool {
        self.keys.read().is_ok_and(|k| k.contains_key(id))
    }

    fn insert(&self, key: ApiKey) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(key.key_id.clone(), key);
        }
    }

    fn authenticate(&self, presented: &str) -> Option<ApiKey> {
        let id = keys::key_id_of(presented)?;
        let keys = self.keys.read().ok()?;
        let key = keys.get(id)?;
        if keys::matches(key, presented, &self.pepper) {
            Some(key.clone())
        } else {
            tracing::warn!(key_id = id, "rejected API key (wrong secret or revoked)");
            None
        }
    }

    /// `Ok` or the seconds to wait.
    fn check_rate(&self, key: &ApiKey) -> Result<(), u64> {
        let per_minute = key.rate_per_minute.unwrap_or(self.default_rate_per_minute);
        let Some(per_minute) = NonZeroU32::new(per_minute) else { return Ok(()) };
        let limiter = {
            let Ok(mut limiters) = self.limiters.lock() else { return Ok(()) };
            limiters
                .entry(key.key_id.clone())
                .or_insert_with(|| {
                    // A burst of a tenth of a minute's budget, at least 10.
                    let burst = NonZeroU32::new((per_minute.get() / 10).max(10)).unwrap_or(per_minute);
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)))
                })
                .clone()
        };
        limiter.check().map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1)
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
}

impl Caller {
    /// Refuses unless the caller holds one of `roles` (admin holds all).
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "a {} key cannot do this (needs: {})",
                self.role.as_str(),
                names.join(" or ")
            )))
        }
    }
}

fn presented(parts: &Parts) -> Option<&str> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = v.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Caller, ApiError> {
        let token = presented(parts).ok_or_else(ApiError::unauthorized)?;
        if let Some(id) = keys::key_id_of(token).filter(|id| !app.keys.knows(id)) {
            // A key created by `rempart keys create` (or another server)
            // since the last reload: one indexed read, then cached.
            let id = id.to_string();
            if let Ok(key) = app.read(move |tx| keys::get(tx, &id)).await {
                app.keys.insert(key);
            }
        }
        let key = app.keys.authenticate(token).ok_or_else(ApiError::unauthorized)?;
        app.keys.check_rate(&key).map_err(ApiError::too_many)?;
        Ok(Caller { key_id: key.key_id, role: key.role })
    }
}
