-- rempart store, version 2: people in the loop. Claims on review items,
-- four-eyes stages, review outcomes, notices and orders, trusted flaggers,
-- webhook deliveries, appeals, strikes, warnings and suspensions, trader
-- records (DSA Art. 9, 16, 17, 20, 22, 23, 30). Same conventions as
-- version 1: SQLite type names, times in ms since the epoch.

-- A review item is held by at most one reviewer at a time: claimed_by
-- with a lease that expires (a conditional UPDATE takes it, see
-- reviews::claim). stage: first | second (four-eyes: a block awaits a
-- second reviewer) | tiebreak (the two disagreed). excluded: key ids that
-- may not decide it (the first reviewer of a four-eyes item, the deciders
-- of an appealed decision), comma-separated.
ALTER TABLE reviews ADD COLUMN claimed_by TEXT;
ALTER TABLE reviews ADD COLUMN claimed_at INTEGER;
ALTER TABLE reviews ADD COLUMN lease_until INTEGER;
ALTER TABLE reviews ADD COLUMN stage TEXT NOT NULL DEFAULT 'first';
ALTER TABLE reviews ADD COLUMN excluded TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN seller_id TEXT;
ALTER TABLE reviews ADD COLUMN title TEXT;
-- Authority orders carry a deadline (the earliest of the merged ones).
ALTER TABLE reviews ADD COLUMN deadline INTEGER;
-- What decided it: the outcome and the decision it produced.
ALTER TABLE reviews ADD COLUMN outcome TEXT;
ALTER TABLE reviews ADD COLUMN outcome_decision TEXT;
-- Queue order ends with the id, so a page boundary is exact.
DROP INDEX reviews_queue;
CREATE INDEX reviews_queue ON reviews (status, severity DESC, priority DESC, created_at, review_id);
CREATE INDEX reviews_source_queue ON reviews (status, source, severity DESC, priority DESC, created_at, review_id);
CREATE INDEX reviews_claimed ON reviews (claimed_by, status);
CREATE INDEX reviews_seller ON reviews (seller_id);

-- The policies of each pending item, with its queue position, so a
-- filter by policy reads an index in queue order at any queue size.
-- Rows leave when the item is closed or superseded.
CREATE TABLE review_policies (
    policy     TEXT NOT NULL,
    review_id  TEXT NOT NULL,
    severity   INTEGER NOT NULL,
    priority   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (policy, review_id)
);
CREATE INDEX review_policies_queue ON review_policies (policy, severity DESC, priority DESC, created_at, review_id);
INSERT INTO review_policies (policy, review_id, severity, priority, created_at)
    SELECT DISTINCT m.policy, r.review_id, r.severity, r.priority, r.created_at
    FROM reviews r JOIN decision_matches m ON m.decision_id = r.decision_id
    WHERE r.status = 'pending';

-- The audit entries about each item (claims, releases, proposals,
-- outcomes, notices, appeals), for its history.
CREATE TABLE review_events (
    review_id   TEXT NOT NULL,
    audit_index INTEGER NOT NULL,
    PRIMARY KEY (review_id, audit_index)
);

-- Every outcome a reviewer gave: the accuracy indicators (overturn rate
-- per policy) and throughput per reviewer are counted from here.
-- is_final = 0 for a four-eyes proposal that awaited a second reviewer.
-- overturned = 1 when the final outcome departs from the automated
-- verdict (a flag found wrong, or a decision reversed).
CREATE TABLE review_outcomes (
    outcome_id        TEXT PRIMARY KEY,
    review_id         TEXT NOT NULL,
    reviewer          TEXT NOT NULL,
    stage             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    restrict_condition TEXT,
    reason_code       TEXT NOT NULL,
    source            TEXT NOT NULL,
    automated_verdict TEXT NOT NULL,
    is_final          INTEGER NOT NULL,
    overturned        INTEGER NOT NULL,
    decision_id       TEXT,
    claimed_at        INTEGER,
    decided_at        INTEGER NOT NULL,
    audit_index       INTEGER NOT NULL
);
CREATE INDEX review_outcomes_time ON review_outcomes (decided_at);
CREATE INDEX review_outcomes_reviewer ON review_outcomes (reviewer, decided_at);
CREATE TABLE outcome_policies (
    policy     TEXT NOT NULL,
    outcome_id TEXT NOT NULL,
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (policy, outcome_id)
);

-- Trusted flaggers (DSA Art. 22), as awarded by a Digital Services
-- Coordinator; key_id is the API key they submit notices with, if any.
CREATE TABLE trusted_flaggers (
    flagger_id    TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    expertise     TEXT NOT NULL,
    awarded_by    TEXT NOT NULL,
    key_id        TEXT,
    registered_at INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE UNIQUE INDEX trusted_flaggers_key ON trusted_flaggers (key_id) WHERE key_id IS NOT NULL;

-- Notices (Art. 16), trusted-flagger notices (Art. 22) and authority
-- orders (Art. 9). merged_into: a duplicate on the same listing, handled
-- with the first; review_id: the queue item that decides them.
CREATE TABLE notices (
    notice_id         TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    listing_id        TEXT NOT NULL,
    url               TEXT,
    category          TEXT NOT NULL,
    explanation       TEXT NOT NULL,
    notifier_name     TEXT,
    notifier_email    TEXT,
    csam              INTEGER NOT NULL,
    good_faith        INTEGER NOT NULL,
    flagger_id        TEXT,
    authority         TEXT,
    order_reference   TEXT,
    order_legal_basis TEXT,
    territorial_scope TEXT,
    deadline          INTEGER,
    submitted_by      TEXT NOT NULL,
    received_at       INTEGER NOT NULL,
    status            TEXT NOT NULL,
    merged_into       TEXT,
    review_id         TEXT,
    outcome           TEXT,
    outcome_decision  TEXT,
    outcome_reason    TEXT,
    decided_at        INTEGER,
    audit_index       INTEGER NOT NULL
);
CREATE INDEX notices_listing ON notices (listing_id, status);
CREATE INDEX notices_review ON notices (review_id);
CREATE INDEX notices_submitter ON notices (submitted_by, received_at);
CREATE INDEX notices_time ON notices (received_at);

-- Outcomes sent to the notifier's webhook: signed, retried with backoff.
-- status: pending | delivered | failed (gave up after the last attempt).
CREATE TABLE deliveries (
    delivery_id     TEXT PRIMARY KEY,
    notice_id       TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload         BLOB NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_notice ON deliveries (notice_id);

-- Appeals (Art. 20) against a decision on a listing or a suspension.
CREATE TABLE appeals (
    appeal_id        TEXT PRIMARY KEY,
    subject          TEXT NOT NULL,
    decision_id      TEXT NOT NULL,
    listing_id       TEXT,
    seller_id        TEXT NOT NULL,
    explanation      TEXT NOT NULL,
    submitted_by     TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    status           TEXT NOT NULL,
    review_id        TEXT NOT NULL,
    outcome          TEXT,
    decided_by       TEXT,
    decided_at       INTEGER,
    outcome_decision TEXT,
    audit_index      INTEGER NOT NULL
);
CREATE UNIQUE INDEX appeals_open ON appeals (decision_id) WHERE status = 'open';
CREATE INDEX appeals_seller ON appeals (seller_id, received_at);
CREATE INDEX appeals_time ON appeals (received_at);

-- Strikes (Art. 23): blocks a person confirmed. One live strike per
-- listing; removed_at when an appeal reverses the block.
CREATE TABLE strikes (
    strike_id      TEXT PRIMARY KEY,
    seller_id      TEXT NOT NULL,
    listing_id     TEXT NOT NULL,
    decision_id    TEXT NOT NULL,
    policy         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    removed_at     INTEGER,
    removed_reason TEXT,
    audit_index    INTEGER NOT NULL
);
CREATE UNIQUE INDEX strikes_live ON strikes (seller_id, listing_id) WHERE removed_at IS NULL;
CREATE INDEX strikes_seller ON strikes (seller_id, created_at);

-- Warnings and suspensions of sellers. kind: warning | suspension.
CREATE TABLE seller_measures (
    measure_id    TEXT PRIMARY KEY,
    seller_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER,
    strikes       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    lifted_at     INTEGER,
    lifted_reason TEXT,
    audit_index   INTEGER NOT NULL
);
CREATE INDEX seller_measures_seller ON seller_measures (seller_id, kind, starts_at);

-- Trader records (Art. 30): the fields as sent (JSON), the result of the
-- format checks, and a person's verification.
-- status: incomplete | unverified | verified.
CREATE TABLE traders (
    seller_id   TEXT PRIMARY KEY,
    record      BLOB NOT NULL,
    status      TEXT NOT NULL,
    missing     TEXT NOT NULL,
    language    TEXT,
    updated_at  INTEGER NOT NULL,
    verified_by TEXT,
    verified_at INTEGER,
    audit_index INTEGER NOT NULL
);
