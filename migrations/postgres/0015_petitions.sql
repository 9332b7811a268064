-- Petitions (信访举报): intake, acceptance, dispatch to a unit, the unit's
-- reply, on-site verification, feedback to the complainant and close.
-- The complainant's name, phone and address are sealed (envelope
-- encryption, see auth::seal) into `complainant`; NULL when anonymous.
CREATE TABLE petitions (
    id                  UUID PRIMARY KEY,
    campaign_id         UUID REFERENCES campaigns (id),
    channel             TEXT NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
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
    is_key              BOOLEAN NOT NULL,
    state               TEXT NOT NULL,
    accept_due          DATE NOT NULL,
    reply_due           DATE,
    reply_overdue_since TIMESTAMPTZ,
    satisfied           BOOLEAN,
    merged_into         UUID REFERENCES petitions (id),
    spot_check          TEXT,
    -- Reply, verification, feedback, decline and close details.
    progress            JSONB NOT NULL,
    received_by         TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    version             BIGINT NOT NULL
);
CREATE INDEX petitions_unit ON petitions (unit_code, received_at DESC);
CREATE INDEX petitions_state ON petitions (state, reply_due);
CREATE INDEX petitions_credit ON petitions (credit_code);
CREATE INDEX petitions_place ON petitions (wgs84_latitude, wgs84_longitude);

-- Every step of a petition: who, when, what, why.
CREATE TABLE petition_history (
    petition_id UUID NOT NULL REFERENCES petitions (id),
    seq         INTEGER NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT NOT NULL,
    PRIMARY KEY (petition_id, seq)
);

-- A source may now have one case per cause: asked for by hand, gone
-- overdue, a dissatisfied complainant, a failed spot check.
ALTER TABLE supervision_cases ADD COLUMN cause TEXT NOT NULL DEFAULT 'request';
UPDATE supervision_cases SET cause = 'overdue' WHERE opened_by = 'system:overdue-scan';
ALTER TABLE supervision_cases DROP CONSTRAINT supervision_cases_source_kind_source_id_key;
CREATE UNIQUE INDEX supervision_cases_source ON supervision_cases (source_kind, source_id, cause);

-- Accountability (问责): who was held to account, entered by one role and
-- confirmed by another. An official's name and post are sealed.
CREATE TABLE accountability_records (
    id           UUID PRIMARY KEY,
    unit_code    TEXT NOT NULL REFERENCES units (code),
    subject_kind TEXT NOT NULL,
    official     TEXT,
    form         TEXT NOT NULL,
    basis        TEXT NOT NULL,
    decided_on   DATE NOT NULL,
    case_ids     JSONB NOT NULL,
    entered_by   TEXT NOT NULL,
    entered_role TEXT NOT NULL,
    entered_at   TIMESTAMPTZ NOT NULL,
    confirmed_by TEXT,
    confirmed_at TIMESTAMPTZ,
    version      BIGINT NOT NULL
);
CREATE INDEX accountability_unit ON accountability_records (unit_code, decided_on);
