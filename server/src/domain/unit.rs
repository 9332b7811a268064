//! Inspection targets and organisations.

use chrono::{DateTime, Utc};

use super::validate::Violations;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    City,
    County,
    DevelopmentZone,
    Department,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::City => "city",
            UnitKind::County => "county",
            UnitKind::DevelopmentZone => "development_zone",
            UnitKind::Department => "department",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            UnitKind::City,
            UnitKind::County,
            UnitKind::DevelopmentZone,
            UnitKind::Department,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const NAME_MAX: usize = 100;

/// A GB/T 2260 division code (six digits) or a slug: lowercase letters,
/// digits and dashes, 2 to 64 characters, starting with a letter or digit.
pub fn validate_code(field: &str, code: &str, v: &mut Violations) {
    let slug = code.len() >= 2
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-');
    if code.is_empty() {
        v.add(field, "is required");
    } else if !slug {
        v.add(
            field,
            "must be a six-digit division code or a slug of lowercase letters, digits and dashes",
        );
    }
}
