//! The official working-day calendar, loaded a year at a time by an admin.

use super::Core;
use crate::domain::calendar::YearFile;
use crate::error::{Error, Result};

impl Core {
    /// Loads a year's calendar file (see `domain::calendar::YearFile`),
    /// replacing what was loaded for that year. Returns the year and the
    /// number of holidays and make-up working days.
    pub async fn load_calendar(&self, text: &str, by: &str) -> Result<(i32, usize, usize)> {
        let file: YearFile = toml::from_str(text)
            .map_err(|e| Error::invalid("file", format!("is not a calendar file: {e}")))?;
        let days = file.days().map_err(|why| Error::invalid("file", why))?;
        self.store
            .load_calendar_year(file.year, &days, by, self.now())
            .await?;
        let holidays = days
            .iter()
            .filter(|d| d.kind == crate::domain::calendar::DayKind::Holiday)
            .count();
        tracing::info!(
            year = file.year,
            holidays,
            workdays = days.len() - holidays,
            by,
            "calendar loaded"
        );
        Ok((file.year, holidays, days.len() - holidays))
    }
}
