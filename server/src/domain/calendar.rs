//! Working days by China's official calendar. Each year the State Council
//! names the public holidays and moves some weekend days to working days
//! to make up for them (调休). A year is loaded from a file an admin keeps;
//! a year with no calendar loaded counts Monday to Friday.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc, Weekday};
use serde::Deserialize;

use super::text_enum::text_enum;

text_enum! {
    /// How the official calendar changes a day.
    pub enum DayKind {
        /// A public holiday, or a weekday given as rest.
        Holiday = "holiday",
        /// A weekend day worked to make up for a holiday.
        Workday = "workday",
    }
}

/// The date in China (UTC+8, no daylight saving) at `now`: deadlines are
/// dates there.
pub fn china_date(now: DateTime<Utc>) -> NaiveDate {
    let china = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    now.with_timezone(&china).date_naive()
}

/// One day the official calendar changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    pub day: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

/// What is known of the calendar around some dates.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub special: BTreeMap<NaiveDate, DayKind>,
    /// Years with an official calendar loaded.
    pub loaded: BTreeSet<i32>,
}

impl Calendar {
    pub fn new(days: impl IntoIterator<Item = SpecialDay>, loaded: BTreeSet<i32>) -> Calendar {
        Calendar {
            special: days.into_iter().map(|d| (d.day, d.kind)).collect(),
            loaded,
        }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        match self.special.get(&day) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `n`th working day after `from` (`from` itself is not counted).
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().expect("date in range");
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to`; 0 when `to` is
    /// not after `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count() as u32
    }

    /// Years touched by `from..=to` that have no official calendar loaded.
    pub fn missing_years(&self, from: NaiveDate, to: NaiveDate) -> Vec<i32> {
        (from.year()..=to.year())
            .filter(|y| !self.loaded.contains(y))
            .collect()
    }
}

/// A year's calendar file (TOML):
///
/// ```toml
/// year = 2026
///
/// [[holiday]]
/// name = "春节"
/// from = "2026-02-15"
/// to = "2026-02-23"
///
/// [[workday]]
/// name = "春节调休"
/// date = "2026-02-14"
/// ```
///
/// `to` may be left out for a one-day holiday. Every date lies in `year`;
/// a make-up working day is a Saturday or Sunday; no day is both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearFile {
    pub year: i32,
    #[serde(default)]
    pub holiday: Vec<HolidayEntry>,
    #[serde(default)]
    pub workday: Vec<WorkdayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayEntry {
    pub name: String,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkdayEntry {
    pub name: String,
    pub date: NaiveDate,
}

impl YearFile {
    /// The days the file changes, or why the file is wrong.
    pub fn days(&self) -> Result<Vec<SpecialDay>, String> {
        let mut out: BTreeMap<NaiveDate, SpecialDay> = BTreeMap::new();
        let mut put = |day: NaiveDate, kind: DayKind, name: &str| -> Result<(), String> {
            if day.year() != self.year {
                return Err(format!("{day} ({name}) is not in {}", self.year));
            }
            if let Some(prior) = out.get(&day) {
                return Err(format!("{day} is listed twice ({} and {name})", prior.name));
            }
            out.insert(
                day,
                SpecialDay {
                    day,
                    kind,
                    name: name.trim().to_string(),
                },
            );
            Ok(())
        };
        for h in &self.holiday {
            let to = h.to.unwrap_or(h.from);
            if to < h.from {
                return Err(format!(
                    "holiday {}: to {to} is before from {}",
                    h.name, h.from
                ));
            }
            for day in h.from.iter_days().take_while(|d| *d <= to) {
                put(day, DayKind::Holiday, &h.name)?;
            }
        }
        for w in &self.workday {
            if !matches!(w.date.weekday(), Weekday::Sat | Weekday::Sun) {
                return Err(format!(
                    "workday {} ({}) is a {}; a make-up working day is a Saturday or Sunday",
                    w.date,
                    w.name,
                    w.date.weekday()
                ));
            }
            put(w.date, DayKind::Workday, &w.name)?;
        }
        Ok(out.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn holidays_and_make_up_days_move_deadlines() {
        let file: YearFile = toml::from_str(
            r#"
            year = 2026
            [[holiday]]
            name = "春节"
            from = "2026-02-15"
            to = "2026-02-23"
            [[workday]]
            name = "春节调休"
            date = "2026-02-14"
            [[workday]]
            name = "春节调休"
            date = "2026-02-28"
            "#,
        )
        .unwrap();
        let cal = Calendar::new(file.days().unwrap(), [2026].into());
        // Thursday 12 February: Fri 13, Sat 14 (made up), then the holiday
        // to Mon 23, then Tue 24.
        assert_eq!(cal.add_working_days(d("2026-02-12"), 3), d("2026-02-24"));
        assert_eq!(
            cal.working_days_between(d("2026-02-12"), d("2026-02-24")),
            3
        );
        assert!(cal.is_working_day(d("2026-02-28")));
        assert!(cal.missing_years(d("2026-12-30"), d("2027-01-05")) == vec![2027]);
        // Without the calendar, Monday to Friday.
        let plain = Calendar::default();
        assert_eq!(plain.add_working_days(d("2026-02-12"), 3), d("2026-02-17"));
    }

    #[test]
    fn a_wrong_file_says_what_is_wrong() {
        let file: YearFile =
            toml::from_str("year = 2026\n[[workday]]\nname = \"x\"\ndate = \"2026-02-16\"\n")
                .unwrap();
        assert!(file.days().unwrap_err().contains("is a Mon"));
        let file: YearFile =
            toml::from_str("year = 2026\n[[holiday]]\nname = \"x\"\nfrom = \"2027-01-01\"\n")
                .unwrap();
        assert!(file.days().unwrap_err().contains("not in 2026"));
    }
}
