//! Units: listed by everyone signed in, edited by admins.

use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role};
use crate::domain::unit::{self, Unit, UnitKind};
use crate::domain::validate::{Input, Violations};
use crate::error::{Error, Result};

const EDIT: &[Role] = &[Role::Admin];

impl App {
    pub async fn list_units(
        &self,
        caller: &Caller,
        include_inactive: bool,
        kind: Input<UnitKind>,
    ) -> Result<Vec<Unit>> {
        caller.require(ANY_ROLE)?;
        let mut v = Violations::new();
        let kind = kind.optional("kind", &mut v);
        v.finish()?;
        let mut units = self.store.list_units(include_inactive).await?;
        if let Some(k) = kind {
            units.retain(|u| u.kind == k);
        }
        Ok(units)
    }

    pub async fn get_unit(&self, caller: &Caller, code: &str) -> Result<Unit> {
        caller.require(ANY_ROLE)?;
        self.store
            .get_unit(code)
            .await?
            .ok_or_else(|| Error::NotFound(format!("unit {code}")))
    }

    pub async fn create_unit(
        &self,
        caller: &Caller,
        code: &str,
        name: &str,
        kind: Input<UnitKind>,
        parent_code: &str,
    ) -> Result<Unit> {
        caller.require(EDIT)?;
        let mut v = Violations::new();
        unit::validate_code("code", code, &mut v);
        v.required_text("name", name, unit::NAME_MAX);
        let kind = kind.required("kind", &mut v);
        if !parent_code.is_empty() && self.store.get_unit(parent_code).await?.is_none() {
            v.add("parent_code", format!("no unit has code {parent_code}"));
        }
        v.finish()?;
        let now = self.now();
        let u = Unit {
            code: code.to_string(),
            name: name.trim().to_string(),
            kind: kind.expect("validated"),
            parent_code: (!parent_code.is_empty()).then(|| parent_code.to_string()),
            active: true,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_unit(&u).await?;
        tracing::info!(actor = %caller.subject, unit = %u.code, "unit created");
        Ok(u)
    }

    pub async fn rename_unit(&self, caller: &Caller, code: &str, name: &str) -> Result<Unit> {
        caller.require(EDIT)?;
        let mut v = Violations::new();
        v.required_text("name", name, unit::NAME_MAX);
        v.finish()?;
        let current = self.get_unit(caller, code).await?;
        let u = self
            .store
            .update_unit(code, name.trim(), current.active, self.now())
            .await?
            .ok_or_else(|| Error::NotFound(format!("unit {code}")))?;
        tracing::info!(actor = %caller.subject, unit = %code, "unit renamed");
        Ok(u)
    }

    /// Deactivated units keep their records but take no new ones.
    pub async fn deactivate_unit(&self, caller: &Caller, code: &str) -> Result<Unit> {
        caller.require(EDIT)?;
        let current = self.get_unit(caller, code).await?;
        if !current.active {
            return Ok(current);
        }
        let u = self
            .store
            .update_unit(code, &current.name, false, self.now())
            .await?
            .ok_or_else(|| Error::NotFound(format!("unit {code}")))?;
        tracing::info!(actor = %caller.subject, unit = %code, "unit deactivated");
        Ok(u)
    }
}
