//! SQL of the yearly assessment: a unit's year, read from the items,
//! petitions, accidents and accountability records.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{Store, Ts, on_pool};
use crate::domain::accountability::AccountabilityForm;
use crate::domain::assessment::{AccidentFact, AccountabilityFact, AssessmentFacts, OverdueItem};
use crate::domain::enterprise::AccidentLevel;
use crate::error::{Error, Result};

impl Store {
    /// What the records say of `unit_code`'s `year`, from `start` to `end`
    /// (the year's bounds in China's time).
    pub async fn assessment_facts(
        &self,
        unit_code: &str,
        year: i32,
        start: Ts,
        end: Ts,
    ) -> Result<AssessmentFacts> {
        let (first, next) = (
            NaiveDate::from_ymd_opt(year, 1, 1)
                .ok_or_else(|| Error::invalid("year", "is out of range"))?,
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
                .ok_or_else(|| Error::invalid("year", "is out of range"))?,
        );
        type Item = (Uuid, String, NaiveDate, String);
        type Accident = (Uuid, String, NaiveDate, String);
        type Record = (Uuid, String, NaiveDate, Option<String>);
        let (items, petitions, rejections, accidents, records) = on_pool!(self, report, |p| {
            async {
                // Overdue at some point of the year: gone overdue in it, or
                // earlier and not resolved before it began.
                let items: Vec<Item> = sqlx::query_as(
                    "SELECT i.id, f.title, i.due_date, i.state
                     FROM rectification_items i JOIN findings f ON f.id = i.finding_id
                     WHERE i.unit_code = $1 AND i.overdue_since < $3
                       AND (i.overdue_since >= $2
                            OR i.state NOT IN ('verified', 'cancelled')
                            OR EXISTS (SELECT 1 FROM rectification_history h
                                WHERE h.item_id = i.id AND h.action IN ('approve', 'cancel')
                                  AND h.at >= $2))
                     ORDER BY i.due_date, i.id",
                )
                .bind(unit_code)
                .bind(start)
                .bind(end)
                .fetch_all(p)
                .await?;
                // Late replies and failed spot checks, from the history:
                // a petition's own late mark is cleared when a new
                // deadline is set.
                let petitions: Vec<(Uuid, String)> = sqlx::query_as(
                    "SELECT DISTINCT p.id, h.action, p.received_at FROM petitions p
                         JOIN petition_history h ON h.petition_id = p.id
                         WHERE p.unit_code = $1 AND h.at >= $2 AND h.at < $3
                           AND (h.action = 'reply_overdue'
                                OR (h.action = 'spot_checked' AND p.spot_check = 'failed'))
                         ORDER BY p.received_at, p.id",
                )
                .bind(unit_code)
                .bind(start)
                .bind(end)
                .fetch_all(p)
                .await?;
                let rejections: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM rectification_history h
                     JOIN rectification_items i ON i.id = h.item_id
                     WHERE i.unit_code = $1 AND h.action = 'reject' AND h.at >= $2 AND h.at < $3",
                )
                .bind(unit_code)
                .bind(start)
                .bind(end)
                .fetch_one(p)
                .await?;
                let accidents: Vec<Accident> = sqlx::query_as(
                    "SELECT id, credit_code, occurred_on, level FROM accidents
                     WHERE unit_code = $1 AND occurred_on >= $2 AND occurred_on < $3
                     ORDER BY occurred_on, id",
                )
                .bind(unit_code)
                .bind(first)
                .bind(next)
                .fetch_all(p)
                .await?;
                let records: Vec<Record> = sqlx::query_as(
                    "SELECT id, form, decided_on, confirmed_by FROM accountability_records
                     WHERE unit_code = $1 AND decided_on >= $2 AND decided_on < $3
                     ORDER BY decided_on, id",
                )
                .bind(unit_code)
                .bind(first)
                .bind(next)
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((items, petitions, rejections, accidents, records))
            }
            .await
        })?;
        let bad = |what: &str| Error::internal(format!("a stored {what} is not known"));
        Ok(AssessmentFacts {
            unit_code: unit_code.to_string(),
            year,
            overdue_items: items
                .into_iter()
                .map(|(id, title, due_date, state)| OverdueItem {
                    id,
                    title,
                    due_date,
                    resolved: state == "verified" || state == "cancelled",
                })
                .collect(),
            overdue_petitions: petitions
                .iter()
                .filter(|(_, action)| action == "reply_overdue")
                .map(|(id, _)| *id)
                .collect(),
            failed_verifications: rejections,
            failed_spot_checks: petitions
                .iter()
                .filter(|(_, action)| action == "spot_checked")
                .map(|(id, _)| *id)
                .collect(),
            accidents: accidents
                .into_iter()
                .map(|(id, credit_code, occurred_on, level)| {
                    Ok(AccidentFact {
                        id,
                        credit_code,
                        occurred_on,
                        level: AccidentLevel::parse(&level).ok_or_else(|| bad("accident level"))?,
                    })
                })
                .collect::<Result<_>>()?,
            accountability: records
                .into_iter()
                .map(|(id, form, decided_on, confirmed_by)| {
                    Ok(AccountabilityFact {
                        id,
                        form: AccountabilityForm::parse(&form)
                            .ok_or_else(|| bad("accountability form"))?,
                        decided_on,
                        confirmed: confirmed_by.is_some(),
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}
