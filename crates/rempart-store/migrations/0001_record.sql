-- rempart store, version 1: the record of decisions and its audit log.
-- Written in SQLite's types; PostgreSQL reads INTEGER as BIGINT, BLOB as
-- BYTEA, REAL as DOUBLE PRECISION (backend::ddl_for). Times are
-- milliseconds since the Unix epoch (UTC). Hashes are 32-byte blobs.

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per listing id the marketplace submitted: its latest version
-- and the decision currently in force.
CREATE TABLE listings (
    listing_id       TEXT PRIMARY KEY,
    seller_id        TEXT,
    latest_version   INTEGER NOT NULL,
    current_decision TEXT NOT NULL,
    verdict          TEXT NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX listings_seller ON listings (seller_id);

-- Every version of a listing exactly as received (the bytes), with the
-- digest of its canonical JSON (RFC 8785), which identifies it.
CREATE TABLE listing_versions (
    listing_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    digest       TEXT NOT NULL,
    body         BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    submitted_by TEXT NOT NULL,
    PRIMARY KEY (listing_id, version)
);

-- Index of decisions. The decision record itself is the audit entry at
-- audit_index (one source of truth, covered by the Merkle tree).
CREATE TABLE decisions (
    decision_id    TEXT PRIMARY KEY,
    listing_id     TEXT NOT NULL,
    version        INTEGER NOT NULL,
    audit_index    INTEGER NOT NULL UNIQUE,
    verdict        TEXT NOT NULL,
    origin         TEXT NOT NULL,
    supersedes     TEXT,
    pack_version   TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    decided_at     INTEGER NOT NULL
);
CREATE INDEX decisions_listing ON decisions (listing_id, version);
CREATE INDEX decisions_time ON decisions (decided_at);

-- The rules each decision matched, for counts by policy.
CREATE TABLE decision_matches (
    decision_id TEXT NOT NULL,
    position    INTEGER NOT NULL,
    policy      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    action      TEXT NOT NULL,
    PRIMARY KEY (decision_id, position)
);
CREATE INDEX decision_matches_policy ON decision_matches (policy, action);

-- Items a person must decide.
CREATE TABLE reviews (
    review_id   TEXT PRIMARY KEY,
    listing_id  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    decision_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    policies    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
CREATE INDEX reviews_queue ON reviews (status, severity DESC, priority DESC, created_at);
CREATE INDEX reviews_listing ON reviews (listing_id);

-- The append-only log (RFC 9162 Merkle tree). body is the canonical JSON
-- of the entry; leaf_hash = SHA-256(0x00 || body).
CREATE TABLE audit_entries (
    idx         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    body        BLOB NOT NULL,
    leaf_hash   BLOB NOT NULL
);
-- Roots of the complete (perfect) subtrees: level 0 are leaves.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);
-- One row (absent while the log is empty): the log's size and root,
-- locked by every appending transaction.
CREATE TABLE audit_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    tree_size INTEGER NOT NULL,
    root_hash BLOB NOT NULL
);
-- Signed tree heads (C2SP signed checkpoints).
CREATE TABLE audit_heads (
    tree_size  INTEGER PRIMARY KEY,
    root_hash  BLOB NOT NULL,
    signed_at  INTEGER NOT NULL,
    key_id     TEXT NOT NULL,
    checkpoint TEXT NOT NULL
);
-- Public halves of the log's signing keys (the secrets live in the key
-- file beside the database, never in it).
CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,
    vkey       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);

-- API keys: only an HMAC of the secret is kept.
CREATE TABLE api_keys (
    key_id          TEXT PRIMARY KEY,
    role            TEXT NOT NULL,
    secret_hash     BLOB NOT NULL,
    label           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    rate_per_minute INTEGER
);

-- Policy packs uploaded, with the result of their tests.
CREATE TABLE packs (
    pack_version   TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    files          BLOB NOT NULL,
    uploaded_at    INTEGER NOT NULL,
    uploaded_by    TEXT NOT NULL,
    tests_passed   INTEGER NOT NULL,
    tests_failed   INTEGER NOT NULL,
    engine_version TEXT NOT NULL
);
-- Which pack is live, and which (if any) runs in shadow.
CREATE TABLE pack_roles (
    role         TEXT PRIMARY KEY,
    pack_version TEXT NOT NULL,
    since        INTEGER NOT NULL,
    audit_index  INTEGER NOT NULL
);
CREATE TABLE shadow_disagreements (
    disagreement_id TEXT PRIMARY KEY,
    shadow_version  TEXT NOT NULL,
    live_version    TEXT NOT NULL,
    listing_id      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    live_verdict    TEXT NOT NULL,
    shadow_verdict  TEXT NOT NULL,
    live_rules      TEXT NOT NULL,
    shadow_rules    TEXT NOT NULL,
    shadow_decision BLOB NOT NULL,
    recorded_at     INTEGER NOT NULL
);
CREATE INDEX shadow_by_version ON shadow_disagreements (shadow_version, recorded_at);
CREATE TABLE rescans (
    rescan_id    TEXT PRIMARY KEY,
    pack_version TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL,
    changed      INTEGER NOT NULL,
    status       TEXT NOT NULL
);

-- The removed-listings index (relisting detection), in order of removal.
CREATE TABLE removed_listings (
    seq         INTEGER PRIMARY KEY,
    listing_id  TEXT NOT NULL,
    decision_id TEXT,
    entry       BLOB NOT NULL,
    removed_at  INTEGER NOT NULL
);

-- Idempotency-Key replays: the first response, per key and client.
CREATE TABLE idempotency_keys (
    key_id         TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    status         INTEGER NOT NULL,
    response       BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
