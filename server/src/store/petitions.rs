//! SQL of petitions and their history.

use chrono::NaiveDate;
use sqlx::types::Json;
use uuid::Uuid;

use super::log::{Wrote, commit_change};
use super::supervision::insert_case;
use super::{Store, Ts, location_from_columns, on_pool, push_unit_filter};
use crate::domain::event::Change;
use crate::domain::finding::Medium;
use crate::domain::geo::BoundingBox;
use crate::domain::petition::{
    Channel, HistoryEntry, Petition, PetitionCursor, PetitionFilter, PetitionIntake, PetitionState,
    Progress,
};
use crate::domain::supervision::NewCase;
use crate::error::{Error, Reason, Result};

#[derive(sqlx::FromRow)]
pub(super) struct PetitionRow {
    id: Uuid,
    campaign_id: Option<Uuid>,
    channel: String,
    received_at: Ts,
    content: String,
    category: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    altitude_m: Option<f64>,
    datum: Option<String>,
    unit_code: String,
    credit_code: Option<String>,
    complainant: Option<String>,
    is_key: bool,
    state: String,
    accept_due: NaiveDate,
    reply_due: Option<NaiveDate>,
    reply_overdue_since: Option<Ts>,
    merged_into: Option<Uuid>,
    progress: Json<Progress>,
    received_by: String,
    created_at: Ts,
    updated_at: Ts,
    version: i64,
}

pub(super) const COLUMNS: &str = "id, campaign_id, channel, received_at, content, category, latitude, \
    longitude, accuracy_m, altitude_m, datum, unit_code, credit_code, complainant, is_key, state, \
    accept_due, reply_due, reply_overdue_since, merged_into, progress, received_by, created_at, \
    updated_at, version";

impl TryFrom<PetitionRow> for Petition {
    type Error = Error;
    fn try_from(r: PetitionRow) -> Result<Petition> {
        let bad = |what: &str| Error::internal(format!("petition {} has a bad {what}", r.id));
        Ok(Petition {
            intake: PetitionIntake {
                campaign_id: r.campaign_id,
                channel: Channel::parse(&r.channel).ok_or_else(|| bad("channel"))?,
                received_at: r.received_at.0,
                content: r.content,
                category: Medium::parse(&r.category).ok_or_else(|| bad("category"))?,
                location: location_from_columns(
                    r.latitude,
                    r.longitude,
                    r.accuracy_m,
                    r.altitude_m,
                    r.datum.as_deref(),
                )?,
                unit_code: r.unit_code,
                credit_code: r.credit_code,
            },
            state: PetitionState::parse(&r.state).ok_or_else(|| bad("state"))?,
            id: r.id,
            sealed_complainant: r.complainant,
            is_key: r.is_key,
            accept_due: r.accept_due,
            reply_due: r.reply_due,
            reply_overdue_since: r.reply_overdue_since.map(|t| t.0),
            merged_into: r.merged_into,
            progress: r.progress.0,
            received_by: r.received_by,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            version: r.version,
        })
    }
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    at: Ts,
    actor: String,
    action: String,
    from_state: Option<String>,
    to_state: String,
    note: String,
}

/// Appends `$entry` (a `HistoryEntry`) to petition `$id`'s history within
/// transaction `$tx`.
macro_rules! insert_history {
    ($tx:expr, $id:expr, $entry:expr) => {{
        let e: &HistoryEntry = $entry;
        sqlx::query(
            "INSERT INTO petition_history (petition_id, seq, at, actor, action, from_state, to_state, note)
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7
             FROM petition_history WHERE petition_id = $1",
        )
        .bind($id)
        .bind(Ts(e.at))
        .bind(&e.actor)
        .bind(&e.action)
        .bind(e.from_state.map(|s| s.as_str()))
        .bind(e.to_state.as_str())
        .bind(&e.note)
        .execute(&mut *$tx)
        .await?;
    }};
}

impl Store {
    /// Records a new petition with its first history entry; false when
    /// the caller's request id is taken.
    pub async fn insert_petition(
        &self,
        p: &Petition,
        request_id: Option<&str>,
        entry: &HistoryEntry,
        change: &Change,
    ) -> Result<bool> {
        let wgs = p.intake.location.map(|l| l.to_wgs84());
        Ok(commit_change!(self, |tx| {
            let n = sqlx::query(
                "INSERT INTO petitions (id, campaign_id, channel, received_at, content, category,
                        latitude, longitude, accuracy_m, altitude_m, datum, wgs84_latitude,
                        wgs84_longitude, unit_code, credit_code, complainant, is_key, state,
                        accept_due, reply_due, reply_overdue_since, satisfied, merged_into,
                        spot_check, progress, received_by, created_at, updated_at, version,
                        request_id, intake_digest)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                        $17, $18, $19, NULL, NULL, NULL, NULL, NULL, $20, $21, $22, $23, $24, $25,
                        $26)
                     ON CONFLICT DO NOTHING",
            )
            .bind(p.id)
            .bind(p.intake.campaign_id)
            .bind(p.intake.channel.as_str())
            .bind(Ts(p.intake.received_at))
            .bind(&p.intake.content)
            .bind(p.intake.category.as_str())
            .bind(p.intake.location.map(|l| l.latitude))
            .bind(p.intake.location.map(|l| l.longitude))
            .bind(p.intake.location.map(|l| l.accuracy_m))
            .bind(p.intake.location.and_then(|l| l.altitude_m))
            .bind(p.intake.location.map(|l| l.datum.as_str()))
            .bind(wgs.map(|w| w.latitude))
            .bind(wgs.map(|w| w.longitude))
            .bind(&p.intake.unit_code)
            .bind(&p.intake.credit_code)
            .bind(&p.sealed_complainant)
            .bind(p.is_key)
            .bind(p.state.as_str())
            .bind(p.accept_due)
            .bind(Json(&p.progress))
            .bind(&p.received_by)
            .bind(Ts(p.created_at))
            .bind(Ts(p.updated_at))
            .bind(p.version)
            .bind(request_id)
            .bind(p.intake.digest())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            insert_history!(tx, p.id, entry);
            Ok(Wrote::Changes(true, vec![change.clone()]))
        })?)
    }

    /// The petition `receiver` took in under `request_id`, with the digest
    /// of its intake.
    pub async fn find_petition_by_request(
        &self,
        receiver: &str,
        request_id: &str,
    ) -> Result<Option<(Petition, String)>> {
        let sql = format!(
            "SELECT {COLUMNS}, intake_digest FROM petitions WHERE received_by = $1 AND request_id = $2"
        );
        #[derive(sqlx::FromRow)]
        struct WithDigest {
            #[sqlx(flatten)]
            row: PetitionRow,
            intake_digest: Option<String>,
        }
        let found: Option<WithDigest> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(receiver)
                .bind(request_id)
                .fetch_optional(p)
                .await
        })?;
        found
            .map(|f| {
                Ok((
                    Petition::try_from(f.row)?,
                    f.intake_digest.unwrap_or_default(),
                ))
            })
            .transpose()
    }

    pub async fn get_petition(&self, id: Uuid) -> Result<Option<Petition>> {
        let sql = format!("SELECT {COLUMNS} FROM petitions WHERE id = $1");
        let row: Option<PetitionRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        row.map(Petition::try_from).transpose()
    }

    /// Petitions matching `f`, newest first, after `cursor`, at most
    /// `limit`.
    pub async fn list_petitions(
        &self,
        f: &PetitionFilter,
        today: NaiveDate,
        cursor: Option<PetitionCursor>,
        limit: i64,
    ) -> Result<Vec<Petition>> {
        let rows: Vec<PetitionRow> = on_pool!(self, |p| {
            let mut q =
                sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM petitions WHERE TRUE"));
            push_unit_filter!(q, f.units.as_ref());
            if !f.states.is_empty() {
                q.push(" AND state IN (");
                let mut s = q.separated(", ");
                for st in &f.states {
                    s.push_bind(st.as_str());
                }
                q.push(")");
            }
            if let Some(c) = f.campaign_id {
                q.push(" AND campaign_id = ").push_bind(c);
            }
            if f.dispatched_only {
                q.push(" AND state IN (");
                let mut s = q.separated(", ");
                for st in PetitionState::ALL.iter().filter(|s| s.was_dispatched()) {
                    s.push_bind(st.as_str());
                }
                q.push(")");
            }
            if f.key_only {
                q.push(" AND is_key");
            }
            if f.reply_overdue {
                q.push(" AND state = 'dispatched' AND reply_due < ")
                    .push_bind(today);
            }
            if let Some(c) = cursor {
                q.push(" AND (received_at < ")
                    .push_bind(Ts(c.received_at))
                    .push(" OR (received_at = ")
                    .push_bind(Ts(c.received_at))
                    .push(" AND id < ")
                    .push_bind(c.id)
                    .push("))");
            }
            q.push(" ORDER BY received_at DESC, id DESC LIMIT ")
                .push_bind(limit);
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter().map(Petition::try_from).collect()
    }

    /// Open petitions about enterprise `credit_code` or inside `near`: the
    /// candidates for a repeat.
    pub async fn open_petitions_about(
        &self,
        credit_code: Option<&str>,
        near: Option<BoundingBox>,
    ) -> Result<Vec<Petition>> {
        let rows: Vec<PetitionRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM petitions
                 WHERE state NOT IN ('declined', 'merged', 'closed') AND (FALSE"
            ));
            if let Some(c) = credit_code {
                q.push(" OR credit_code = ").push_bind(c.to_string());
            }
            if let Some(b) = near {
                q.push(" OR (wgs84_latitude BETWEEN ")
                    .push_bind(b.min_latitude)
                    .push(" AND ")
                    .push_bind(b.max_latitude)
                    .push(" AND wgs84_longitude BETWEEN ")
                    .push_bind(b.min_longitude)
                    .push(" AND ")
                    .push_bind(b.max_longitude)
                    .push(")");
            }
            q.push(") ORDER BY received_at DESC LIMIT 50");
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter().map(Petition::try_from).collect()
    }

    /// The petitions merged into `id`.
    pub async fn merged_petitions(&self, id: Uuid) -> Result<Vec<Uuid>> {
        Ok(on_pool!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM petitions WHERE merged_into = $1 ORDER BY received_at",
            )
            .bind(id)
            .fetch_all(p)
            .await
        })?)
    }

    pub async fn petition_history(&self, id: Uuid) -> Result<Vec<HistoryEntry>> {
        let rows: Vec<HistoryRow> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT at, actor, action, from_state, to_state, note FROM petition_history
                 WHERE petition_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(p)
            .await
        })?;
        rows.into_iter()
            .map(|r| {
                let bad = || Error::internal(format!("petition {id} has a bad history state"));
                Ok(HistoryEntry {
                    at: r.at.0,
                    actor: r.actor,
                    action: r.action,
                    from_state: match r.from_state {
                        Some(s) => Some(PetitionState::parse(&s).ok_or_else(bad)?),
                        None => None,
                    },
                    to_state: PetitionState::parse(&r.to_state).ok_or_else(bad)?,
                    note: r.note,
                })
            })
            .collect()
    }

    /// Stores a step taken on a petition read at `read_version`, with its
    /// history entry, its change and the supervision case it opens, if
    /// any; false when the petition changed meanwhile. A merge is refused
    /// here, under lock, when its target is no longer open or the petition
    /// gained merged petitions of its own; a close is written into the
    /// history of the petitions merged into this one, answered with it.
    pub async fn save_petition(
        &self,
        read_version: i64,
        p: &Petition,
        entry: &HistoryEntry,
        change: &Change,
        case: Option<&NewCase>,
    ) -> Result<bool> {
        let postgres = self.is_postgres();
        let satisfied = p.progress.feedback.as_ref().map(|f| f.satisfied);
        let spot_check = p
            .progress
            .spot_check
            .as_ref()
            .map(|s| if s.passed { "passed" } else { "failed" });
        commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE petitions SET unit_code = $3, is_key = $4, state = $5, reply_due = $6,
                        satisfied = $7, merged_into = $8, spot_check = $9, progress = $10,
                        updated_at = $11, version = $12, reply_overdue_since = $13
                     WHERE id = $1 AND version = $2",
            )
            .bind(p.id)
            .bind(read_version)
            .bind(&p.intake.unit_code)
            .bind(p.is_key)
            .bind(p.state.as_str())
            .bind(p.reply_due)
            .bind(satisfied)
            .bind(p.merged_into)
            .bind(spot_check)
            .bind(Json(&p.progress))
            .bind(Ts(p.updated_at))
            .bind(p.version)
            .bind(p.reply_overdue_since.map(Ts))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(Ok(false)));
            }
            if let (PetitionState::Merged, Some(into)) = (p.state, p.merged_into) {
                let lock = if postgres { " FOR UPDATE" } else { "" };
                let target: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT state FROM petitions WHERE id = $1{lock}"
                )))
                .bind(into)
                .fetch_optional(&mut *tx)
                .await?;
                let children: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM petitions WHERE merged_into = $1")
                        .bind(p.id)
                        .fetch_one(&mut *tx)
                        .await?;
                let target = target.and_then(|s| PetitionState::parse(&s));
                let refusal = match target {
                    Some(s) if !s.is_open() => Some(
                        Error::refused(
                            Reason::MergeTargetNotOpen,
                            format!(
                                "petition {into} is {}; petitions are merged only into open ones",
                                s.shown()
                            ),
                        )
                        .with("state", s.shown()),
                    ),
                    _ if children > 0 => Some(Error::refused(
                        Reason::MergeTargetHasMerges,
                        format!(
                            "petition {} has petitions merged into it; merge {into} into it instead",
                            p.id
                        ),
                    )),
                    _ => None,
                };
                if let Some(why) = refusal {
                    return Ok(Wrote::Nothing(Err(why)));
                }
            }
            insert_history!(tx, p.id, entry);
            if p.state == PetitionState::Closed {
                sqlx::query(
                    "INSERT INTO petition_history (petition_id, seq, at, actor, action,
                            from_state, to_state, note)
                         SELECT c.id, COALESCE((SELECT MAX(h.seq) FROM petition_history h
                                WHERE h.petition_id = c.id), 0) + 1,
                            $2, $3, 'answered_with', 'merged', 'merged', $4
                         FROM petitions c WHERE c.merged_into = $1",
                )
                .bind(p.id)
                .bind(Ts(entry.at))
                .bind(&entry.actor)
                .bind(format!(
                    "answered together with petition {}, now closed",
                    p.id
                ))
                .execute(&mut *tx)
                .await?;
            }
            let mut changes = vec![change.clone()];
            if let Some(case) = case
                && insert_case!(tx, case)
            {
                changes.push(case.change());
            }
            Ok(Wrote::Changes(Ok(true), changes))
        })?
    }

    /// Dispatched petitions whose reply is late on `today` and that no
    /// scan has marked yet.
    pub async fn unmarked_overdue_petitions(
        &self,
        today: NaiveDate,
        limit: i64,
    ) -> Result<Vec<Petition>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM petitions
             WHERE state = 'dispatched' AND reply_due < $1 AND reply_overdue_since IS NULL
             ORDER BY reply_due, id LIMIT $2"
        );
        let rows: Vec<PetitionRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(today)
                .bind(limit)
                .fetch_all(p)
                .await
        })?;
        rows.into_iter().map(Petition::try_from).collect()
    }

    /// Marks the petition `case` is about as late in its reply, in its
    /// history too, and opens the case unless one for a lapse is open.
    /// Returns whether this call opened the case.
    pub async fn mark_reply_overdue(
        &self,
        case: &NewCase,
        entry: &HistoryEntry,
        marked: &Change,
    ) -> Result<bool> {
        Ok(commit_change!(self, |tx| {
            let n = sqlx::query(
                "UPDATE petitions SET reply_overdue_since = $2
                     WHERE id = $1 AND reply_overdue_since IS NULL AND state = 'dispatched'",
            )
            .bind(case.source_id)
            .bind(Ts(case.opened_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Wrote::Nothing(false));
            }
            insert_history!(tx, case.source_id, entry);
            let opened = insert_case!(tx, case);
            let mut changes = vec![marked.clone()];
            changes.extend(opened.then(|| case.change()));
            Ok(Wrote::Changes(opened, changes))
        })?)
    }
}
