//! SQL of rectification items and their history.

use chrono::NaiveDate;
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::supervision::insert_case;
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::event::Change;
use crate::domain::rectification::{
    AccidentConditions, Action, ExtensionRequest, HistoryEntry, ItemCursor, ItemFilter, ItemState,
    RectificationItem,
};
use crate::error::{Error, Result};

/// The kind of subject of item links and events.
pub const RECTIFICATION_ITEM: &str = "rectification_item";

#[derive(sqlx::FromRow)]
pub(super) struct ItemRow {
    id: Uuid,
    finding_id: Uuid,
    campaign_id: Option<Uuid>,
    unit_code: String,
    requirement: String,
    assigned_on: NaiveDate,
    working_days: Option<i32>,
    due_date: NaiveDate,
    accident: bool,
    photo_required: bool,
    state: String,
    overdue_since: Option<Ts>,
    extension: Option<Json<ExtensionRequest>>,
    conditions: Option<Json<AccidentConditions>>,
    rejections: i32,
    signed_off_by: Option<String>,
    signed_off_at: Option<Ts>,
    created_by: String,
    created_at: Ts,
    updated_by: String,
    updated_at: Ts,
    version: i64,
    content_digest: String,
}

pub(super) const COLUMNS: &str = "id, finding_id, campaign_id, unit_code, requirement, assigned_on, \
    working_days, due_date, accident, photo_required, state, overdue_since, extension, conditions, \
    rejections, signed_off_by, signed_off_at, created_by, created_at, updated_by, updated_at, \
    version, content_digest";

/// A stored item with the digest of the terms it was created with.
pub struct StoredItem {
    pub item: RectificationItem,
    pub created_digest: String,
}

impl TryFrom<ItemRow> for StoredItem {
    type Error = Error;
    fn try_from(r: ItemRow) -> Result<StoredItem> {
        let state = ItemState::parse(&r.state).ok_or_else(|| {
            Error::internal(format!("rectification item {} has a bad state", r.id))
        })?;
        Ok(StoredItem {
            item: RectificationItem {
                id: r.id,
                finding_id: r.finding_id,
                campaign_id: r.campaign_id,
                unit_code: r.unit_code,
                requirement: r.requirement,
                assigned_on: r.assigned_on,
                working_days: r.working_days.map(|n| n as u32),
                due_date: r.due_date,
                accident: r.accident,
                photo_required: r.photo_required,
                state,
                overdue_since: r.overdue_since.map(|t| t.0),
                extension: r.extension.map(|j| j.0),
                conditions: r.conditions.map(|j| j.0),
                rejections: r.rejections,
                signed_off_by: r.signed_off_by,
                signed_off_at: r.signed_off_at.map(|t| t.0),
                created_by: r.created_by,
                created_at: r.created_at.0,
                updated_by: r.updated_by,
                updated_at: r.updated_at.0,
                version: r.version,
            },
            created_digest: r.content_digest,
        })
    }
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    seq: i32,
    at: Ts,
    actor: String,
    action: String,
    from_state: Option<String>,
    to_state: String,
    note: String,
    evidence: Json<Vec<Uuid>>,
    due_before: Option<NaiveDate>,
    due_after: Option<NaiveDate>,
}

/// Inserts history entry `$e` of item `$item` within transaction `$tx`.
macro_rules! insert_history {
    ($tx:expr, $item:expr, $e:expr) => {{
        let e: &HistoryEntry = $e;
        sqlx::query(
            "INSERT INTO rectification_history (item_id, seq, at, actor, action, from_state,
                to_state, note, evidence, due_before, due_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind($item)
        .bind(e.seq as i32)
        .bind(Ts(e.at))
        .bind(&e.actor)
        .bind(e.action.as_str())
        .bind(e.from_state.map(ItemState::as_str))
        .bind(e.to_state.as_str())
        .bind(&e.note)
        .bind(Json(&e.evidence))
        .bind(e.due_before)
        .bind(e.due_after)
        .execute(&mut *$tx)
        .await?;
    }};
}

impl Store {
    /// Stores a new item with the first entry of its history; false when
    /// its id or request id is taken.
    pub async fn insert_item(
        &self,
        i: &RectificationItem,
        created: &HistoryEntry,
        digest: &str,
        request_id: Option<&str>,
        change: &Change,
    ) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = sqlx::query(
                "INSERT INTO rectification_items (id, finding_id, campaign_id, unit_code,
                        requirement, assigned_on, working_days, due_date, accident, photo_required,
                        state, rejections, created_by, created_at, updated_by, updated_at, version,
                        content_digest, request_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $12, $13,
                        $14, $15, $16)
                     ON CONFLICT DO NOTHING",
            )
            .bind(i.id)
            .bind(i.finding_id)
            .bind(i.campaign_id)
            .bind(&i.unit_code)
            .bind(&i.requirement)
            .bind(i.assigned_on)
            .bind(i.working_days.map(|n| n as i32))
            .bind(i.due_date)
            .bind(i.accident)
            .bind(i.photo_required)
            .bind(i.state.as_str())
            .bind(&i.created_by)
            .bind(Ts(i.created_at))
            .bind(i.version)
            .bind(digest)
            .bind(request_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            insert_history!(tx, i.id, created);
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?)
    }

    /// Stores a step taken on an item read at `read_version`, with its
    /// history entry, the evidence it attaches and its change; false when
    /// the item changed meanwhile.
    pub async fn apply_item_step(
        &self,
        read_version: i64,
        i: &RectificationItem,
        entry: &HistoryEntry,
        links: &[(Uuid, &str)],
        change: &Change,
    ) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE rectification_items SET due_date = $3, working_days = $4, state = $5,
                        overdue_since = $6, extension = $7, conditions = $8, rejections = $9,
                        signed_off_by = $10, signed_off_at = $11, updated_by = $12,
                        updated_at = $13, version = $14
                     WHERE id = $1 AND version = $2",
            )
            .bind(i.id)
            .bind(read_version)
            .bind(i.due_date)
            .bind(i.working_days.map(|n| n as i32))
            .bind(i.state.as_str())
            .bind(i.overdue_since.map(Ts))
            .bind(i.extension.as_ref().map(Json))
            .bind(i.conditions.as_ref().map(Json))
            .bind(i.rejections)
            .bind(&i.signed_off_by)
            .bind(i.signed_off_at.map(Ts))
            .bind(&i.updated_by)
            .bind(Ts(i.updated_at))
            .bind(i.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            insert_history!(tx, i.id, entry);
            for (evidence, role) in links {
                sqlx::query(
                        "INSERT INTO evidence_links (evidence_id, subject_kind, subject_id, role, linked_by, linked_at)
                         VALUES ($1, 'rectification_item', $2, $3, $4, $5)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(evidence)
                    .bind(i.id)
                    .bind(*role)
                    .bind(&entry.actor)
                    .bind(Ts(entry.at))
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?)
    }

    pub async fn get_item(&self, id: Uuid) -> Result<Option<StoredItem>> {
        let sql = format!("SELECT {COLUMNS} FROM rectification_items WHERE id = $1");
        let row: Option<ItemRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.map(StoredItem::try_from).transpose()
    }

    pub async fn find_item_by_request(
        &self,
        creator: &str,
        request_id: &str,
    ) -> Result<Option<StoredItem>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM rectification_items WHERE created_by = $1 AND request_id = $2"
        );
        let row: Option<ItemRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(creator)
                .bind(request_id)
                .fetch_optional(p)
                .await
        })?;
        row.map(StoredItem::try_from).transpose()
    }

    pub async fn item_history(&self, item: Uuid) -> Result<Vec<HistoryEntry>> {
        let rows: Vec<HistoryRow> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT seq, at, actor, action, from_state, to_state, note, evidence, due_before, due_after
                 FROM rectification_history WHERE item_id = $1 ORDER BY seq",
            )
            .bind(item)
            .fetch_all(p)
            .await
        })?;
        rows.into_iter()
            .map(|r| {
                let bad = || Error::internal(format!("history of item {item} has a bad entry"));
                Ok(HistoryEntry {
                    seq: i64::from(r.seq),
                    at: r.at.0,
                    actor: r.actor,
                    action: Action::parse(&r.action).ok_or_else(bad)?,
                    from_state: match r.from_state {
                        Some(s) => Some(ItemState::parse(&s).ok_or_else(bad)?),
                        None => None,
                    },
                    to_state: ItemState::parse(&r.to_state).ok_or_else(bad)?,
                    note: r.note,
                    evidence: r.evidence.0,
                    due_before: r.due_before,
                    due_after: r.due_after,
                })
            })
            .collect()
    }

    /// Items matching `f`, earliest deadline first, after `cursor`.
    pub async fn list_items(
        &self,
        f: &ItemFilter,
        cursor: Option<ItemCursor>,
        limit: usize,
    ) -> Result<Vec<RectificationItem>> {
        let today = f.today.expect("the filter carries today's date");
        let rows: Vec<ItemRow> = on_pool!(self, |p| {
            let mut q = QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM rectification_items WHERE TRUE"
            ));
            push_unit_filter!(q, &f.unit_codes);
            if let Some(id) = f.finding_id {
                q.push(" AND finding_id = ").push_bind(id);
            }
            if let Some(id) = f.campaign_id {
                q.push(" AND campaign_id = ").push_bind(id);
            }
            if !f.states.is_empty() {
                q.push(" AND state IN (");
                let mut s = q.separated(", ");
                for st in &f.states {
                    s.push_bind(st.as_str());
                }
                q.push(")");
            }
            if f.overdue {
                q.push(" AND state NOT IN ('verified', 'cancelled') AND due_date < ")
                    .push_bind(today);
            }
            if let Some(days) = f.due_within_days {
                let until = today + chrono::Days::new(u64::from(days));
                q.push(" AND state NOT IN ('verified', 'cancelled') AND due_date >= ")
                    .push_bind(today)
                    .push(" AND due_date <= ")
                    .push_bind(until);
            }
            if let Some(c) = cursor {
                q.push(" AND (due_date > ")
                    .push_bind(c.due_date)
                    .push(" OR (due_date = ")
                    .push_bind(c.due_date)
                    .push(" AND id > ")
                    .push_bind(c.id)
                    .push("))");
            }
            q.push(" ORDER BY due_date, id LIMIT ")
                .push_bind(limit as i64);
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter()
            .map(|r| StoredItem::try_from(r).map(|s| s.item))
            .collect()
    }

    /// Items past their deadline on `today` that no scan has marked yet.
    pub async fn unmarked_overdue_items(
        &self,
        today: NaiveDate,
        limit: i64,
    ) -> Result<Vec<RectificationItem>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM rectification_items
             WHERE state NOT IN ('verified', 'cancelled') AND due_date < $1 AND overdue_since IS NULL
             ORDER BY due_date, id LIMIT $2"
        );
        let rows: Vec<ItemRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(today)
                .bind(limit)
                .fetch_all(p)
                .await
        })?;
        rows.into_iter()
            .map(|r| StoredItem::try_from(r).map(|s| s.item))
            .collect()
    }

    /// Marks the item `case` is about overdue (as of the case's opening)
    /// and opens the case, both once: of several processes marking the same
    /// item, one wins. Returns whether this call opened the case.
    pub async fn mark_overdue(
        &self,
        case: &crate::domain::supervision::NewCase,
        marked: &Change,
    ) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = sqlx::query(
                    "UPDATE rectification_items SET overdue_since = $2
                     WHERE id = $1 AND overdue_since IS NULL AND state NOT IN ('verified', 'cancelled')",
                )
                .bind(case.source_id)
                .bind(Ts(case.opened_at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            let opened = insert_case!(tx, case);
            let mut changes = vec![marked.clone()];
            changes.extend(opened.then(|| case.change()));
            Ok(Wrote::Changes(opened, changes))
        })?)
    }
}
