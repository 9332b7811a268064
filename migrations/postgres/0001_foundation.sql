-- Units, accounts, tokens and check records.

CREATE TABLE units (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('city', 'county', 'development_zone', 'department')),
    parent_code TEXT REFERENCES units (code),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit_codes    JSONB NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Failed logins per username, whether or not the account exists.
CREATE TABLE login_failures (
    username        TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    locked_until    TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ NOT NULL
);

-- A login and the chain of refresh tokens that descends from it.
CREATE TABLE sessions (
    id             UUID PRIMARY KEY,
    username       TEXT NOT NULL REFERENCES users (username),
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id),
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Tokens minted with `ducha token issue` for apps and service accounts.
CREATE TABLE issued_tokens (
    jti        TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    role       TEXT NOT NULL,
    unit_codes JSONB NOT NULL,
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    revoked_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);

CREATE TABLE check_records (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL,
    unit_code       TEXT NOT NULL REFERENCES units (code),
    campaign_id     UUID,
    subject_name    TEXT NOT NULL,
    credit_code     TEXT,
    address         TEXT NOT NULL,
    latitude        DOUBLE PRECISION,
    longitude       DOUBLE PRECISION,
    accuracy_m      DOUBLE PRECISION,
    altitude_m      DOUBLE PRECISION,
    datum           TEXT,
    wgs84_latitude  DOUBLE PRECISION,
    wgs84_longitude DOUBLE PRECISION,
    started_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ,
    inspectors      JSONB NOT NULL,
    checklist       JSONB NOT NULL,
    narrative       TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT NOT NULL,
    version         BIGINT NOT NULL,
    content_digest  TEXT NOT NULL,
    request_id      TEXT,
    UNIQUE (created_by, request_id)
);
CREATE INDEX check_records_order ON check_records (started_at DESC, id DESC);
CREATE INDEX check_records_unit ON check_records (unit_code, started_at DESC, id DESC);
CREATE INDEX check_records_campaign ON check_records (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX check_records_place ON check_records (wgs84_latitude, wgs84_longitude);
