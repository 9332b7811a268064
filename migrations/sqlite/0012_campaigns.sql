-- The yearly comprehensive inspection (综合督查): one a year, with its
-- target units and teams.
CREATE TABLE campaigns (
    id           BLOB PRIMARY KEY,
    year         INTEGER NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    target_units TEXT NOT NULL,
    teams        TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL
);
