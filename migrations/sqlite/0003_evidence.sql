-- Evidence bytes, stored once per SHA-256; evidence records per unit; and
-- resumable uploads with the segments received so far.

CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE evidence (
    id                  BLOB PRIMARY KEY,
    sha256              TEXT NOT NULL REFERENCES blobs (sha256),
    unit_code           TEXT NOT NULL REFERENCES units (code),
    uploader            TEXT NOT NULL,
    media_type          TEXT NOT NULL,
    declared_media_type TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    size_bytes          INTEGER NOT NULL,
    capture             TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    UNIQUE (unit_code, sha256)
);
CREATE INDEX evidence_sha256 ON evidence (sha256);

CREATE TABLE uploads (
    id                  BLOB PRIMARY KEY,
    uploader            TEXT NOT NULL,
    unit_code           TEXT NOT NULL REFERENCES units (code),
    sha256              TEXT NOT NULL,
    size_bytes          INTEGER NOT NULL,
    declared_media_type TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    capture             TEXT NOT NULL,
    committed_offset    INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    expires_at          TEXT NOT NULL,
    evidence_id         BLOB REFERENCES evidence (id)
);
CREATE INDEX uploads_uploader ON uploads (uploader) WHERE evidence_id IS NULL;
CREATE INDEX uploads_expires ON uploads (expires_at) WHERE evidence_id IS NULL;

-- Bytes received for an upload, each segment an object of its own.
CREATE TABLE upload_segments (
    upload_id    BLOB NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start_offset INTEGER NOT NULL,
    length       INTEGER NOT NULL,
    object_key   TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    PRIMARY KEY (upload_id, start_offset)
);
