-- A source has at most one case per cause open at a time; once that case
-- is closed, a new lapse (another overdue reply, another dissatisfied
-- complainant) opens a new one. SQLite cannot drop a table constraint, so
-- the table is rebuilt.
CREATE TABLE supervision_cases_new (
    id                BLOB PRIMARY KEY,
    source_kind       TEXT NOT NULL,
    source_id         BLOB NOT NULL,
    cause             TEXT NOT NULL,
    unit_code         TEXT NOT NULL REFERENCES units (code),
    reason            TEXT NOT NULL,
    state             TEXT NOT NULL,
    opened_by         TEXT NOT NULL,
    opened_at         TEXT NOT NULL,
    notice            TEXT,
    notice_due        TEXT,
    noticed_by        TEXT,
    noticed_at        TEXT,
    response          TEXT,
    response_evidence TEXT NOT NULL DEFAULT '[]',
    responded_by      TEXT,
    responded_at      TEXT,
    outcome           TEXT,
    closed_by         TEXT,
    closed_at         TEXT,
    version           INTEGER NOT NULL DEFAULT 1
);
INSERT INTO supervision_cases_new
SELECT id, source_kind, source_id, cause, unit_code, reason, state, opened_by, opened_at,
       notice, notice_due, noticed_by, noticed_at, response, response_evidence, responded_by, responded_at, outcome,
       closed_by, closed_at, version
FROM supervision_cases;
DROP TABLE supervision_cases;
ALTER TABLE supervision_cases_new RENAME TO supervision_cases;
CREATE INDEX supervision_cases_unit ON supervision_cases (unit_code, opened_at DESC);
CREATE UNIQUE INDEX supervision_cases_open_source
    ON supervision_cases (source_kind, source_id, cause) WHERE state <> 'closed';
CREATE INDEX supervision_cases_source ON supervision_cases (source_kind, source_id);

-- A petition officer's retry of the same intake returns the first answer.
ALTER TABLE petitions ADD COLUMN request_id TEXT;
ALTER TABLE petitions ADD COLUMN intake_digest TEXT;
CREATE UNIQUE INDEX petitions_request ON petitions (received_by, request_id);
CREATE INDEX petitions_merged_into ON petitions (merged_into);
