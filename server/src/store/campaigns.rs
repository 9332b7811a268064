//! SQL of campaigns.

use chrono::NaiveDate;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, is_unique_violation, on_pool};
use crate::domain::campaign::{Campaign, CampaignPlan, CampaignStatus, Team};
use crate::domain::event::Change;
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: Uuid,
    year: i32,
    title: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    target_units: Json<Vec<String>>,
    teams: Json<Vec<Team>>,
    status: String,
    created_by: String,
    created_at: Ts,
    updated_by: String,
    updated_at: Ts,
    version: i64,
}

const COLUMNS: &str = "id, year, title, starts_on, ends_on, target_units, teams, status, \
    created_by, created_at, updated_by, updated_at, version";

impl TryFrom<CampaignRow> for Campaign {
    type Error = Error;
    fn try_from(r: CampaignRow) -> Result<Campaign> {
        Ok(Campaign {
            status: CampaignStatus::parse(&r.status)
                .ok_or_else(|| Error::internal(format!("campaign {} has a bad status", r.id)))?,
            id: r.id,
            plan: CampaignPlan {
                year: r.year,
                title: r.title,
                starts_on: r.starts_on,
                ends_on: r.ends_on,
                target_units: r.target_units.0,
                teams: r.teams.0,
            },
            created_by: r.created_by,
            created_at: r.created_at.0,
            updated_by: r.updated_by,
            updated_at: r.updated_at.0,
            version: r.version,
        })
    }
}

fn year_taken(year: i32) -> Error {
    Error::AlreadyExists(format!(
        "a campaign for {year} exists already: there is one comprehensive inspection a year"
    ))
}

impl Store {
    /// Stores a new campaign; ALREADY_EXISTS when its year has one.
    pub async fn insert_campaign(&self, c: &Campaign, change: &Change) -> Result<()> {
        let p = &c.plan;
        let r = commit_change!(self, |tx| {
            sqlx::query(
                "INSERT INTO campaigns (id, year, title, starts_on, ends_on, target_units, teams,
                        status, created_by, created_at, updated_by, updated_at, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $10, $11)",
            )
            .bind(c.id)
            .bind(p.year)
            .bind(&p.title)
            .bind(p.starts_on)
            .bind(p.ends_on)
            .bind(Json(&p.target_units))
            .bind(Json(&p.teams))
            .bind(c.status.as_str())
            .bind(&c.created_by)
            .bind(Ts(c.created_at))
            .bind(c.version)
            .execute(&mut *tx)
            .await?;
            Ok(Wrote::Changes((), vec![change.clone()]))
        });
        match r {
            Err(e) if is_unique_violation(&e) => Err(year_taken(p.year)),
            r => Ok(r?),
        }
    }

    /// Writes `c` over stored version `c.version - 1`; false when another
    /// change got there first.
    pub async fn update_campaign(&self, c: &Campaign, change: &Change) -> Result<bool> {
        let p = &c.plan;
        let r = commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE campaigns SET year = $2, title = $3, starts_on = $4, ends_on = $5,
                        target_units = $6, teams = $7, status = $8, updated_by = $9,
                        updated_at = $10, version = $11
                     WHERE id = $1 AND version = $12",
            )
            .bind(c.id)
            .bind(p.year)
            .bind(&p.title)
            .bind(p.starts_on)
            .bind(p.ends_on)
            .bind(Json(&p.target_units))
            .bind(Json(&p.teams))
            .bind(c.status.as_str())
            .bind(&c.updated_by)
            .bind(Ts(c.updated_at))
            .bind(c.version)
            .bind(c.version - 1)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(Wrote::if_written(n, change))
        });
        match r {
            Err(e) if is_unique_violation(&e) => Err(year_taken(p.year)),
            r => Ok(r?),
        }
    }

    pub async fn get_campaign(&self, id: Uuid) -> Result<Option<Campaign>> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1");
        let row: Option<CampaignRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.map(Campaign::try_from).transpose()
    }

    /// Every campaign, newest year first (one a year: the list is short).
    pub async fn list_campaigns(&self) -> Result<Vec<Campaign>> {
        let sql = format!("SELECT {COLUMNS} FROM campaigns ORDER BY year DESC");
        let rows: Vec<CampaignRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(p)
                .await
        })?;
        rows.into_iter().map(Campaign::try_from).collect()
    }
}
