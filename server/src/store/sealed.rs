//! SQL of the columns that hold sealed personal data: what the key check
//! at start and the rewrap to a new master key read and write.

use uuid::Uuid;

use super::{Store, on_pool};
use crate::error::Result;

/// A column holding sealed personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// A petition's complainant.
    Complainant,
    /// An official held to account.
    Official,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 2] = [SealedColumn::Complainant, SealedColumn::Official];

    /// Table, column, and the column ordering rows newest first.
    fn sql_names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedColumn::Complainant => ("petitions", "complainant", "created_at"),
            SealedColumn::Official => ("accountability_records", "official", "entered_at"),
        }
    }

    /// What a row of the column is called.
    pub fn record(self) -> &'static str {
        match self {
            SealedColumn::Complainant => "petition",
            SealedColumn::Official => "accountability record",
        }
    }
}

impl Store {
    /// The newest sealed value of each column, to check at start that the
    /// key file can open them.
    pub async fn newest_sealed_values(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for col in SealedColumn::ALL {
            let (table, column, newest) = col.sql_names();
            let sql = format!(
                "SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {newest} DESC LIMIT 1"
            );
            let v: Option<String> = on_pool!(self, |p| {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_optional(p)
                    .await
            })?;
            out.extend(v);
        }
        Ok(out)
    }

    /// Every sealed value of `col` with its row's id.
    pub async fn sealed_values(&self, col: SealedColumn) -> Result<Vec<(Uuid, String)>> {
        let (table, column, _) = col.sql_names();
        let sql = format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL");
        Ok(on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(p)
                .await
        })?)
    }

    /// Replaces a sealed value, unless it changed since it was read.
    pub async fn reseal(&self, col: SealedColumn, id: Uuid, old: &str, new: &str) -> Result<bool> {
        let (table, column, _) = col.sql_names();
        let sql = format!("UPDATE {table} SET {column} = $3 WHERE id = $1 AND {column} = $2");
        Ok(on_pool!(self, |p| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .bind(old)
                .bind(new)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })? == 1)
    }
}
