//! Enterprises by their unified social credit code, their accident archive
//! (环境事故档案), and the public list of those with a major accident.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::credit_code;
use super::geo::{Location, LocationDraft};
use super::rectification::AccidentConditions;
use super::text_enum::text_enum;
use super::validate::{Input, Violations};
use crate::error::{Error, Reason, Result};

pub const NAME_MAX: usize = 200;
pub const ADDRESS_MAX: usize = 500;
pub const TEXT_MAX: usize = 5_000;

/// The kind of subject of enterprise events.
pub const ENTERPRISE: &str = "enterprise";
/// The kind of subject evidence is linked to as an accident's.
pub const ACCIDENT: &str = "accident";
pub const EVIDENCE_MAX: usize = 50;

text_enum! {
    /// Grades of environmental emergencies (突发环境事件分级).
    pub enum AccidentLevel {
        /// 一般.
        General = "general",
        /// 较大.
        Larger = "larger",
        /// 重大.
        Major = "major",
        /// 特别重大.
        ExtraordinarilyMajor = "extraordinarily_major",
    }
}

impl AccidentLevel {
    /// Major or worse: the enterprise may be put on the public list.
    pub fn is_major(self) -> bool {
        matches!(
            self,
            AccidentLevel::Major | AccidentLevel::ExtraordinarilyMajor
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnterpriseDraft {
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub location: Option<LocationDraft>,
    pub unit_code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnterpriseInfo {
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub location: Option<Location>,
    /// The unit the enterprise lies in.
    pub unit_code: String,
}

impl EnterpriseDraft {
    pub fn validate(self) -> Result<EnterpriseInfo> {
        const P: &str = "enterprise";
        let mut v = Violations::new();
        let code = self.credit_code.trim().to_ascii_uppercase();
        if let Err(why) = credit_code::validate(&code) {
            v.add(format!("{P}.credit_code"), why);
        }
        v.required_text(&format!("{P}.name"), &self.name, NAME_MAX);
        v.max_chars(&format!("{P}.address"), &self.address, ADDRESS_MAX);
        let location = self
            .location
            .as_ref()
            .and_then(|l| l.validate(&format!("{P}.location"), &mut v));
        if self.unit_code.trim().is_empty() {
            v.add(format!("{P}.unit_code"), "is required");
        }
        v.finish()?;
        Ok(EnterpriseInfo {
            credit_code: code,
            name: self.name.trim().to_string(),
            address: self.address.trim().to_string(),
            location,
            unit_code: self.unit_code.trim().to_string(),
        })
    }
}

/// Why and by whom an enterprise was put on the public list.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enterprise {
    /// Names the enterprise in events; the credit code names it everywhere
    /// else.
    pub id: Uuid,
    pub info: EnterpriseInfo,
    pub listing: Option<Listing>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccidentDraft {
    pub occurred_on: Input<NaiveDate>,
    pub level: Input<AccidentLevel>,
    pub description: String,
    pub conditions: AccidentConditions,
    pub referred: bool,
    pub referral_note: String,
    pub evidence: Vec<Uuid>,
}

/// What is known of an accident.
#[derive(Debug, Clone, PartialEq)]
pub struct AccidentFacts {
    pub occurred_on: NaiveDate,
    pub level: AccidentLevel,
    pub description: String,
    /// The four conditions of 四不放过 as recorded so far.
    pub conditions: AccidentConditions,
    /// Referred to the judicial authorities (移送司法机关).
    pub referred: bool,
    pub referral_note: String,
}

/// An accident in the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Accident {
    pub id: Uuid,
    pub credit_code: String,
    pub unit_code: String,
    pub facts: AccidentFacts,
    /// Photos and documents of the accident, linked as evidence.
    pub evidence: Vec<Uuid>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub version: i64,
}

/// What an investigation adds to an accident on record: conditions of
/// 四不放过 as they are established (a blank one keeps what was recorded),
/// the referral to the judicial authorities (not undone), more evidence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccidentUpdate {
    pub conditions: AccidentConditions,
    pub referred: bool,
    pub referral_note: String,
    pub evidence: Vec<Uuid>,
}

impl Accident {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    pub fn check_etag(&self, etag: &str) -> Result<()> {
        super::etag::check(&format!("accident {}", self.id), self.version, etag, "etag")
    }

    /// The accident with `u` added, and the evidence it links anew.
    pub fn update(&self, u: AccidentUpdate) -> Result<(Accident, Vec<Uuid>)> {
        let mut v = Violations::new();
        let mut next = self.clone();
        let c = &mut next.facts.conditions;
        for (field, have, new) in [
            (
                "conditions.cause_established",
                &mut c.cause_established,
                &u.conditions.cause_established,
            ),
            (
                "conditions.responsible_dealt_with",
                &mut c.responsible_dealt_with,
                &u.conditions.responsible_dealt_with,
            ),
            (
                "conditions.people_educated",
                &mut c.people_educated,
                &u.conditions.people_educated,
            ),
            (
                "conditions.measures_in_place",
                &mut c.measures_in_place,
                &u.conditions.measures_in_place,
            ),
        ] {
            v.max_chars(field, new, TEXT_MAX);
            if !new.trim().is_empty() {
                *have = new.trim().to_string();
            }
        }
        v.max_chars("referral_note", &u.referral_note, TEXT_MAX);
        let note = u.referral_note.trim();
        if u.referred {
            if note.is_empty() && !self.facts.referred {
                v.add(
                    "referral_note",
                    "is required with a referral: name the authority and the date",
                );
            }
            next.facts.referred = true;
            if !note.is_empty() {
                next.facts.referral_note = note.to_string();
            }
        } else if !note.is_empty() {
            v.add("referral_note", "is given only with referred_to_judiciary");
        }
        let added: Vec<Uuid> = u
            .evidence
            .iter()
            .copied()
            .filter(|e| !self.evidence.contains(e))
            .collect();
        next.evidence.extend(&added);
        if next.evidence.len() > EVIDENCE_MAX {
            v.add(
                "add_evidence_ids",
                format!("an accident holds at most {EVIDENCE_MAX} pieces of evidence"),
            );
        }
        v.finish()?;
        if next == *self {
            return Err(Error::invalid(
                "conditions",
                "nothing to add: give a condition, a referral or evidence",
            ));
        }
        next.version += 1;
        Ok((next, added))
    }
}

impl AccidentDraft {
    /// Validates under the request path `accident`; `today` is China's date.
    pub fn validate(self, today: NaiveDate) -> Result<AccidentFacts> {
        const P: &str = "accident";
        let mut v = Violations::new();
        let occurred = self
            .occurred_on
            .required(&format!("{P}.occurred_on"), &mut v);
        if let Some(d) = occurred
            && d > today
        {
            v.add(format!("{P}.occurred_on"), format!("{d} is in the future"));
        }
        let level = self.level.required(&format!("{P}.level"), &mut v);
        v.required_text(&format!("{P}.description"), &self.description, TEXT_MAX);
        v.max_chars(&format!("{P}.referral_note"), &self.referral_note, TEXT_MAX);
        v.max_items(&format!("{P}.evidence_ids"), &self.evidence, EVIDENCE_MAX);
        if self.referred && self.referral_note.trim().is_empty() {
            v.add(
                format!("{P}.referral_note"),
                "is required when the case was referred: name the authority and the date",
            );
        }
        for (field, text) in [
            ("cause_established", &self.conditions.cause_established),
            (
                "responsible_dealt_with",
                &self.conditions.responsible_dealt_with,
            ),
            ("people_educated", &self.conditions.people_educated),
            ("measures_in_place", &self.conditions.measures_in_place),
        ] {
            v.max_chars(&format!("{P}.conditions.{field}"), text, TEXT_MAX);
        }
        v.finish()?;
        Ok(AccidentFacts {
            occurred_on: occurred.expect("validated"),
            level: level.expect("validated"),
            description: self.description.trim().to_string(),
            conditions: self.conditions,
            referred: self.referred,
            referral_note: self.referral_note.trim().to_string(),
        })
    }
}

/// An enterprise goes on the public list only for a major accident.
pub fn check_listable(e: &Enterprise, accidents: &[Accident]) -> Result<()> {
    if e.listing.is_some() {
        return Err(Error::refused(
            Reason::AlreadyOnPublicList,
            format!(
                "enterprise {} is on the public list already",
                e.info.credit_code
            ),
        ));
    }
    if !accidents.iter().any(|a| a.facts.level.is_major()) {
        return Err(Error::refused(
            Reason::NoMajorAccident,
            format!(
                "enterprise {} has no major accident on record; only those go on the public list",
                e.info.credit_code
            ),
        ));
    }
    Ok(())
}

pub fn not_found(code: &str) -> Error {
    Error::NotFound(format!("enterprise {code}"))
}
