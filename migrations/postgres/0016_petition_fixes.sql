-- A source has at most one case per cause open at a time; once that case
-- is closed, a new lapse (another overdue reply, another dissatisfied
-- complainant) opens a new one.
DROP INDEX supervision_cases_source;
CREATE UNIQUE INDEX supervision_cases_open_source
    ON supervision_cases (source_kind, source_id, cause) WHERE state <> 'closed';
CREATE INDEX supervision_cases_source ON supervision_cases (source_kind, source_id);

-- A petition officer's retry of the same intake returns the first answer.
ALTER TABLE petitions ADD COLUMN request_id TEXT;
ALTER TABLE petitions ADD COLUMN intake_digest TEXT;
CREATE UNIQUE INDEX petitions_request ON petitions (received_by, request_id);
CREATE INDEX petitions_merged_into ON petitions (merged_into);
