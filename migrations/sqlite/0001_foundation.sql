-- Units, accounts, tokens and check records. Times are RFC 3339 text in UTC
-- with six fraction digits (see server/src/store/time.rs), UUIDs 16-byte
-- blobs, lists JSON text.

CREATE TABLE units (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('city', 'county', 'development_zone', 'department')),
    parent_code TEXT REFERENCES units (code),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit_codes    TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- Failed logins per username, whether or not the account exists.
CREATE TABLE login_failures (
    username        TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    locked_until    TEXT,
    last_failure_at TEXT NOT NULL
);

-- A login and the chain of refresh tokens that descends from it.
CREATE TABLE sessions (
    id             BLOB PRIMARY KEY,
    username       TEXT NOT NULL REFERENCES users (username),
    created_at     TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES sessions (id),
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Tokens minted with `ducha token issue` for apps and service accounts.
CREATE TABLE issued_tokens (
    jti        TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    role       TEXT NOT NULL,
    unit_codes TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL,
    expires_at TEXT
);

CREATE TABLE check_records (
    id              BLOB PRIMARY KEY,
    kind            TEXT NOT NULL,
    unit_code       TEXT NOT NULL REFERENCES units (code),
    campaign_id     BLOB,
    subject_name    TEXT NOT NULL,
    credit_code     TEXT,
    address         TEXT NOT NULL,
    latitude        REAL,
    longitude       REAL,
    accuracy_m      REAL,
    altitude_m      REAL,
    datum           TEXT,
    wgs84_latitude  REAL,
    wgs84_longitude REAL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    inspectors      TEXT NOT NULL,
    checklist       TEXT NOT NULL,
    narrative       TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    content_digest  TEXT NOT NULL,
    request_id      TEXT,
    UNIQUE (created_by, request_id)
);
CREATE INDEX check_records_order ON check_records (started_at DESC, id DESC);
CREATE INDEX check_records_unit ON check_records (unit_code, started_at DESC, id DESC);
CREATE INDEX check_records_campaign ON check_records (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX check_records_place ON check_records (wgs84_latitude, wgs84_longitude);
