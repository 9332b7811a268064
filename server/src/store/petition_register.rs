//! SQL of the petition register: figures per unit and spot-check samples.

use chrono::NaiveDate;

use super::petitions::{COLUMNS, PetitionRow};
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::petition::{Petition, UnitFigures};
use crate::error::Result;

impl Store {
    /// Up to `count` closed key petitions in `units` not yet spot-checked,
    /// picked at random.
    pub async fn spot_check_sample(
        &self,
        units: Option<&[String]>,
        count: i64,
    ) -> Result<Vec<Petition>> {
        let rows: Vec<PetitionRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM petitions
                 WHERE state = 'closed' AND is_key AND spot_check IS NULL"
            ));
            push_unit_filter!(q, units);
            q.push(" ORDER BY random() LIMIT ").push_bind(count);
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter().map(Petition::try_from).collect()
    }

    /// Figures per unit of petitions received in [from, to).
    pub async fn petition_figures(
        &self,
        units: Option<&[String]>,
        from: Ts,
        to: Ts,
        today: NaiveDate,
    ) -> Result<Vec<UnitFigures>> {
        type Row = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64);
        let rows: Vec<Row> = on_pool!(self, report, |p| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT unit_code, COUNT(*),
                    SUM(CASE WHEN state = 'declined' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN state NOT IN ('declined', 'merged', 'closed') THEN 1 ELSE 0 END),
                    SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN EXISTS (SELECT 1 FROM petition_history h
                            WHERE h.petition_id = petitions.id AND h.action = 'reply_overdue')
                        OR (state = 'dispatched' AND reply_due < ",
            );
            q.push_bind(today);
            q.push(
                ") THEN 1 ELSE 0 END),
                    SUM(CASE WHEN satisfied = TRUE THEN 1 ELSE 0 END),
                    SUM(CASE WHEN satisfied = FALSE THEN 1 ELSE 0 END),
                    SUM(CASE WHEN merged_into IS NOT NULL THEN 1 ELSE 0 END),
                    SUM(CASE WHEN is_key THEN 1 ELSE 0 END)
                 FROM petitions WHERE received_at >= ",
            );
            q.push_bind(from).push(" AND received_at < ").push_bind(to);
            push_unit_filter!(q, units);
            q.push(" GROUP BY unit_code ORDER BY unit_code");
            q.build_query_as().fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| UnitFigures {
                unit_code: r.0,
                received: r.1,
                declined: r.2,
                open: r.3,
                closed: r.4,
                reply_overdue: r.5,
                satisfied: r.6,
                dissatisfied: r.7,
                repeats: r.8,
                key: r.9,
            })
            .collect())
    }
}
