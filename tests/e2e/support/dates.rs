//! Dates as the API carries them, and today in China.

use chrono::{Datelike, NaiveDate};
use ducha_sdk::pb;

/// `d` as the API's date.
pub fn date(d: NaiveDate) -> Option<pb::Date> {
    Some(pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

/// The API's date `d`, which must be there.
pub fn date_of(d: &Option<pb::Date>) -> NaiveDate {
    let d = d.as_ref().unwrap();
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

/// Today in China by the wall clock (UTC+8), not by a test server's.
pub fn china_today() -> NaiveDate {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}
