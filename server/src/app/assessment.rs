//! The yearly assessment view of a unit, with the one-vote veto.

use super::App;
use super::accountability::year_bounds;
use super::petition_register::china_midnight;
use crate::domain::access::{Caller, Role};
use crate::domain::assessment::AssessmentFacts;
use crate::error::{Error, Result};

const READ: &[Role] = &[
    Role::Supervisor,
    Role::PetitionOfficer,
    Role::Coordinator,
    Role::Admin,
    Role::Viewer,
];

impl App {
    pub async fn assessment(
        &self,
        caller: &Caller,
        unit_code: &str,
        year: i32,
    ) -> Result<AssessmentFacts> {
        caller.require(READ)?;
        caller.ensure_sees(unit_code, || format!("unit {unit_code}"))?;
        if self.store.get_unit(unit_code).await?.is_none() {
            return Err(Error::NotFound(format!("unit {unit_code}")));
        }
        let (first, next) = year_bounds(year)?;
        self.store
            .assessment_facts(unit_code, year, china_midnight(first), china_midnight(next))
            .await
    }
}
