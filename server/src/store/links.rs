//! SQL of links between evidence and what it proves.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, on_pool};
use crate::domain::event::Change;
use crate::domain::evidence::{EvidenceLink, EvidenceRole};
use crate::domain::signals::Signal;
use crate::error::{Error, Result};

/// The kind of subject of check-record links.
pub const CHECK_RECORD: &str = "check_record";

/// The kind of subject of evidence events.
pub const EVIDENCE: &str = "evidence";

#[derive(sqlx::FromRow)]
struct LinkRow {
    subject_id: Uuid,
    evidence_id: Uuid,
    sha256: String,
    role: String,
    linked_by: String,
    linked_at: Ts,
    signals: Json<Vec<Signal>>,
}

/// Links new evidence ($1, uploaded by $2 at $3, of SHA-256 $4 in unit $5)
/// to every check record of its unit that expects its bytes.
pub(super) const LINK_EXPECTING_RECORDS: &str = "INSERT INTO evidence_links
        (evidence_id, subject_kind, subject_id, role, linked_by, linked_at)
    SELECT $1, 'check_record', x.check_record_id, x.role, $2, $3
    FROM check_expected_evidence x JOIN check_records c ON c.id = x.check_record_id
    WHERE x.sha256 = $4 AND c.unit_code = $5
    ON CONFLICT DO NOTHING";

impl Store {
    /// Links to a check record the evidence its unit already holds of the
    /// bytes the record expects.
    pub async fn link_expected_evidence(
        &self,
        record: Uuid,
        unit: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO evidence_links (evidence_id, subject_kind, subject_id, role, linked_by, linked_at)
                 SELECT e.id, 'check_record', x.check_record_id, x.role, $2, $3
                 FROM check_expected_evidence x JOIN evidence e ON e.sha256 = x.sha256 AND e.unit_code = $4
                 WHERE x.check_record_id = $1
                 ON CONFLICT DO NOTHING",
            )
            .bind(record)
            .bind(by)
            .bind(Ts(at))
            .bind(unit)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?)
    }

    /// Links evidence to a subject, or changes the role of the link; by
    /// the change's actor, at its time.
    pub async fn put_link(
        &self,
        evidence: Uuid,
        kind: &str,
        subject: Uuid,
        role: EvidenceRole,
        change: &Change,
    ) -> Result<()> {
        commit_change!(self, |tx| {
            sqlx::query(
                    "INSERT INTO evidence_links (evidence_id, subject_kind, subject_id, role, linked_by, linked_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (subject_kind, subject_id, evidence_id)
                     DO UPDATE SET role = excluded.role, linked_by = excluded.linked_by, linked_at = excluded.linked_at",
                )
                .bind(evidence)
                .bind(kind)
                .bind(subject)
                .bind(role.as_str())
                .bind(&change.actor)
                .bind(Ts(change.at))
                .execute(&mut *tx)
                .await?;
            Ok(Wrote::Changes((), vec![change.clone()]))
        })?;
        Ok(())
    }

    /// Returns false when there was no such link.
    pub async fn delete_link(
        &self,
        evidence: Uuid,
        kind: &str,
        subject: Uuid,
        change: &Change,
    ) -> Result<bool> {
        let deleted = commit_change!(self, |tx| {
            let n = sqlx::query("DELETE FROM evidence_links WHERE evidence_id = $1 AND subject_kind = $2 AND subject_id = $3")
                    .bind(evidence)
                    .bind(kind)
                    .bind(subject)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            Ok(Wrote::if_written(n, change))
        })?;
        Ok(deleted)
    }

    /// Links of the given subjects, oldest first.
    pub async fn links_of(
        &self,
        kind: &str,
        subjects: &[Uuid],
    ) -> Result<Vec<(Uuid, EvidenceLink)>> {
        if subjects.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<LinkRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT l.subject_id, l.evidence_id, e.sha256, l.role, l.linked_by, l.linked_at, l.signals
                 FROM evidence_links l JOIN evidence e ON e.id = l.evidence_id
                 WHERE l.subject_kind = ",
            );
            q.push_bind(kind.to_string()).push(" AND l.subject_id IN (");
            let mut s = q.separated(", ");
            for id in subjects {
                s.push_bind(*id);
            }
            s.push_unseparated(") ORDER BY l.linked_at, l.evidence_id");
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter()
            .map(|r| {
                let role = EvidenceRole::parse(&r.role)
                    .ok_or_else(|| Error::internal(format!("link with role {}", r.role)))?;
                Ok((
                    r.subject_id,
                    EvidenceLink {
                        evidence_id: r.evidence_id,
                        sha256: r.sha256,
                        role,
                        linked_by: r.linked_by,
                        linked_at: r.linked_at.0,
                        signals: r.signals.0,
                    },
                ))
            })
            .collect()
    }

    /// Every check-record link of evidence with these bytes, in any unit:
    /// (record, evidence) pairs.
    pub async fn check_links_of_bytes(&self, sha256: &str) -> Result<Vec<(Uuid, Uuid)>> {
        Ok(on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT l.subject_id, l.evidence_id FROM evidence_links l
                 JOIN evidence e ON e.id = l.evidence_id
                 WHERE e.sha256 = $1 AND l.subject_kind = 'check_record'",
            )
            .bind(sha256)
            .fetch_all(p)
            .await
        })?)
    }

    pub async fn set_link_signals(
        &self,
        evidence: Uuid,
        kind: &str,
        subject: Uuid,
        signals: &[Signal],
    ) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "UPDATE evidence_links SET signals = $4
                 WHERE evidence_id = $1 AND subject_kind = $2 AND subject_id = $3",
            )
            .bind(evidence)
            .bind(kind)
            .bind(subject)
            .bind(Json(signals))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
