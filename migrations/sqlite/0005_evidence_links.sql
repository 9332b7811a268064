-- Evidence linked to what it proves, with a role. The subject is named by
-- kind and id so findings, progress reports and petitions can use the same
-- links later.
CREATE TABLE evidence_links (
    evidence_id  BLOB NOT NULL REFERENCES evidence (id),
    subject_kind TEXT NOT NULL,
    subject_id   BLOB NOT NULL,
    role         TEXT NOT NULL,
    linked_by    TEXT NOT NULL,
    linked_at    TEXT NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, evidence_id)
);
CREATE INDEX evidence_links_evidence ON evidence_links (evidence_id);

-- Photos a check record names by SHA-256 before their bytes arrive.
ALTER TABLE check_records ADD COLUMN expected_evidence TEXT NOT NULL DEFAULT '[]';
CREATE TABLE check_expected_evidence (
    check_record_id BLOB NOT NULL REFERENCES check_records (id),
    sha256          TEXT NOT NULL,
    role            TEXT NOT NULL,
    PRIMARY KEY (check_record_id, sha256)
);
CREATE INDEX check_expected_evidence_sha256 ON check_expected_evidence (sha256);
