-- URLs that receive the event feed, each with its own cursor, lease and
-- backoff, and the outcome of every delivery attempt.
CREATE TABLE webhooks (
    id                UUID PRIMARY KEY,
    url               TEXT NOT NULL,
    event_kinds       JSONB NOT NULL,
    secret            TEXT NOT NULL,
    delivered_through BIGINT NOT NULL,
    failures          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMPTZ NOT NULL,
    locked_until      TIMESTAMPTZ,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    webhook_id  UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    BIGINT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    delivered   BOOLEAN NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event_id, attempt)
);
