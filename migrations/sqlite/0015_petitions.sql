-- Petitions (信访举报): intake, acceptance, dispatch to a unit, the unit's
-- reply, on-site verification, feedback to the complainant and close.
-- The complainant's name, phone and address are sealed (envelope
-- encryption, see auth::seal) into `complainant`; NULL when anonymous.
CREATE TABLE petitions (
    id                  BLOB PRIMARY KEY,
    campaign_id         BLOB REFERENCES campaigns (id),
    channel             TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    content             TEXT NOT NULL,
    category            TEXT NOT NULL,
    latitude            DOUBLE PRECISION,
    longitude           DOUBLE PRECISION,
    accuracy_m          DOUBLE PRECISION,
    altitude_m          DOUBLE PRECISION,
    datum               TEXT,
    wgs84_latitude      DOUBLE PRECISION,
    wgs84_longitude     DOUBLE PRECISION,
    unit_code           TEXT NOT NULL REFERENCES units (code),
    credit_code         TEXT,
    complainant         TEXT,
    is_key              INTEGER NOT NULL,
    state               TEXT NOT NULL,
    accept_due          TEXT NOT NULL,
    reply_due           TEXT,
    reply_overdue_since TEXT,
    satisfied           INTEGER,
    merged_into         BLOB REFERENCES petitions (id),
    spot_check          TEXT,
    -- Reply, verification, feedback, decline and close details.
    progress            TEXT NOT NULL,
    received_by         TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    version             INTEGER NOT NULL
);
CREATE INDEX petitions_unit ON petitions (unit_code, received_at DESC);
CREATE INDEX petitions_state ON petitions (state, reply_due);
CREATE INDEX petitions_credit ON petitions (credit_code);
CREATE INDEX petitions_place ON petitions (wgs84_latitude, wgs84_longitude);

-- Every step of a petition: who, when, what, why.
CREATE TABLE petition_history (
    petition_id BLOB NOT NULL REFERENCES petitions (id),
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT NOT NULL,
    PRIMARY KEY (petition_id, seq)
);

-- A source may now have one case per cause: asked for by hand, gone
-- overdue, a dissatisfied complainant, a failed spot check. SQLite cannot
-- drop a table constraint, so the table is rebuilt.
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
    version           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (source_kind, source_id, cause)
);
INSERT INTO supervision_cases_new
SELECT id, source_kind, source_id,
       CASE WHEN opened_by = 'system:overdue-scan' THEN 'overdue' ELSE 'request' END,
       unit_code, reason, state, opened_by, opened_at, notice, notice_due, noticed_by,
       noticed_at, response, response_evidence, responded_by, responded_at, outcome,
       closed_by, closed_at, version
FROM supervision_cases;
DROP TABLE supervision_cases;
ALTER TABLE supervision_cases_new RENAME TO supervision_cases;
CREATE INDEX supervision_cases_unit ON supervision_cases (unit_code, opened_at DESC);

-- Accountability (问责): who was held to account, entered by one role and
-- confirmed by another. An official's name and post are sealed.
CREATE TABLE accountability_records (
    id           BLOB PRIMARY KEY,
    unit_code    TEXT NOT NULL REFERENCES units (code),
    subject_kind TEXT NOT NULL,
    official     TEXT,
    form         TEXT NOT NULL,
    basis        TEXT NOT NULL,
    decided_on   TEXT NOT NULL,
    case_ids     TEXT NOT NULL,
    entered_by   TEXT NOT NULL,
    entered_role TEXT NOT NULL,
    entered_at   TEXT NOT NULL,
    confirmed_by TEXT,
    confirmed_at TEXT,
    version      INTEGER NOT NULL
);
CREATE INDEX accountability_unit ON accountability_records (unit_code, decided_on);
