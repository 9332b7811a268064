//! SQL of accountability records.

use chrono::NaiveDate;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::access::Role;
use crate::domain::accountability::{
    AccountabilityFacts, AccountabilityForm, AccountabilityRecord, SubjectKind,
};
use crate::domain::event::Change;
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: Uuid,
    unit_code: String,
    subject_kind: String,
    official: Option<String>,
    form: String,
    basis: String,
    decided_on: NaiveDate,
    case_ids: Json<Vec<Uuid>>,
    entered_by: String,
    entered_role: String,
    entered_at: Ts,
    confirmed_by: Option<String>,
    confirmed_at: Option<Ts>,
    version: i64,
}

const COLUMNS: &str = "id, unit_code, subject_kind, official, form, basis, decided_on, case_ids, \
    entered_by, entered_role, entered_at, confirmed_by, confirmed_at, version";

impl TryFrom<RecordRow> for AccountabilityRecord {
    type Error = Error;
    fn try_from(r: RecordRow) -> Result<AccountabilityRecord> {
        let bad = |what: &str| {
            Error::internal(format!("accountability record {} has a bad {what}", r.id))
        };
        Ok(AccountabilityRecord {
            facts: AccountabilityFacts {
                unit_code: r.unit_code,
                subject_kind: SubjectKind::parse(&r.subject_kind)
                    .ok_or_else(|| bad("subject kind"))?,
                form: AccountabilityForm::parse(&r.form).ok_or_else(|| bad("form"))?,
                basis: r.basis,
                decided_on: r.decided_on,
                case_ids: r.case_ids.0,
            },
            entered_role: Role::parse(&r.entered_role).ok_or_else(|| bad("role"))?,
            id: r.id,
            sealed_official: r.official,
            entered_by: r.entered_by,
            entered_at: r.entered_at.0,
            confirmed_by: r.confirmed_by,
            confirmed_at: r.confirmed_at.map(|t| t.0),
            version: r.version,
        })
    }
}

impl Store {
    pub async fn insert_accountability(
        &self,
        r: &AccountabilityRecord,
        change: &Change,
    ) -> Result<()> {
        commit_change!(self, |tx| {
            sqlx::query(
                "INSERT INTO accountability_records (id, unit_code, subject_kind, official, form,
                        basis, decided_on, case_ids, entered_by, entered_role, entered_at, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(r.id)
            .bind(&r.facts.unit_code)
            .bind(r.facts.subject_kind.as_str())
            .bind(&r.sealed_official)
            .bind(r.facts.form.as_str())
            .bind(&r.facts.basis)
            .bind(r.facts.decided_on)
            .bind(Json(&r.facts.case_ids))
            .bind(&r.entered_by)
            .bind(r.entered_role.as_str())
            .bind(Ts(r.entered_at))
            .bind(r.version)
            .execute(&mut *tx)
            .await?;
            Ok(Wrote::Changes((), vec![change.clone()]))
        })?;
        Ok(())
    }

    pub async fn get_accountability(&self, id: Uuid) -> Result<Option<AccountabilityRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM accountability_records WHERE id = $1");
        let row: Option<RecordRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.map(AccountabilityRecord::try_from).transpose()
    }

    /// Records in `units` decided in [from, to), newest first.
    pub async fn list_accountability(
        &self,
        units: Option<&[String]>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AccountabilityRecord>> {
        let rows: Vec<RecordRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM accountability_records WHERE decided_on >= "
            ));
            q.push_bind(from).push(" AND decided_on < ").push_bind(to);
            push_unit_filter!(q, units);
            q.push(" ORDER BY decided_on DESC, id DESC LIMIT 1000");
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter()
            .map(AccountabilityRecord::try_from)
            .collect()
    }

    /// Stores the confirmation of a record read at `read_version`; false
    /// when it changed meanwhile.
    pub async fn confirm_accountability(
        &self,
        read_version: i64,
        r: &AccountabilityRecord,
        change: &Change,
    ) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE accountability_records SET confirmed_by = $3, confirmed_at = $4,
                        version = $5
                     WHERE id = $1 AND version = $2 AND confirmed_by IS NULL",
            )
            .bind(r.id)
            .bind(read_version)
            .bind(&r.confirmed_by)
            .bind(r.confirmed_at.map(Ts))
            .bind(r.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(Wrote::if_written(n, change))
        })?)
    }
}
