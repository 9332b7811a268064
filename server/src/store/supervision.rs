//! SQL of supervision cases.

use chrono::NaiveDate;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::event::Change;
use crate::domain::supervision::{
    CaseState, Cause, Closing, NewCase, Notice, Response, SourceKind, SupervisionCase,
};
use crate::error::{Error, Result};

/// Opens `$case` (a `NewCase`) within transaction `$tx` unless its source
/// has a case of the same cause open; evaluates to whether it did.
macro_rules! insert_case {
    ($tx:expr, $case:expr) => {{
        let case: &$crate::domain::supervision::NewCase = $case;
        sqlx::query(
            "INSERT INTO supervision_cases (id, source_kind, source_id, cause, unit_code, reason, state,
                opened_by, opened_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (source_kind, source_id, cause) WHERE state <> 'closed' DO NOTHING",
        )
        .bind(case.id)
        .bind(case.source_kind.as_str())
        .bind(case.source_id)
        .bind(case.cause.as_str())
        .bind(&case.unit_code)
        .bind(&case.reason)
        .bind($crate::domain::supervision::CaseState::Open.as_str())
        .bind(&case.opened_by)
        .bind($crate::store::Ts(case.opened_at))
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1
    }};
}
pub(super) use insert_case;

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    source_kind: String,
    source_id: Uuid,
    cause: String,
    unit_code: String,
    reason: String,
    state: String,
    opened_by: String,
    opened_at: Ts,
    notice: Option<String>,
    notice_due: Option<NaiveDate>,
    noticed_by: Option<String>,
    noticed_at: Option<Ts>,
    response: Option<String>,
    response_evidence: Json<Vec<Uuid>>,
    responded_by: Option<String>,
    responded_at: Option<Ts>,
    outcome: Option<String>,
    closed_by: Option<String>,
    closed_at: Option<Ts>,
    version: i64,
}

const COLUMNS: &str = "id, source_kind, source_id, cause, unit_code, reason, state, opened_by, opened_at, \
    notice, notice_due, noticed_by, noticed_at, response, response_evidence, responded_by, \
    responded_at, outcome, closed_by, closed_at, version";

impl TryFrom<CaseRow> for SupervisionCase {
    type Error = Error;
    fn try_from(r: CaseRow) -> Result<SupervisionCase> {
        let bad =
            |what: &str| Error::internal(format!("supervision case {} has a bad {what}", r.id));
        Ok(SupervisionCase {
            source_kind: SourceKind::parse(&r.source_kind).ok_or_else(|| bad("source"))?,
            cause: Cause::parse(&r.cause).ok_or_else(|| bad("cause"))?,
            state: CaseState::parse(&r.state).ok_or_else(|| bad("state"))?,
            notice: match (r.notice, r.notice_due, r.noticed_by, r.noticed_at) {
                (Some(text), Some(due), Some(by), Some(at)) => Some(Notice {
                    text,
                    due,
                    by,
                    at: at.0,
                }),
                _ => None,
            },
            response: match (r.response, r.responded_by, r.responded_at) {
                (Some(text), Some(by), Some(at)) => Some(Response {
                    text,
                    evidence: r.response_evidence.0,
                    by,
                    at: at.0,
                }),
                _ => None,
            },
            closing: match (r.outcome, r.closed_by, r.closed_at) {
                (Some(outcome), Some(by), Some(at)) => Some(Closing {
                    outcome,
                    by,
                    at: at.0,
                }),
                _ => None,
            },
            id: r.id,
            source_id: r.source_id,
            unit_code: r.unit_code,
            reason: r.reason,
            opened_by: r.opened_by,
            opened_at: r.opened_at.0,
            version: r.version,
        })
    }
}

impl Store {
    /// Opens a case; false when its source has one already.
    pub async fn open_case(&self, case: &NewCase) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            Ok(if insert_case!(tx, case) {
                Wrote::Changes(true, vec![case.change()])
            } else {
                Wrote::Nothing(false)
            })
        })?)
    }

    pub async fn get_case(&self, id: Uuid) -> Result<Option<SupervisionCase>> {
        let sql = format!("SELECT {COLUMNS} FROM supervision_cases WHERE id = $1");
        let row: Option<CaseRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.map(SupervisionCase::try_from).transpose()
    }

    /// The cases of a source, of every cause, oldest first.
    pub async fn cases_of_source(
        &self,
        kind: SourceKind,
        id: Uuid,
    ) -> Result<Vec<SupervisionCase>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM supervision_cases
             WHERE source_kind = $1 AND source_id = $2 ORDER BY opened_at, id"
        );
        let rows: Vec<CaseRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(kind.as_str())
                .bind(id)
                .fetch_all(p)
                .await
        })?;
        rows.into_iter().map(SupervisionCase::try_from).collect()
    }

    /// Cases in `units` (None: all), in `states` (all when empty), newest
    /// first, at most `limit`.
    pub async fn list_cases(
        &self,
        units: Option<&[String]>,
        states: &[CaseState],
        limit: i64,
    ) -> Result<Vec<SupervisionCase>> {
        let rows: Vec<CaseRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM supervision_cases WHERE TRUE"
            ));
            push_unit_filter!(q, units);
            if !states.is_empty() {
                q.push(" AND state IN (");
                let mut s = q.separated(", ");
                for st in states {
                    s.push_bind(st.as_str());
                }
                q.push(")");
            }
            q.push(" ORDER BY opened_at DESC, id DESC LIMIT ")
                .push_bind(limit);
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter().map(SupervisionCase::try_from).collect()
    }

    /// Stores a step taken on a case read at `read_version`; false when the
    /// case changed meanwhile.
    pub async fn save_case(
        &self,
        read_version: i64,
        c: &SupervisionCase,
        change: &Change,
    ) -> Result<bool> {
        let saved = commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE supervision_cases SET state = $3, notice = $4, notice_due = $5,
                        noticed_by = $6, noticed_at = $7, response = $8, response_evidence = $9,
                        responded_by = $10, responded_at = $11, outcome = $12, closed_by = $13,
                        closed_at = $14, version = $15
                     WHERE id = $1 AND version = $2",
            )
            .bind(c.id)
            .bind(read_version)
            .bind(c.state.as_str())
            .bind(c.notice.as_ref().map(|n| n.text.clone()))
            .bind(c.notice.as_ref().map(|n| n.due))
            .bind(c.notice.as_ref().map(|n| n.by.clone()))
            .bind(c.notice.as_ref().map(|n| Ts(n.at)))
            .bind(c.response.as_ref().map(|r| r.text.clone()))
            .bind(Json(
                c.response
                    .as_ref()
                    .map(|r| r.evidence.clone())
                    .unwrap_or_default(),
            ))
            .bind(c.response.as_ref().map(|r| r.by.clone()))
            .bind(c.response.as_ref().map(|r| Ts(r.at)))
            .bind(c.closing.as_ref().map(|x| x.outcome.clone()))
            .bind(c.closing.as_ref().map(|x| x.by.clone()))
            .bind(c.closing.as_ref().map(|x| Ts(x.at)))
            .bind(c.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(Wrote::if_written(n, change))
        })?;
        Ok(saved)
    }
}
