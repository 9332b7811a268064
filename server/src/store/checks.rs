//! SQL of check records.

use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::check::{
    CheckContent, CheckCursor, CheckFilter, CheckKind, CheckRecord, ChecklistItem,
};
use crate::domain::event::Change;
use crate::domain::evidence::ExpectedEvidence;
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct CheckRow {
    id: Uuid,
    kind: String,
    unit_code: String,
    campaign_id: Option<Uuid>,
    subject_name: String,
    credit_code: Option<String>,
    address: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    altitude_m: Option<f64>,
    datum: Option<String>,
    started_at: Ts,
    ended_at: Option<Ts>,
    inspectors: Json<Vec<String>>,
    checklist: Json<Vec<ChecklistItem>>,
    narrative: String,
    expected_evidence: Json<Vec<ExpectedEvidence>>,
    received_at: Ts,
    created_by: String,
    updated_at: Ts,
    updated_by: String,
    version: i64,
    content_digest: String,
}

const EXPECT: &str =
    "INSERT INTO check_expected_evidence (check_record_id, sha256, role) VALUES ($1, $2, $3)";

const COLUMNS: &str = "id, kind, unit_code, campaign_id, subject_name, credit_code, address, \
    latitude, longitude, accuracy_m, altitude_m, datum, started_at, ended_at, inspectors, \
    checklist, narrative, expected_evidence, received_at, created_by, updated_at, updated_by, version, content_digest";

/// A stored record with the digest of the content it was created with.
pub struct StoredCheck {
    pub record: CheckRecord,
    pub created_digest: String,
}

impl TryFrom<CheckRow> for StoredCheck {
    type Error = Error;
    fn try_from(r: CheckRow) -> Result<StoredCheck> {
        let bad = |what: &str| Error::internal(format!("check record {} has a bad {what}", r.id));
        let location = super::location_from_columns(
            r.latitude,
            r.longitude,
            r.accuracy_m,
            r.altitude_m,
            r.datum.as_deref(),
        )?;
        let content = CheckContent {
            kind: CheckKind::parse(&r.kind).ok_or_else(|| bad("kind"))?,
            unit_code: r.unit_code,
            campaign_id: r.campaign_id,
            subject_name: r.subject_name,
            credit_code: r.credit_code,
            address: r.address,
            location,
            started_at: r.started_at.0,
            ended_at: r.ended_at.map(|t| t.0),
            inspectors: r.inspectors.0,
            checklist: r.checklist.0,
            narrative: r.narrative,
            expected_evidence: r.expected_evidence.0,
        };
        Ok(StoredCheck {
            record: CheckRecord {
                id: r.id,
                content,
                received_at: r.received_at.0,
                created_by: r.created_by,
                updated_at: r.updated_at.0,
                updated_by: r.updated_by,
                version: r.version,
            },
            created_digest: r.content_digest,
        })
    }
}

/// Binds $1 to $23 of an insert or update: the id, the content with its
/// WGS-84 position, the last change, and the expected evidence.
macro_rules! bind_record {
    ($query:expr, $rec:expr) => {{
        let (rec, c) = ($rec, &$rec.content);
        let wgs = c.location_wgs84();
        $query
            .bind(rec.id)
            .bind(c.kind.as_str())
            .bind(&c.unit_code)
            .bind(c.campaign_id)
            .bind(&c.subject_name)
            .bind(&c.credit_code)
            .bind(&c.address)
            .bind(c.location.map(|l| l.latitude))
            .bind(c.location.map(|l| l.longitude))
            .bind(c.location.map(|l| l.accuracy_m))
            .bind(c.location.and_then(|l| l.altitude_m))
            .bind(c.location.map(|l| l.datum.as_str()))
            .bind(wgs.map(|w| w.latitude))
            .bind(wgs.map(|w| w.longitude))
            .bind(Ts(c.started_at))
            .bind(c.ended_at.map(Ts))
            .bind(Json(&c.inspectors))
            .bind(Json(&c.checklist))
            .bind(&c.narrative)
            .bind(Ts(rec.updated_at))
            .bind(&rec.updated_by)
            .bind(rec.version)
            .bind(Json(&c.expected_evidence))
    }};
}

impl Store {
    /// Inserts a new record. Returns false, writing nothing, when its id or
    /// its creator's request id is already taken.
    pub async fn insert_check(
        &self,
        rec: &CheckRecord,
        request_id: Option<&str>,
        change: &Change,
    ) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = bind_record!(
                    sqlx::query(
                        "INSERT INTO check_records (id, kind, unit_code, campaign_id, subject_name,
                            credit_code, address, latitude, longitude, accuracy_m, altitude_m, datum,
                            wgs84_latitude, wgs84_longitude, started_at, ended_at, inspectors,
                            checklist, narrative, updated_at, updated_by, version, expected_evidence,
                            received_at, created_by, content_digest, request_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                            $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)
                         ON CONFLICT DO NOTHING",
                    ),
                    rec
                )
                .bind(Ts(rec.received_at))
                .bind(&rec.created_by)
                .bind(rec.content.digest())
                .bind(request_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            for e in &rec.content.expected_evidence {
                sqlx::query(EXPECT)
                    .bind(rec.id)
                    .bind(&e.sha256)
                    .bind(e.role.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?)
    }

    pub async fn get_check(&self, id: Uuid) -> Result<Option<StoredCheck>> {
        let sql = format!("SELECT {COLUMNS} FROM check_records WHERE id = $1");
        let row: Option<CheckRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.map(StoredCheck::try_from).transpose()
    }

    pub async fn find_check_by_request(
        &self,
        created_by: &str,
        request_id: &str,
    ) -> Result<Option<StoredCheck>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM check_records WHERE created_by = $1 AND request_id = $2"
        );
        let row: Option<CheckRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(created_by)
                .bind(request_id)
                .fetch_optional(p)
                .await
        })?;
        row.map(StoredCheck::try_from).transpose()
    }

    /// Writes `rec` over the stored version `rec.version - 1`. Returns false,
    /// writing nothing, when another update got there first.
    pub async fn update_check(&self, rec: &CheckRecord, change: &Change) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = bind_record!(
                    sqlx::query(
                        "UPDATE check_records SET kind = $2, campaign_id = $4, subject_name = $5,
                            credit_code = $6, address = $7, latitude = $8, longitude = $9,
                            accuracy_m = $10, altitude_m = $11, datum = $12, wgs84_latitude = $13,
                            wgs84_longitude = $14, started_at = $15, ended_at = $16, inspectors = $17,
                            checklist = $18, narrative = $19, updated_at = $20, updated_by = $21,
                            version = $22, expected_evidence = $23
                         WHERE id = $1 AND unit_code = $3 AND version = $24",
                    ),
                    rec
                )
                .bind(rec.version - 1)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            sqlx::query("DELETE FROM check_expected_evidence WHERE check_record_id = $1")
                .bind(rec.id)
                .execute(&mut *tx)
                .await?;
            for e in &rec.content.expected_evidence {
                sqlx::query(EXPECT)
                    .bind(rec.id)
                    .bind(&e.sha256)
                    .bind(e.role.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?)
    }

    /// One page of records in list order (newest start first, then id
    /// descending), after `cursor` when given. Keyset paging keeps pages
    /// stable while records are being added.
    pub async fn list_checks(
        &self,
        f: &CheckFilter,
        cursor: Option<CheckCursor>,
        limit: usize,
    ) -> Result<Vec<CheckRecord>> {
        let rows: Vec<CheckRow> = on_pool!(self, |p| {
            let mut q =
                QueryBuilder::new(format!("SELECT {COLUMNS} FROM check_records WHERE TRUE"));
            push_unit_filter!(q, &f.unit_codes);
            if let Some(c) = f.campaign_id {
                q.push(" AND campaign_id = ").push_bind(c);
            }
            if let Some(k) = f.kind {
                q.push(" AND kind = ").push_bind(k.as_str());
            }
            if let Some(t) = f.started_from {
                q.push(" AND started_at >= ").push_bind(Ts(t));
            }
            if let Some(t) = f.started_before {
                q.push(" AND started_at < ").push_bind(Ts(t));
            }
            if let Some(b) = f.bounding_box {
                q.push(" AND wgs84_latitude BETWEEN ")
                    .push_bind(b.min_latitude);
                q.push(" AND ").push_bind(b.max_latitude);
                q.push(" AND wgs84_longitude BETWEEN ")
                    .push_bind(b.min_longitude);
                q.push(" AND ").push_bind(b.max_longitude);
            }
            if let Some(c) = cursor {
                q.push(" AND (started_at, id) < (")
                    .push_bind(Ts(c.started_at));
                q.push(", ").push_bind(c.id).push(")");
            }
            q.push(" ORDER BY started_at DESC, id DESC LIMIT ")
                .push_bind(limit as i64);
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter()
            .map(|r| StoredCheck::try_from(r).map(|s| s.record))
            .collect()
    }
}
