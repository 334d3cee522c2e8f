//! Delivers notice outcomes to the configured webhook: each queued
//! delivery (`notices::answer` queues one per notice, in the outcome's
//! transaction) is POSTed as JSON, signed, and retried with exponential
//! backoff until the receiver answers 2xx or the attempts run out. Every
//! attempt is recorded on the delivery (`GET /v1/notices/{id}` shows it).
//!
//! The signature lets the receiver check that rempart sent the body and
//! when (Stripe-style, so receivers have libraries for it):
//!
//! ```text
//! Rempart-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! Rempart-Delivery: <delivery id>
//! ```

use std::time::Duration;

use hmac::{Hmac, Mac};
use rempart_store::notices::{self, Attempt, Delivery};
use rempart_store::time;
use sha2::Sha256;

use crate::state::{App, Retries};

/// `t=…,v1=…` for `body` sent at `unix` seconds.
pub fn signature(secret: &[u8], unix: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// When the next attempt is due after `attempts` failed ones, or `None`
/// when none is left.
pub fn next_attempt(r: &Retries, attempts: u64, now: i64) -> Option<i64> {
    if attempts >= u64::from(r.max_attempts) {
        return None;
    }
    let factor = 1u32.checked_shl(u32::try_from(attempts.saturating_sub(1)).unwrap_or(31)).unwrap_or(u32::MAX);
    let delay = r.first_retry.saturating_mul(factor).min(r.max_delay);
    Some(now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2))
}

fn send(agent: &ureq::Agent, secret: &[u8], d: &Delivery) -> Result<u16, String> {
    let unix = time::now_ms() / 1000;
    let response = agent
        .post(&d.url)
        .header("content-type", "application/json")
        .header("rempart-signature", &signature(secret, unix, &d.payload))
        .header("rempart-delivery", &d.delivery_id)
        .send(&d.payload[..])
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

/// Attempts the due deliveries once; returns how many were attempted.
pub async fn tick(app: &App, agent: &ureq::Agent) -> usize {
    let Some(hook) = app.people.webhook.clone() else { return 0 };
    let due = match app.read(|tx| notices::due(tx, time::now_ms(), 50)).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("webhook deliveries: {}", e.message);
            return 0;
        }
    };
    let n = due.len();
    for d in due {
        let (agent, secret, delivery) = (agent.clone(), hook.secret.clone(), d.clone());
        let sent = tokio::task::spawn_blocking(move || send(&agent, &secret, &delivery))
            .await
            .unwrap_or_else(|e| Err(format!("the delivery task failed: {e}")));
        let attempts = d.attempts + 1;
        let attempt = match sent {
            Ok(status) if (200..300).contains(&status) => Attempt::Delivered { status },
            Ok(status) => Attempt::Failed {
                status: Some(status),
                error: format!("the receiver answered HTTP {status}"),
                retry_at: next_attempt(&app.people.retries, attempts, time::now_ms()),
            },
            Err(error) => Attempt::Failed {
                status: None,
                error,
                retry_at: next_attempt(&app.people.retries, attempts, time::now_ms()),
            },
        };
        if let Attempt::Failed { error, retry_at: None, .. } = &attempt {
            tracing::warn!(delivery_id = %d.delivery_id, notice_id = %d.notice_id, "webhook delivery failed for good: {error}");
        }
        let id = d.delivery_id.clone();
        if let Err(e) = app.write(move |tx| notices::attempted(tx, &id, &attempt)).await {
            tracing::warn!(delivery_id = %d.delivery_id, "recording a webhook attempt: {}", e.message);
        }
    }
    n
}

/// Runs deliveries until the task is aborted (at shutdown).
pub async fn run(app: App) {
    if app.people.webhook.is_none() {
        return;
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(app.people.retries.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut interval = tokio::time::interval(app.people.retries.poll.max(Duration::from_millis(10)));
    loop {
        interval.tick().await;
        tick(&app, &agent).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_stops() {
        let r = Retries {
            first_retry: Duration::from_secs(30),
            max_delay: Duration::from_secs(100),
            max_attempts: 4,
            ..Retries::default()
        };
        let delays: Vec<Option<i64>> = (1..=4).map(|a| next_attempt(&r, a, 0)).collect();
        assert_eq!(delays, [Some(30_000), Some(60_000), Some(100_000), None]);
    }

    /// HMAC by its definition (RFC 2104) over SHA-256, as the oracle.
    fn hmac_by_definition(key: &[u8], message: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        let mut k = [0u8; 64];
        k[..key.len()].copy_from_slice(key);
        let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
        let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
        Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // RFC 4231 test case 2 checks the oracle itself.
        assert_eq!(
            hex::encode(hmac_by_definition(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let body = br#"{"event":"notice.decided"}"#;
        let expected = hmac_by_definition(b"s3cret", &[b"1764655200.".as_slice(), body].concat());
        assert_eq!(signature(b"s3cret", 1_764_655_200, body), format!("t=1764655200,v1={}", hex::encode(expected)));
    }
}
