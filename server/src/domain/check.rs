//! Check records: one inspection (site check, document review, interview or
//! meeting), with where, when, who, a checklist and a narrative.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::credit_code;
use super::evidence::{EvidenceLink, EvidenceRole, ExpectedEvidence, is_sha256_hex};
use super::geo::{BoundingBox, Location, LocationDraft, Wgs84};
use super::validate::{Input, Violations};
use crate::error::Result;

pub const SUBJECT_NAME_MAX: usize = 200;
pub const ADDRESS_MAX: usize = 500;
pub const NARRATIVE_MAX: usize = 20_000;
pub const QUESTION_MAX: usize = 500;
pub const NOTE_MAX: usize = 2_000;
pub const CHECKLIST_MAX: usize = 200;
pub const INSPECTORS_MAX: usize = 20;
pub const INSPECTOR_NAME_MAX: usize = 64;
pub const EXPECTED_EVIDENCE_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    SiteCheck,
    DocumentReview,
    Interview,
    Meeting,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::SiteCheck => "site_check",
            CheckKind::DocumentReview => "document_review",
            CheckKind::Interview => "interview",
            CheckKind::Meeting => "meeting",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            CheckKind::SiteCheck,
            CheckKind::DocumentReview,
            CheckKind::Interview,
            CheckKind::Meeting,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistResult {
    Compliant,
    NonCompliant,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub question: String,
    pub result: ChecklistResult,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// What the inspector recorded: every field a client may set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckContent {
    pub kind: CheckKind,
    pub unit_code: String,
    pub campaign_id: Option<Uuid>,
    pub subject_name: String,
    pub credit_code: Option<String>,
    pub address: String,
    #[serde(serialize_with = "ser_location")]
    pub location: Option<Location>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub inspectors: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub narrative: String,
    /// Empty lists are left out so that records without them keep the
    /// digest they were created with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_evidence: Vec<ExpectedEvidence>,
}

fn ser_location<S: serde::Serializer>(l: &Option<Location>, s: S) -> Result<S::Ok, S::Error> {
    l.map(|l| {
        (
            l.latitude,
            l.longitude,
            l.accuracy_m,
            l.altitude_m,
            l.datum.as_str(),
        )
    })
    .serialize(s)
}

impl CheckContent {
    pub fn location_wgs84(&self) -> Option<Wgs84> {
        self.location.map(|l| l.to_wgs84())
    }

    /// Fingerprint of the content, to tell a retried create from a different
    /// record that reuses an id.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("check content serialises");
        hex::encode(Sha256::digest(json))
    }
}

/// A stored check record.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    pub id: Uuid,
    pub content: CheckContent,
    pub received_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    /// Incremented on every update; the etag is derived from it.
    pub version: i64,
}

impl CheckRecord {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    /// Refuses an update based on a read older than the stored record.
    pub fn check_etag(&self, etag: &str) -> Result<()> {
        super::etag::check(
            &format!("check record {}", self.id),
            self.version,
            etag,
            "check_record.etag",
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedDraft {
    pub sha256: String,
    pub role: Input<EvidenceRole>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistDraft {
    pub question: String,
    pub result: Input<ChecklistResult>,
    pub note: String,
}

/// A check record as received, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDraft {
    pub kind: Input<CheckKind>,
    pub unit_code: String,
    pub campaign_id: String,
    pub subject_name: String,
    pub credit_code: String,
    pub address: String,
    pub location: Option<LocationDraft>,
    pub start_time: Input<DateTime<Utc>>,
    pub end_time: Input<DateTime<Utc>>,
    pub inspectors: Vec<String>,
    pub checklist: Vec<ChecklistDraft>,
    pub narrative: String,
    pub expected_evidence: Vec<ExpectedDraft>,
}

/// Field paths of a check record that an update may name.
pub const MUTABLE_FIELDS: &[&str] = &[
    "kind",
    "campaign_id",
    "subject",
    "subject.name",
    "subject.credit_code",
    "address",
    "location",
    "start_time",
    "end_time",
    "inspectors",
    "checklist",
    "narrative",
    "expected_evidence",
];

impl CheckDraft {
    /// Validates every field, reporting all violations at once under the
    /// request path `check_record`. Empty inspectors default to `creator`.
    pub fn validate(self, creator: &str) -> Result<CheckContent> {
        const P: &str = "check_record";
        let mut v = Violations::new();
        let kind = self.kind.required(&format!("{P}.kind"), &mut v);
        if self.unit_code.trim().is_empty() {
            v.add(format!("{P}.unit_code"), "is required");
        }
        let campaign_id =
            super::id::optional_in(&format!("{P}.campaign_id"), &self.campaign_id, &mut v);
        v.required_text(
            &format!("{P}.subject.name"),
            &self.subject_name,
            SUBJECT_NAME_MAX,
        );
        let credit = self.credit_code.trim().to_ascii_uppercase();
        if !credit.is_empty()
            && let Err(why) = credit_code::validate(&credit)
        {
            v.add(format!("{P}.subject.credit_code"), why);
        }
        v.max_chars(&format!("{P}.address"), &self.address, ADDRESS_MAX);
        let location_sent = self.location.is_some();
        let location = self
            .location
            .and_then(|l| l.validate(&format!("{P}.location"), &mut v));
        if kind == Some(CheckKind::SiteCheck) && !location_sent {
            v.add(format!("{P}.location"), "is required for a site check");
        }
        let started_at = self.start_time.required(&format!("{P}.start_time"), &mut v);
        let ended_at = self.end_time.optional(&format!("{P}.end_time"), &mut v);
        if let (Some(s), Some(e)) = (started_at, ended_at)
            && e < s
        {
            v.add(format!("{P}.end_time"), "must not be before start_time");
        }
        v.max_items(&format!("{P}.inspectors"), &self.inspectors, INSPECTORS_MAX);
        for (i, name) in self.inspectors.iter().enumerate() {
            v.required_text(&format!("{P}.inspectors[{i}]"), name, INSPECTOR_NAME_MAX);
        }
        v.max_items(&format!("{P}.checklist"), &self.checklist, CHECKLIST_MAX);
        let mut checklist = Vec::with_capacity(self.checklist.len());
        for (i, item) in self.checklist.iter().enumerate().take(CHECKLIST_MAX) {
            let f = format!("{P}.checklist[{i}]");
            v.required_text(&format!("{f}.question"), &item.question, QUESTION_MAX);
            v.max_chars(&format!("{f}.note"), &item.note, NOTE_MAX);
            if let Some(result) = item.result.required(&format!("{f}.result"), &mut v) {
                checklist.push(ChecklistItem {
                    question: item.question.trim().to_string(),
                    result,
                    note: item.note.clone(),
                });
            }
        }
        v.max_chars(&format!("{P}.narrative"), &self.narrative, NARRATIVE_MAX);
        v.max_items(
            &format!("{P}.expected_evidence"),
            &self.expected_evidence,
            EXPECTED_EVIDENCE_MAX,
        );
        let mut expected: Vec<ExpectedEvidence> = Vec::new();
        for (i, e) in self
            .expected_evidence
            .iter()
            .enumerate()
            .take(EXPECTED_EVIDENCE_MAX)
        {
            let f = format!("{P}.expected_evidence[{i}]");
            let sha256 = e.sha256.trim().to_ascii_lowercase();
            if !is_sha256_hex(&sha256) {
                v.add(
                    format!("{f}.sha256"),
                    "must be the 64 hex digits of a SHA-256",
                );
            } else if expected.iter().any(|x| x.sha256 == sha256) {
                v.add(format!("{f}.sha256"), "is named twice");
            }
            if let Some(role) = e.role.required(&format!("{f}.role"), &mut v) {
                expected.push(ExpectedEvidence { sha256, role });
            }
        }
        v.finish()?;

        let inspectors = if self.inspectors.is_empty() {
            vec![creator.to_string()]
        } else {
            self.inspectors
                .iter()
                .map(|s| s.trim().to_string())
                .collect()
        };
        Ok(CheckContent {
            kind: kind.expect("validated"),
            unit_code: self.unit_code.trim().to_string(),
            campaign_id,
            subject_name: self.subject_name.trim().to_string(),
            credit_code: (!credit.is_empty()).then_some(credit),
            address: self.address.trim().to_string(),
            location,
            started_at: started_at.expect("validated"),
            ended_at,
            inspectors,
            checklist,
            narrative: self.narrative,
            expected_evidence: expected,
        })
    }

    /// Takes the fields named by `mask` from `self` and the rest from the
    /// stored content; an empty mask takes every mutable field.
    pub fn merge_onto(self, stored: &CheckContent, mask: &[String]) -> Result<CheckDraft> {
        let mut v = Violations::new();
        for path in mask {
            if path == "unit_code" {
                v.add(
                    "update_mask",
                    "unit_code cannot be changed; create a record for the other unit",
                );
            } else if !MUTABLE_FIELDS.contains(&path.as_str()) {
                v.add(
                    "update_mask",
                    format!("unknown or read-only field '{path}'"),
                );
            }
        }
        v.finish()?;
        if mask.is_empty() {
            return Ok(CheckDraft {
                unit_code: stored.unit_code.clone(),
                ..self
            });
        }
        let mut out = CheckDraft::from(stored);
        let has = |f: &str| mask.iter().any(|m| m == f);
        if has("kind") {
            out.kind = self.kind;
        }
        if has("campaign_id") {
            out.campaign_id = self.campaign_id;
        }
        if has("subject") || has("subject.name") {
            out.subject_name = self.subject_name;
        }
        if has("subject") || has("subject.credit_code") {
            out.credit_code = self.credit_code;
        }
        if has("address") {
            out.address = self.address;
        }
        if has("location") {
            out.location = self.location;
        }
        if has("start_time") {
            out.start_time = self.start_time;
        }
        if has("end_time") {
            out.end_time = self.end_time;
        }
        if has("inspectors") {
            out.inspectors = self.inspectors;
        }
        if has("checklist") {
            out.checklist = self.checklist;
        }
        if has("narrative") {
            out.narrative = self.narrative;
        }
        if has("expected_evidence") {
            out.expected_evidence = self.expected_evidence;
        }
        Ok(out)
    }
}

impl From<&CheckContent> for CheckDraft {
    fn from(c: &CheckContent) -> Self {
        CheckDraft {
            kind: Input::Valid(c.kind),
            unit_code: c.unit_code.clone(),
            campaign_id: c.campaign_id.map(|u| u.to_string()).unwrap_or_default(),
            subject_name: c.subject_name.clone(),
            credit_code: c.credit_code.clone().unwrap_or_default(),
            address: c.address.clone(),
            location: c.location.map(LocationDraft::from),
            start_time: Input::Valid(c.started_at),
            end_time: c.ended_at.into(),
            inspectors: c.inspectors.clone(),
            checklist: c
                .checklist
                .iter()
                .map(|i| ChecklistDraft {
                    question: i.question.clone(),
                    result: Input::Valid(i.result),
                    note: i.note.clone(),
                })
                .collect(),
            narrative: c.narrative.clone(),
            expected_evidence: c
                .expected_evidence
                .iter()
                .map(|e| ExpectedDraft {
                    sha256: e.sha256.clone(),
                    role: Input::Valid(e.role),
                })
                .collect(),
        }
    }
}

/// A record with the evidence linked to it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckView {
    pub record: CheckRecord,
    pub links: Vec<EvidenceLink>,
}

impl CheckView {
    /// Expected evidence whose bytes have not arrived (or not been linked).
    pub fn pending(&self) -> Vec<String> {
        self.record
            .content
            .expected_evidence
            .iter()
            .filter(|e| !self.links.iter().any(|l| l.sha256 == e.sha256))
            .map(|e| e.sha256.clone())
            .collect()
    }
}

/// What a list of check records is narrowed to.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CheckFilter {
    /// None: every unit. Some: only these (already narrowed to the scope).
    pub unit_codes: Option<Vec<String>>,
    pub campaign_id: Option<Uuid>,
    pub kind: Option<CheckKind>,
    pub started_from: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_bbox")]
    pub bounding_box: Option<BoundingBox>,
}

impl CheckFilter {
    /// Checks the time range and the box; field names are the list
    /// request's.
    pub fn validate(&self, v: &mut Violations) {
        if let (Some(a), Some(b)) = (self.started_from, self.started_before)
            && b < a
        {
            v.add("start_time_to", "must not be before start_time_from");
        }
        if let Some(b) = &self.bounding_box {
            b.validate("bounding_box", v);
        }
    }
}

pub(crate) fn ser_bbox<S: serde::Serializer>(
    b: &Option<BoundingBox>,
    s: S,
) -> Result<S::Ok, S::Error> {
    b.map(|b| {
        (
            b.min_latitude,
            b.min_longitude,
            b.max_latitude,
            b.max_longitude,
        )
    })
    .serialize(s)
}

/// Position after the last record of a page, in list order (newest start
/// first, then id descending).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CheckCursor {
    pub started_at: DateTime<Utc>,
    pub id: Uuid,
}
