//! Who is calling, and what they may see: a role and a unit scope.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::error::{Error, Reason, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Inspector,
    UnitLiaison,
    Verifier,
    PetitionOfficer,
    Supervisor,
    Coordinator,
    Admin,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Inspector,
        Role::UnitLiaison,
        Role::Verifier,
        Role::PetitionOfficer,
        Role::Supervisor,
        Role::Coordinator,
        Role::Admin,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::UnitLiaison => "unit_liaison",
            Role::Verifier => "verifier",
            Role::PetitionOfficer => "petition_officer",
            Role::Supervisor => "supervisor",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The units a caller may see and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Units(BTreeSet<String>),
}

impl Scope {
    /// The token form: `["*"]` for all units, else the codes.
    pub fn from_claim(units: &[String]) -> Scope {
        if units.iter().any(|u| u == "*") {
            Scope::All
        } else {
            Scope::Units(units.iter().cloned().collect())
        }
    }

    pub fn to_claim(&self) -> Vec<String> {
        match self {
            Scope::All => vec!["*".to_string()],
            Scope::Units(u) => u.iter().cloned().collect(),
        }
    }

    pub fn contains(&self, unit_code: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Units(u) => u.contains(unit_code),
        }
    }
}

/// An authenticated caller, as established from a verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub role: Role,
    pub scope: Scope,
    pub issuer: String,
    pub token_id: String,
    /// The login session a user token belongs to.
    pub session_id: Option<uuid::Uuid>,
    pub expires_at: DateTime<Utc>,
}

impl Caller {
    /// Refuses the call unless the caller's role is one of `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<()> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::denied(
                Reason::RoleNotAllowed,
                format!(
                    "role {} may not do this; allowed: {}",
                    self.role,
                    allowed
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with("role", self.role))
        }
    }

    /// Narrows a list's unit filter to the caller's scope: None (all
    /// units) only for callers who see all.
    pub fn narrow_units(&self, requested: Option<Vec<String>>) -> Option<Vec<String>> {
        match (&self.scope, requested) {
            (Scope::All, requested) => requested,
            (Scope::Units(mine), None) => Some(mine.iter().cloned().collect()),
            (Scope::Units(mine), Some(req)) => {
                Some(req.into_iter().filter(|u| mine.contains(u)).collect())
            }
        }
    }

    pub fn sees_unit(&self, unit_code: &str) -> bool {
        self.scope.contains(unit_code)
    }

    /// A record of a unit outside the caller's scope is reported as missing,
    /// so that its existence is not revealed.
    pub fn ensure_sees(&self, unit_code: &str, what: impl FnOnce() -> String) -> Result<()> {
        if self.sees_unit(unit_code) {
            Ok(())
        } else {
            Err(Error::NotFound(what()))
        }
    }
}
