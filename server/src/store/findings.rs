//! SQL of findings.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::event::Change;
use crate::domain::finding::{
    Category, Finding, FindingContent, FindingCursor, FindingFilter, FindingStatus, ItemCounts,
    Medium, Severity, Source,
};
use crate::error::{Error, Result};

/// The kind of subject of finding links and events.
pub const FINDING: &str = "finding";

/// SQL that is true for items neither signed off nor cancelled.
const ITEM_OPEN: &str = "state NOT IN ('verified', 'cancelled')";

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: Uuid,
    campaign_id: Option<Uuid>,
    unit_code: String,
    category: String,
    medium: String,
    severity: String,
    title: String,
    description: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    altitude_m: Option<f64>,
    datum: Option<String>,
    credit_code: Option<String>,
    sources: Json<Vec<Source>>,
    created_by: String,
    created_at: Ts,
    updated_by: String,
    updated_at: Ts,
    version: i64,
    content_digest: String,
}

const COLUMNS: &str = "id, campaign_id, unit_code, category, medium, severity, title, description, \
    latitude, longitude, accuracy_m, altitude_m, datum, credit_code, sources, created_by, created_at, \
    updated_by, updated_at, version, content_digest";

/// A stored finding with the digest of the content it was created with.
pub struct StoredFinding {
    pub finding: Finding,
    pub created_digest: String,
}

impl FindingRow {
    fn into_stored(self, before: Vec<Uuid>) -> Result<StoredFinding> {
        let bad = |what: &str| Error::internal(format!("finding {} has a bad {what}", self.id));
        let location = super::location_from_columns(
            self.latitude,
            self.longitude,
            self.accuracy_m,
            self.altitude_m,
            self.datum.as_deref(),
        )?;
        let content = FindingContent {
            unit_code: self.unit_code,
            campaign_id: self.campaign_id,
            category: Category::parse(&self.category).ok_or_else(|| bad("category"))?,
            medium: Medium::parse(&self.medium).ok_or_else(|| bad("medium"))?,
            severity: Severity::parse(&self.severity).ok_or_else(|| bad("severity"))?,
            title: self.title,
            description: self.description,
            location,
            credit_code: self.credit_code,
            sources: self.sources.0,
            before_evidence: before,
        };
        Ok(StoredFinding {
            finding: Finding {
                id: self.id,
                content,
                created_by: self.created_by,
                created_at: self.created_at.0,
                updated_by: self.updated_by,
                updated_at: self.updated_at.0,
                version: self.version,
            },
            created_digest: self.content_digest,
        })
    }
}

impl Store {
    /// Stores a new finding with its BEFORE links; false when its id or
    /// request id is taken.
    pub async fn insert_finding(
        &self,
        f: &Finding,
        request_id: Option<&str>,
        change: &Change,
    ) -> Result<bool> {
        let c = &f.content;
        let wgs = c.location_wgs84();
        let inserted = commit_change!(self, |tx| {
            let n = sqlx::query(
                "INSERT INTO findings (id, campaign_id, unit_code, category, medium, severity,
                        title, description, latitude, longitude, accuracy_m, altitude_m, datum,
                        wgs84_latitude, wgs84_longitude, credit_code, sources, created_by,
                        created_at, updated_by, updated_at, version, content_digest, request_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, $19, $18, $19, $20, $21, $22)
                     ON CONFLICT DO NOTHING",
            )
            .bind(f.id)
            .bind(c.campaign_id)
            .bind(&c.unit_code)
            .bind(c.category.as_str())
            .bind(c.medium.as_str())
            .bind(c.severity.as_str())
            .bind(&c.title)
            .bind(&c.description)
            .bind(c.location.map(|l| l.latitude))
            .bind(c.location.map(|l| l.longitude))
            .bind(c.location.map(|l| l.accuracy_m))
            .bind(c.location.and_then(|l| l.altitude_m))
            .bind(c.location.map(|l| l.datum.as_str()))
            .bind(wgs.map(|w| w.latitude))
            .bind(wgs.map(|w| w.longitude))
            .bind(&c.credit_code)
            .bind(Json(&c.sources))
            .bind(&f.created_by)
            .bind(Ts(f.created_at))
            .bind(f.version)
            .bind(c.digest())
            .bind(request_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            for e in &c.before_evidence {
                sqlx::query(
                        "INSERT INTO evidence_links (evidence_id, subject_kind, subject_id, role, linked_by, linked_at)
                         VALUES ($1, 'finding', $2, 'before', $3, $4)",
                    )
                    .bind(e)
                    .bind(f.id)
                    .bind(&f.created_by)
                    .bind(Ts(f.created_at))
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?;
        Ok(inserted)
    }

    pub async fn get_finding(&self, id: Uuid) -> Result<Option<StoredFinding>> {
        let sql = format!("SELECT {COLUMNS} FROM findings WHERE id = $1");
        let rows: Vec<FindingRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_all(p)
                .await
        })?;
        Ok(self.with_before_links(rows).await?.pop())
    }

    pub async fn find_finding_by_request(
        &self,
        creator: &str,
        request_id: &str,
    ) -> Result<Option<StoredFinding>> {
        let sql =
            format!("SELECT {COLUMNS} FROM findings WHERE created_by = $1 AND request_id = $2");
        let rows: Vec<FindingRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(creator)
                .bind(request_id)
                .fetch_all(p)
                .await
        })?;
        Ok(self.with_before_links(rows).await?.pop())
    }

    async fn with_before_links(&self, rows: Vec<FindingRow>) -> Result<Vec<StoredFinding>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut before: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (subject, link) in self.links_of(FINDING, &ids).await? {
            before.entry(subject).or_default().push(link.evidence_id);
        }
        rows.into_iter()
            .map(|r| {
                let b = before.remove(&r.id).unwrap_or_default();
                r.into_stored(b)
            })
            .collect()
    }

    /// How the items of each finding stand on `today` (China's date).
    pub async fn item_counts(
        &self,
        findings: &[Uuid],
        today: NaiveDate,
    ) -> Result<HashMap<Uuid, ItemCounts>> {
        if findings.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(Uuid, i64, i64, i64, i64)> = on_pool!(self, |p| {
            let mut q = QueryBuilder::new(
                "SELECT finding_id, COUNT(*),
                    SUM(CASE WHEN state = 'verified' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN ",
            );
            q.push(ITEM_OPEN);
            q.push(" AND due_date < ");
            q.push_bind(today);
            q.push(" THEN 1 ELSE 0 END) FROM rectification_items WHERE finding_id IN (");
            let mut s = q.separated(", ");
            for id in findings {
                s.push_bind(*id);
            }
            q.push(") GROUP BY finding_id");
            q.build_query_as().fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, total, verified, cancelled, overdue)| {
                (
                    id,
                    ItemCounts {
                        total,
                        verified,
                        cancelled,
                        overdue,
                    },
                )
            })
            .collect())
    }

    /// Findings matching `f`, newest first, after `cursor`.
    pub async fn list_findings(
        &self,
        f: &FindingFilter,
        cursor: Option<FindingCursor>,
        limit: usize,
    ) -> Result<Vec<Finding>> {
        let today = f.today.expect("the filter carries today's date");
        let rows: Vec<FindingRow> = on_pool!(self, |p| {
            let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM findings WHERE TRUE"));
            push_unit_filter!(q, &f.unit_codes);
            if let Some(c) = f.campaign_id {
                q.push(" AND campaign_id = ").push_bind(c);
            }
            if let Some(c) = f.category {
                q.push(" AND category = ").push_bind(c.as_str());
            }
            if let Some(m) = f.medium {
                q.push(" AND medium = ").push_bind(m.as_str());
            }
            if let Some(s) = f.severity {
                q.push(" AND severity = ").push_bind(s.as_str());
            }
            let items = "SELECT 1 FROM rectification_items i WHERE i.finding_id = findings.id";
            match f.status {
                None => {}
                Some(FindingStatus::Open) => {
                    q.push(format!(
                        " AND (NOT EXISTS ({items}) OR EXISTS ({items} AND i.{ITEM_OPEN}))"
                    ));
                }
                Some(s) => {
                    let last = if s == FindingStatus::Resolved {
                        "verified"
                    } else {
                        "cancelled"
                    };
                    q.push(format!(
                        " AND EXISTS ({items} AND i.state = '{last}') AND NOT EXISTS ({items} AND i.{ITEM_OPEN})"
                    ));
                    if s == FindingStatus::Cancelled {
                        q.push(format!(
                            " AND NOT EXISTS ({items} AND i.state = 'verified')"
                        ));
                    }
                }
            }
            if f.overdue {
                q.push(format!(
                    " AND EXISTS ({items} AND i.{ITEM_OPEN} AND i.due_date < "
                ));
                q.push_bind(today);
                q.push(")");
            }
            if let Some(b) = &f.bounding_box {
                q.push(" AND wgs84_latitude BETWEEN ")
                    .push_bind(b.min_latitude)
                    .push(" AND ")
                    .push_bind(b.max_latitude)
                    .push(" AND wgs84_longitude BETWEEN ")
                    .push_bind(b.min_longitude)
                    .push(" AND ")
                    .push_bind(b.max_longitude);
            }
            for word in f.words() {
                // Matched as plain text: LIKE's wildcards in the word are
                // taken literally.
                let pattern = format!(
                    "%{}%",
                    word.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                );
                q.push(" AND (title LIKE ")
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\' OR description LIKE ")
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
            if let Some(c) = cursor {
                q.push(" AND (created_at < ")
                    .push_bind(Ts(c.created_at))
                    .push(" OR (created_at = ")
                    .push_bind(Ts(c.created_at))
                    .push(" AND id < ")
                    .push_bind(c.id)
                    .push("))");
            }
            q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(limit as i64);
            q.build_query_as().fetch_all(p).await
        })?;
        Ok(self
            .with_before_links(rows)
            .await?
            .into_iter()
            .map(|s| s.finding)
            .collect())
    }
}
