-- URLs that receive the event feed, each with its own cursor, lease and
-- backoff, and the outcome of every delivery attempt.
CREATE TABLE webhooks (
    id                BLOB PRIMARY KEY,
    url               TEXT NOT NULL,
    event_kinds       TEXT NOT NULL,
    secret            TEXT NOT NULL,
    delivered_through INTEGER NOT NULL,
    failures          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT NOT NULL,
    locked_until      TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    webhook_id  BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    delivered   INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event_id, attempt)
);
