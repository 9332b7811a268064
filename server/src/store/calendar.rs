//! SQL of the working-day calendar.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, Ts, on_pool};
use crate::domain::calendar::{Calendar, DayKind, SpecialDay};
use crate::error::{Error, Result};

impl Store {
    /// Replaces the calendar of `year` with `days`, in one transaction.
    pub async fn load_calendar_year(
        &self,
        year: i32,
        days: &[SpecialDay],
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let first = NaiveDate::from_ymd_opt(year, 1, 1)
            .ok_or_else(|| Error::invalid("year", "out of range"))?;
        let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid year has 31 December");
        on_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                sqlx::query("DELETE FROM calendar_days WHERE day >= $1 AND day <= $2")
                    .bind(first)
                    .bind(last)
                    .execute(&mut *tx)
                    .await?;
                for d in days {
                    sqlx::query("INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)")
                        .bind(d.day)
                        .bind(d.kind.as_str())
                        .bind(&d.name)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO calendar_years (year, loaded_at, loaded_by) VALUES ($1, $2, $3)
                     ON CONFLICT (year) DO UPDATE SET loaded_at = $2, loaded_by = $3",
                )
                .bind(year)
                .bind(Ts(at))
                .bind(by)
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// The calendar from `from` to `to`, with the years loaded.
    pub async fn calendar(&self, from: NaiveDate, to: NaiveDate) -> Result<Calendar> {
        let (days, years): (Vec<(NaiveDate, String, String)>, Vec<i32>) = on_pool!(self, |p| {
            async {
                let days = sqlx::query_as(
                    "SELECT day, kind, name FROM calendar_days WHERE day >= $1 AND day <= $2",
                )
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?;
                let years = sqlx::query_scalar("SELECT year FROM calendar_years")
                    .fetch_all(p)
                    .await?;
                Ok::<_, sqlx::Error>((days, years))
            }
            .await
        })?;
        let days = days
            .into_iter()
            .map(|(day, kind, name)| {
                Ok(SpecialDay {
                    day,
                    kind: DayKind::parse(&kind).ok_or_else(|| {
                        Error::internal(format!("calendar day {day} has a bad kind"))
                    })?,
                    name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Calendar::new(
            days,
            years.into_iter().collect::<BTreeSet<_>>(),
        ))
    }
}
