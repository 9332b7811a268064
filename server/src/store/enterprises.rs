//! SQL of enterprises, their accidents and the public list.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, is_unique_violation, location_from_columns, on_pool, push_unit_filter};
use crate::domain::enterprise::{
    ACCIDENT, Accident, AccidentFacts, AccidentLevel, Enterprise, EnterpriseInfo, Listing,
};
use crate::domain::event::Change;
use crate::domain::rectification::AccidentConditions;
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    id: Uuid,
    credit_code: String,
    name: String,
    address: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    altitude_m: Option<f64>,
    datum: Option<String>,
    unit_code: String,
    listed_at: Option<Ts>,
    listed_by: Option<String>,
    listing_reason: Option<String>,
    created_by: String,
    created_at: Ts,
    updated_by: String,
    updated_at: Ts,
    version: i64,
}

const COLUMNS: &str = "id, credit_code, name, address, latitude, longitude, accuracy_m, altitude_m, \
    datum, unit_code, listed_at, listed_by, listing_reason, created_by, created_at, updated_by, \
    updated_at, version";

impl TryFrom<EnterpriseRow> for Enterprise {
    type Error = Error;
    fn try_from(r: EnterpriseRow) -> Result<Enterprise> {
        Ok(Enterprise {
            id: r.id,
            info: EnterpriseInfo {
                location: location_from_columns(
                    r.latitude,
                    r.longitude,
                    r.accuracy_m,
                    r.altitude_m,
                    r.datum.as_deref(),
                )?,
                credit_code: r.credit_code,
                name: r.name,
                address: r.address,
                unit_code: r.unit_code,
            },
            listing: match (r.listed_at, r.listed_by) {
                (Some(at), Some(by)) => Some(Listing {
                    at: at.0,
                    by,
                    reason: r.listing_reason.unwrap_or_default(),
                }),
                _ => None,
            },
            created_by: r.created_by,
            created_at: r.created_at.0,
            updated_by: r.updated_by,
            updated_at: r.updated_at.0,
            version: r.version,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AccidentRow {
    id: Uuid,
    credit_code: String,
    unit_code: String,
    occurred_on: NaiveDate,
    level: String,
    description: String,
    conditions: Json<AccidentConditions>,
    referred: bool,
    referral_note: String,
    recorded_by: String,
    recorded_at: Ts,
    version: i64,
}

const ACCIDENT_COLUMNS: &str = "id, credit_code, unit_code, occurred_on, level, description, \
    conditions, referred, referral_note, recorded_by, recorded_at, version";

/// Links evidence `$ids` to accident `$id` within transaction `$tx`.
macro_rules! link_accident_evidence {
    ($tx:expr, $id:expr, $ids:expr, $by:expr, $at:expr) => {{
        for e in $ids {
            sqlx::query(
                "INSERT INTO evidence_links (evidence_id, subject_kind, subject_id, role, linked_by, linked_at)
                 VALUES ($1, $2, $3, 'context', $4, $5)",
            )
            .bind(e)
            .bind(ACCIDENT)
            .bind($id)
            .bind($by)
            .bind(Ts($at))
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Store {
    /// Registers an enterprise; ALREADY_EXISTS when its code is taken.
    pub async fn insert_enterprise(&self, e: &Enterprise, change: &Change) -> Result<()> {
        let i = &e.info;
        let wgs = i.location.map(|l| l.to_wgs84());
        let r = commit_change!(self, |tx| {
            sqlx::query(
                    "INSERT INTO enterprises (credit_code, name, address, latitude, longitude,
                        accuracy_m, altitude_m, datum, wgs84_latitude, wgs84_longitude, unit_code,
                        created_by, created_at, updated_by, updated_at, version, id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $13, $14, $15)",
                )
                .bind(&i.credit_code)
                .bind(&i.name)
                .bind(&i.address)
                .bind(i.location.map(|l| l.latitude))
                .bind(i.location.map(|l| l.longitude))
                .bind(i.location.map(|l| l.accuracy_m))
                .bind(i.location.and_then(|l| l.altitude_m))
                .bind(i.location.map(|l| l.datum.as_str()))
                .bind(wgs.map(|w| w.latitude))
                .bind(wgs.map(|w| w.longitude))
                .bind(&i.unit_code)
                .bind(&e.created_by)
                .bind(Ts(e.created_at))
                .bind(e.version)
                .bind(e.id)
                .execute(&mut *tx)
                .await?;
            Ok(Wrote::Changes((), vec![change.clone()]))
        });
        match r {
            Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists(format!(
                "enterprise {} is registered already",
                i.credit_code
            ))),
            r => {
                r?;
                Ok(())
            }
        }
    }

    pub async fn get_enterprise(&self, code: &str) -> Result<Option<Enterprise>> {
        let sql = format!("SELECT {COLUMNS} FROM enterprises WHERE credit_code = $1");
        let row: Option<EnterpriseRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(code)
                .fetch_optional(p)
                .await
        })?;
        row.map(Enterprise::try_from).transpose()
    }

    /// Enterprises in `units` (None: all), by unit and name; only those on
    /// the public list when `listed_only`.
    pub async fn list_enterprises(
        &self,
        units: Option<&[String]>,
        listed_only: bool,
    ) -> Result<Vec<Enterprise>> {
        let rows: Vec<EnterpriseRow> = on_pool!(self, |p| {
            let mut q =
                sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM enterprises WHERE TRUE"));
            push_unit_filter!(q, units);
            if listed_only {
                q.push(" AND listed_at IS NOT NULL");
            }
            q.push(" ORDER BY unit_code, name, credit_code");
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter().map(Enterprise::try_from).collect()
    }

    pub async fn insert_accident(&self, a: &Accident, change: &Change) -> Result<()> {
        let f = &a.facts;
        commit_change!(self, |tx| {
            sqlx::query(
                "INSERT INTO accidents (id, credit_code, unit_code, occurred_on, level,
                        description, conditions, referred, referral_note, recorded_by, recorded_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(a.id)
            .bind(&a.credit_code)
            .bind(&a.unit_code)
            .bind(f.occurred_on)
            .bind(f.level.as_str())
            .bind(&f.description)
            .bind(Json(&f.conditions))
            .bind(f.referred)
            .bind(&f.referral_note)
            .bind(&a.recorded_by)
            .bind(Ts(a.recorded_at))
            .execute(&mut *tx)
            .await?;
            link_accident_evidence!(tx, a.id, &a.evidence, &a.recorded_by, a.recorded_at);
            Ok(Wrote::Changes((), vec![change.clone()]))
        })?;
        Ok(())
    }

    /// Stores what an update added to an accident read at `read_version`,
    /// with the evidence it links anew; false when it changed meanwhile.
    pub async fn save_accident(
        &self,
        read_version: i64,
        a: &Accident,
        added: &[Uuid],
        change: &Change,
    ) -> Result<bool> {
        let f = &a.facts;
        let saved = commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE accidents SET conditions = $3, referred = $4, referral_note = $5,
                        version = $6
                     WHERE id = $1 AND version = $2",
            )
            .bind(a.id)
            .bind(read_version)
            .bind(Json(&f.conditions))
            .bind(f.referred)
            .bind(&f.referral_note)
            .bind(a.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            link_accident_evidence!(tx, a.id, added, &change.actor, change.at);
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?;
        Ok(saved)
    }

    pub async fn get_accident(&self, id: Uuid) -> Result<Option<Accident>> {
        let sql = format!("SELECT {ACCIDENT_COLUMNS} FROM accidents WHERE id = $1");
        let rows: Vec<AccidentRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_all(p)
                .await
        })?;
        Ok(self.accidents_from(rows).await?.pop())
    }

    /// The accidents of an enterprise, oldest first.
    pub async fn accidents_of(&self, code: &str) -> Result<Vec<Accident>> {
        let sql = format!(
            "SELECT {ACCIDENT_COLUMNS} FROM accidents WHERE credit_code = $1 ORDER BY occurred_on, id"
        );
        let rows: Vec<AccidentRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(code)
                .fetch_all(p)
                .await
        })?;
        self.accidents_from(rows).await
    }

    /// Accidents from their rows, with their evidence.
    async fn accidents_from(&self, rows: Vec<AccidentRow>) -> Result<Vec<Accident>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut evidence: std::collections::HashMap<Uuid, Vec<Uuid>> = Default::default();
        for (subject, link) in self.links_of(ACCIDENT, &ids).await? {
            evidence.entry(subject).or_default().push(link.evidence_id);
        }
        rows.into_iter()
            .map(|r| {
                Ok(Accident {
                    evidence: evidence.remove(&r.id).unwrap_or_default(),
                    version: r.version,
                    facts: AccidentFacts {
                        occurred_on: r.occurred_on,
                        level: AccidentLevel::parse(&r.level).ok_or_else(|| {
                            Error::internal(format!("accident {} has a bad level", r.id))
                        })?,
                        description: r.description,
                        conditions: r.conditions.0,
                        referred: r.referred,
                        referral_note: r.referral_note,
                    },
                    id: r.id,
                    credit_code: r.credit_code,
                    unit_code: r.unit_code,
                    recorded_by: r.recorded_by,
                    recorded_at: r.recorded_at.0,
                })
            })
            .collect()
    }

    /// Puts an enterprise on the public list; false when it is on it.
    pub async fn list_publicly(
        &self,
        code: &str,
        by: &str,
        at: DateTime<Utc>,
        reason: &str,
        change: &Change,
    ) -> Result<bool> {
        let listed = commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE enterprises SET listed_at = $2, listed_by = $3, listing_reason = $4,
                        updated_by = $3, updated_at = $2, version = version + 1
                     WHERE credit_code = $1 AND listed_at IS NULL",
            )
            .bind(code)
            .bind(Ts(at))
            .bind(by)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(Wrote::if_written(n, change))
        })?;
        Ok(listed)
    }
}
