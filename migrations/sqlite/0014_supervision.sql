-- The supervision workflow on cases: a notice with a deadline (督办通知),
-- the unit's response, and the close with its outcome.
ALTER TABLE supervision_cases ADD COLUMN notice TEXT;
ALTER TABLE supervision_cases ADD COLUMN notice_due TEXT;
ALTER TABLE supervision_cases ADD COLUMN noticed_by TEXT;
ALTER TABLE supervision_cases ADD COLUMN noticed_at TEXT;
ALTER TABLE supervision_cases ADD COLUMN response TEXT;
ALTER TABLE supervision_cases ADD COLUMN response_evidence TEXT NOT NULL DEFAULT '[]';
ALTER TABLE supervision_cases ADD COLUMN responded_by TEXT;
ALTER TABLE supervision_cases ADD COLUMN responded_at TEXT;
ALTER TABLE supervision_cases ADD COLUMN outcome TEXT;
ALTER TABLE supervision_cases ADD COLUMN closed_by TEXT;
ALTER TABLE supervision_cases ADD COLUMN closed_at TEXT;
ALTER TABLE supervision_cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX supervision_cases_unit ON supervision_cases (unit_code, opened_at DESC);
