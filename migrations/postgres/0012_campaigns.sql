-- The yearly comprehensive inspection (综合督查): one a year, with its
-- target units and teams.
CREATE TABLE campaigns (
    id           UUID PRIMARY KEY,
    year         INTEGER NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    starts_on    DATE NOT NULL,
    ends_on      DATE NOT NULL,
    target_units JSONB NOT NULL,
    teams        JSONB NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    version      BIGINT NOT NULL
);
