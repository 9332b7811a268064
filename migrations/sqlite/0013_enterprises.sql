-- Enterprises by their unified social credit code, the accident archive
-- (环境事故档案), and the public list of enterprises with a major accident.
CREATE TABLE enterprises (
    credit_code     TEXT PRIMARY KEY,
    id              BLOB NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL,
    latitude        REAL,
    longitude       REAL,
    accuracy_m      REAL,
    altitude_m      REAL,
    datum           TEXT,
    wgs84_latitude  REAL,
    wgs84_longitude REAL,
    unit_code       TEXT NOT NULL REFERENCES units (code),
    listed_at       TEXT,
    listed_by       TEXT,
    listing_reason  TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL
);
CREATE INDEX enterprises_unit ON enterprises (unit_code, name);

CREATE TABLE accidents (
    id            BLOB PRIMARY KEY,
    credit_code   TEXT NOT NULL REFERENCES enterprises (credit_code),
    unit_code     TEXT NOT NULL REFERENCES units (code),
    occurred_on   TEXT NOT NULL,
    level         TEXT NOT NULL,
    description   TEXT NOT NULL,
    conditions    TEXT NOT NULL,
    referred      INTEGER NOT NULL,
    referral_note TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX accidents_enterprise ON accidents (credit_code, occurred_on);
