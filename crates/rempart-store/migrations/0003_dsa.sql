-- rempart store, version 3: statements of reasons sent to the DSA
-- Transparency Database (Art. 24(5)). (Version 2 belongs to the review
-- workflow; migrations are applied by number, whichever lands first.)
--
-- One row per statement and endpoint (a sandbox and the production
-- database are different endpoints). `status`:
--   sending  — posted, no definite answer yet: before sending it again the
--              exporter asks the database whether the puid exists;
--   accepted — created (201), `uuid` is the database's id;
--   existing — the database already had this puid (302, 409, or a 422
--              naming the puid as not unique): never sent again;
--   rejected — refused (422) with `errors`; sent again on a later run,
--              after the cause is fixed.
CREATE TABLE dsa_submissions (
    endpoint      TEXT NOT NULL,
    puid          TEXT NOT NULL,
    decision_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    uuid          TEXT,
    errors        TEXT,
    digest        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    first_sent_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (endpoint, puid)
);
CREATE INDEX dsa_submissions_decision ON dsa_submissions (decision_id);
