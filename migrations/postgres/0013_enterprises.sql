-- Enterprises by their unified social credit code, the accident archive
-- (环境事故档案), and the public list of enterprises with a major accident.
CREATE TABLE enterprises (
    credit_code     TEXT PRIMARY KEY,
    id              UUID NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL,
    latitude        DOUBLE PRECISION,
    longitude       DOUBLE PRECISION,
    accuracy_m      DOUBLE PRECISION,
    altitude_m      DOUBLE PRECISION,
    datum           TEXT,
    wgs84_latitude  DOUBLE PRECISION,
    wgs84_longitude DOUBLE PRECISION,
    unit_code       TEXT NOT NULL REFERENCES units (code),
    listed_at       TIMESTAMPTZ,
    listed_by       TEXT,
    listing_reason  TEXT,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX enterprises_unit ON enterprises (unit_code, name);

CREATE TABLE accidents (
    id            UUID PRIMARY KEY,
    credit_code   TEXT NOT NULL REFERENCES enterprises (credit_code),
    unit_code     TEXT NOT NULL REFERENCES units (code),
    occurred_on   DATE NOT NULL,
    level         TEXT NOT NULL,
    description   TEXT NOT NULL,
    conditions    JSONB NOT NULL,
    referred      BOOLEAN NOT NULL,
    referral_note TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX accidents_enterprise ON accidents (credit_code, occurred_on);
