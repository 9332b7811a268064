-- Derivatives (thumbnail and preview) and the perceptual hash, made once per
-- stored content by a background job; and the durable job queue itself.

ALTER TABLE blobs ADD COLUMN derivatives TEXT NOT NULL DEFAULT '{"state":"pending"}';
ALTER TABLE blobs ADD COLUMN phash BIGINT;

-- The perceptual hash cut into its eight bytes: pictures within seven
-- differing bits share at least one band, so near-identical ones are found
-- by an index lookup instead of a scan.
CREATE TABLE phash_bands (
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    band   SMALLINT NOT NULL,
    value  SMALLINT NOT NULL,
    PRIMARY KEY (sha256, band)
);
CREATE INDEX phash_bands_lookup ON phash_bands (band, value);

-- Work done in the background, at least once, by whichever server process
-- claims it first. A claim holds until locked_until; attempts also serves
-- as the claim's token, so a worker whose claim lapsed cannot finish a job
-- another worker took over.
CREATE TABLE jobs (
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    TEXT NOT NULL,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX jobs_due ON jobs (kind, run_after);

-- Contents stored before derivatives existed: documents and HEIF get none,
-- photos are queued.
UPDATE blobs SET derivatives = '{"state":"not_applicable"}'
 WHERE media_type NOT IN ('image/jpeg', 'image/png', 'image/webp');
INSERT INTO jobs (kind, subject, attempts, run_after, created_at)
SELECT 'derivatives', sha256, 0, created_at, created_at FROM blobs
 WHERE media_type IN ('image/jpeg', 'image/png', 'image/webp');

-- Evidence as read: with the derivatives and hash of its content.
CREATE VIEW evidence_view AS
SELECT e.*, b.derivatives, b.phash FROM evidence e JOIN blobs b ON b.sha256 = e.sha256;
