//! SQL of units.

use super::{Store, Ts, is_unique_violation, on_pool};
use crate::domain::unit::{Unit, UnitKind};
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct UnitRow {
    code: String,
    name: String,
    kind: String,
    parent_code: Option<String>,
    active: bool,
    created_at: Ts,
    updated_at: Ts,
}

impl TryFrom<UnitRow> for Unit {
    type Error = Error;
    fn try_from(r: UnitRow) -> Result<Unit> {
        Ok(Unit {
            kind: UnitKind::parse(&r.kind)
                .ok_or_else(|| Error::internal(format!("unit {} has kind {}", r.code, r.kind)))?,
            code: r.code,
            name: r.name,
            parent_code: r.parent_code,
            active: r.active,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

const COLUMNS: &str = "code, name, kind, parent_code, active, created_at, updated_at";

impl Store {
    pub async fn list_units(&self, include_inactive: bool) -> Result<Vec<Unit>> {
        let sql = format!("SELECT {COLUMNS} FROM units WHERE active OR $1 ORDER BY code");
        let rows: Vec<UnitRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(include_inactive)
                .fetch_all(p)
                .await
        })?;
        rows.into_iter().map(Unit::try_from).collect()
    }

    pub async fn get_unit(&self, code: &str) -> Result<Option<Unit>> {
        let sql = format!("SELECT {COLUMNS} FROM units WHERE code = $1");
        let row: Option<UnitRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(code)
                .fetch_optional(p)
                .await
        })?;
        row.map(Unit::try_from).transpose()
    }

    /// Inserts a unit; ALREADY_EXISTS when the code is taken.
    pub async fn insert_unit(&self, u: &Unit) -> Result<()> {
        let res = on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO units (code, name, kind, parent_code, active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&u.code)
            .bind(&u.name)
            .bind(u.kind.as_str())
            .bind(&u.parent_code)
            .bind(u.active)
            .bind(Ts(u.created_at))
            .bind(Ts(u.updated_at))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        });
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists(format!(
                "unit {} already exists",
                u.code
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets name and active flag; None when no such unit.
    pub async fn update_unit(
        &self,
        code: &str,
        name: &str,
        active: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Unit>> {
        let sql = format!(
            "UPDATE units SET name = $2, active = $3, updated_at = $4 WHERE code = $1 RETURNING {COLUMNS}"
        );
        let row: Option<UnitRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(code)
                .bind(name)
                .bind(active)
                .bind(Ts(at))
                .fetch_optional(p)
                .await
        })?;
        row.map(Unit::try_from).transpose()
    }

    /// Codes among `codes` that name no unit.
    pub async fn unknown_units(&self, codes: &[String]) -> Result<Vec<String>> {
        let known: Vec<String> = self
            .list_units(true)
            .await?
            .into_iter()
            .map(|u| u.code)
            .collect();
        Ok(codes
            .iter()
            .filter(|c| !known.contains(c))
            .cloned()
            .collect())
    }
}
