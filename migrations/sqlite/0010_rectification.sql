-- Findings and their rectification items, tracked item by item until a
-- verifier signs each off; the working-day calendar for their deadlines;
-- supervision cases opened for overdue items; the event feed and the
-- hash-chained audit log.

CREATE TABLE findings (
    id              BLOB PRIMARY KEY,
    campaign_id     BLOB,
    unit_code       TEXT NOT NULL REFERENCES units (code),
    category        TEXT NOT NULL,
    medium          TEXT NOT NULL,
    severity        TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    latitude        REAL,
    longitude       REAL,
    accuracy_m      REAL,
    altitude_m      REAL,
    datum           TEXT,
    wgs84_latitude  REAL,
    wgs84_longitude REAL,
    credit_code     TEXT,
    sources         TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    content_digest  TEXT NOT NULL,
    request_id      TEXT,
    UNIQUE (created_by, request_id)
);
CREATE INDEX findings_order ON findings (created_at DESC, id DESC);
CREATE INDEX findings_unit ON findings (unit_code, created_at DESC);
CREATE INDEX findings_campaign ON findings (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX findings_place ON findings (wgs84_latitude, wgs84_longitude);

CREATE TABLE rectification_items (
    id             BLOB PRIMARY KEY,
    finding_id     BLOB NOT NULL REFERENCES findings (id),
    unit_code      TEXT NOT NULL REFERENCES units (code),
    campaign_id    BLOB,
    requirement    TEXT NOT NULL,
    assigned_on    TEXT NOT NULL,
    working_days   INTEGER,
    due_date       TEXT NOT NULL,
    accident       INTEGER NOT NULL,
    photo_required INTEGER NOT NULL,
    state          TEXT NOT NULL,
    overdue_since  TEXT,
    extension      TEXT,
    conditions     TEXT,
    rejections     INTEGER NOT NULL DEFAULT 0,
    signed_off_by  TEXT,
    signed_off_at  TEXT,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    version        INTEGER NOT NULL,
    content_digest TEXT NOT NULL,
    request_id     TEXT,
    UNIQUE (created_by, request_id)
);
CREATE INDEX rectification_items_finding ON rectification_items (finding_id);
CREATE INDEX rectification_items_unit ON rectification_items (unit_code, state);
CREATE INDEX rectification_items_due ON rectification_items (due_date) WHERE state NOT IN ('verified', 'cancelled');

-- Every step of an item: who, when, what, why.
CREATE TABLE rectification_history (
    item_id    BLOB NOT NULL REFERENCES rectification_items (id),
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    due_before TEXT,
    due_after  TEXT,
    PRIMARY KEY (item_id, seq)
);

-- Official holidays and make-up working days (调休), loaded a year at a
-- time; a day not listed is a working day from Monday to Friday.
CREATE TABLE calendar_years (
    year      INTEGER PRIMARY KEY,
    loaded_at TEXT NOT NULL,
    loaded_by TEXT NOT NULL
);
CREATE TABLE calendar_days (
    day  TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);

-- Supervision cases; one per source, however many processes notice it.
CREATE TABLE supervision_cases (
    id          BLOB PRIMARY KEY,
    source_kind TEXT NOT NULL,
    source_id   BLOB NOT NULL,
    unit_code   TEXT NOT NULL REFERENCES units (code),
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    UNIQUE (source_kind, source_id)
);

-- Every change of state, in commit order (ids are handed out under a lock
-- held to commit, so a reader resuming after id N misses nothing).
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   BLOB NOT NULL,
    unit_code    TEXT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX events_unit ON events (unit_code, id);

-- Append-only; each entry carries the hash of the one before it.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    digest       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
