-- Findings and their rectification items, tracked item by item until a
-- verifier signs each off; the working-day calendar for their deadlines;
-- supervision cases opened for overdue items; the event feed and the
-- hash-chained audit log.

CREATE TABLE findings (
    id              UUID PRIMARY KEY,
    campaign_id     UUID,
    unit_code       TEXT NOT NULL REFERENCES units (code),
    category        TEXT NOT NULL,
    medium          TEXT NOT NULL,
    severity        TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    latitude        DOUBLE PRECISION,
    longitude       DOUBLE PRECISION,
    accuracy_m      DOUBLE PRECISION,
    altitude_m      DOUBLE PRECISION,
    datum           TEXT,
    wgs84_latitude  DOUBLE PRECISION,
    wgs84_longitude DOUBLE PRECISION,
    credit_code     TEXT,
    sources         JSONB NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL,
    content_digest  TEXT NOT NULL,
    request_id      TEXT,
    UNIQUE (created_by, request_id)
);
CREATE INDEX findings_order ON findings (created_at DESC, id DESC);
CREATE INDEX findings_unit ON findings (unit_code, created_at DESC);
CREATE INDEX findings_campaign ON findings (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX findings_place ON findings (wgs84_latitude, wgs84_longitude);

CREATE TABLE rectification_items (
    id             UUID PRIMARY KEY,
    finding_id     UUID NOT NULL REFERENCES findings (id),
    unit_code      TEXT NOT NULL REFERENCES units (code),
    campaign_id    UUID,
    requirement    TEXT NOT NULL,
    assigned_on    DATE NOT NULL,
    working_days   INTEGER,
    due_date       DATE NOT NULL,
    accident       BOOLEAN NOT NULL,
    photo_required BOOLEAN NOT NULL,
    state          TEXT NOT NULL,
    overdue_since  TIMESTAMPTZ,
    extension      JSONB,
    conditions     JSONB,
    rejections     INTEGER NOT NULL DEFAULT 0,
    signed_off_by  TEXT,
    signed_off_at  TIMESTAMPTZ,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    version        BIGINT NOT NULL,
    content_digest TEXT NOT NULL,
    request_id     TEXT,
    UNIQUE (created_by, request_id)
);
CREATE INDEX rectification_items_finding ON rectification_items (finding_id);
CREATE INDEX rectification_items_unit ON rectification_items (unit_code, state);
CREATE INDEX rectification_items_due ON rectification_items (due_date) WHERE state NOT IN ('verified', 'cancelled');

-- Every step of an item: who, when, what, why.
CREATE TABLE rectification_history (
    item_id    UUID NOT NULL REFERENCES rectification_items (id),
    seq        INTEGER NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL,
    evidence   JSONB NOT NULL,
    due_before DATE,
    due_after  DATE,
    PRIMARY KEY (item_id, seq)
);

-- Official holidays and make-up working days (调休), loaded a year at a
-- time; a day not listed is a working day from Monday to Friday.
CREATE TABLE calendar_years (
    year      INTEGER PRIMARY KEY,
    loaded_at TIMESTAMPTZ NOT NULL,
    loaded_by TEXT NOT NULL
);
CREATE TABLE calendar_days (
    day  DATE PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);

-- Supervision cases; one per source, however many processes notice it.
CREATE TABLE supervision_cases (
    id          UUID PRIMARY KEY,
    source_kind TEXT NOT NULL,
    source_id   UUID NOT NULL,
    unit_code   TEXT NOT NULL REFERENCES units (code),
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (source_kind, source_id)
);

-- Every change of state, in commit order (ids are handed out under a lock
-- held to commit, so a reader resuming after id N misses nothing).
CREATE TABLE events (
    id           BIGINT PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   UUID NOT NULL,
    unit_code    TEXT NOT NULL,
    data         JSONB NOT NULL
);
CREATE INDEX events_unit ON events (unit_code, id);

-- Append-only; each entry carries the hash of the one before it.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    digest       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
