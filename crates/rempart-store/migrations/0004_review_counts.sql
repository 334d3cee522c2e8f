-- rempart store, version 4: the review queue's counts, kept up to date.
--
-- The console shows the queue's counts on every page; counting a queue of
-- a million items with GROUP BY took seconds. Each change of an item's
-- status, source or policies adjusts these rows in the same transaction
-- (reviews::counts), so reading them costs a few rows at any queue size.
-- dimension: status (every item, by status) | pending_source (pending
-- items by source) | pending_policy (pending items by policy).
CREATE TABLE review_counts (
    dimension TEXT NOT NULL,
    key       TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (dimension, key)
);
INSERT INTO review_counts (dimension, key, n)
    SELECT 'status', status, COUNT(*) FROM reviews GROUP BY status;
INSERT INTO review_counts (dimension, key, n)
    SELECT 'pending_source', source, COUNT(*) FROM reviews WHERE status = 'pending' GROUP BY source;
INSERT INTO review_counts (dimension, key, n)
    SELECT 'pending_policy', policy, COUNT(*) FROM review_policies GROUP BY policy;

-- The counts that depend on the time or on few items read an index each:
-- leases running now, items past their first stage, overdue orders.
CREATE INDEX reviews_lease ON reviews (status, lease_until);
CREATE INDEX reviews_stage ON reviews (status, stage);
CREATE INDEX reviews_deadline ON reviews (status, source, deadline);
