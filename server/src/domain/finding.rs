//! Findings (问题): problems found by a check, a petition or a review of
//! documents, each fixed through one or more rectification items.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::check::ser_bbox;
use super::credit_code;
use super::geo::{BoundingBox, Location, LocationDraft, Wgs84};
use super::text_enum::text_enum;
use super::validate::{Input, Violations};
use crate::error::{Error, Result};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 20_000;
pub const REFERENCE_MAX: usize = 500;
pub const SOURCES_MAX: usize = 20;
pub const BEFORE_EVIDENCE_MAX: usize = 50;
pub const TEXT_QUERY_MAX: usize = 100;

text_enum! {
    /// The programme's three kinds of content (督查内容三类).
    pub enum Category {
        DecisionImplementation = "decision_implementation",
        ProminentProblem = "prominent_problem",
        Responsibility = "responsibility",
    }
}

text_enum! {
    /// The part of the environment concerned.
    pub enum Medium {
        Water = "water",
        Air = "air",
        Soil = "soil",
        SolidWaste = "solid_waste",
        Noise = "noise",
        Ecology = "ecology",
        Radiation = "radiation",
        Other = "other",
    }
}

text_enum! {
    pub enum Severity {
        General = "general",
        Serious = "serious",
        Major = "major",
    }
}

text_enum! {
    /// Where a finding came from.
    pub enum SourceKind {
        CheckRecord = "check_record",
        Petition = "petition",
        DocumentReview = "document_review",
    }
}

text_enum! {
    /// Derived from the finding's items.
    pub enum FindingStatus {
        /// No item yet, or an item not yet signed off or cancelled.
        Open = "open",
        /// Every item signed off or cancelled, at least one signed off.
        Resolved = "resolved",
        /// Every item cancelled.
        Cancelled = "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// The check record or petition; for a document review, the reviewed
    /// document's evidence, if it was uploaded.
    pub id: Option<Uuid>,
    /// What was reviewed, e.g. a ledger and its page.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDraft {
    pub kind: Input<SourceKind>,
    pub id: String,
    pub reference: String,
}

/// A finding as received, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingDraft {
    pub unit_code: String,
    pub campaign_id: String,
    pub category: Input<Category>,
    pub medium: Input<Medium>,
    pub severity: Input<Severity>,
    pub title: String,
    pub description: String,
    pub location: Option<LocationDraft>,
    pub credit_code: String,
    pub sources: Vec<SourceDraft>,
    pub before_evidence_ids: Vec<String>,
}

/// What a finding says: every field a client sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingContent {
    pub unit_code: String,
    pub campaign_id: Option<Uuid>,
    pub category: Category,
    pub medium: Medium,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub location: Option<Location>,
    pub credit_code: Option<String>,
    pub sources: Vec<Source>,
    /// Evidence of the problem as found, linked as BEFORE.
    pub before_evidence: Vec<Uuid>,
}

impl FindingDraft {
    /// Validates every field, reporting all violations at once under the
    /// request path `finding`.
    pub fn validate(self) -> Result<FindingContent> {
        const P: &str = "finding";
        let mut v = Violations::new();
        if self.unit_code.trim().is_empty() {
            v.add(format!("{P}.unit_code"), "is required");
        }
        let campaign_id =
            super::id::optional_in(&format!("{P}.campaign_id"), &self.campaign_id, &mut v);
        let category = self.category.required(&format!("{P}.category"), &mut v);
        let medium = self.medium.required(&format!("{P}.medium"), &mut v);
        let severity = self.severity.required(&format!("{P}.severity"), &mut v);
        v.required_text(&format!("{P}.title"), &self.title, TITLE_MAX);
        v.max_chars(
            &format!("{P}.description"),
            &self.description,
            DESCRIPTION_MAX,
        );
        let location = self
            .location
            .as_ref()
            .and_then(|l| l.validate(&format!("{P}.location"), &mut v));
        let credit = self.credit_code.trim().to_ascii_uppercase();
        if !credit.is_empty()
            && let Err(why) = credit_code::validate(&credit)
        {
            v.add(format!("{P}.credit_code"), why);
        }
        if self.sources.is_empty() {
            v.add(
                format!("{P}.sources"),
                "is required: name the check record, petition or document review the finding comes from",
            );
        }
        v.max_items(&format!("{P}.sources"), &self.sources, SOURCES_MAX);
        let mut sources = Vec::new();
        for (i, s) in self.sources.iter().enumerate().take(SOURCES_MAX) {
            let f = format!("{P}.sources[{i}]");
            let kind = s.kind.required(&format!("{f}.kind"), &mut v);
            let id = super::id::optional_in(&format!("{f}.id"), &s.id, &mut v);
            v.max_chars(&format!("{f}.reference"), &s.reference, REFERENCE_MAX);
            match kind {
                Some(SourceKind::CheckRecord | SourceKind::Petition) if s.id.trim().is_empty() => {
                    v.add(format!("{f}.id"), "is required for this kind of source");
                }
                Some(SourceKind::DocumentReview) if s.reference.trim().is_empty() => {
                    v.add(
                        format!("{f}.reference"),
                        "is required for a document review: name the document",
                    );
                }
                _ => {}
            }
            if let Some(kind) = kind {
                let source = Source {
                    kind,
                    id,
                    reference: s.reference.trim().to_string(),
                };
                if sources.contains(&source) {
                    v.add(f.clone(), "is named twice");
                }
                sources.push(source);
            }
        }
        v.max_items(
            &format!("{P}.before_evidence_ids"),
            &self.before_evidence_ids,
            BEFORE_EVIDENCE_MAX,
        );
        let mut before_evidence = Vec::new();
        for (i, s) in self.before_evidence_ids.iter().enumerate() {
            if let Some(id) =
                super::id::optional_in(&format!("{P}.before_evidence_ids[{i}]"), s, &mut v)
                && !before_evidence.contains(&id)
            {
                before_evidence.push(id);
            }
        }
        v.finish()?;
        Ok(FindingContent {
            unit_code: self.unit_code.trim().to_string(),
            campaign_id,
            category: category.expect("validated"),
            medium: medium.expect("validated"),
            severity: severity.expect("validated"),
            title: self.title.trim().to_string(),
            description: self.description,
            location,
            credit_code: (!credit.is_empty()).then_some(credit),
            sources,
            before_evidence,
        })
    }
}

impl FindingContent {
    pub fn location_wgs84(&self) -> Option<Wgs84> {
        self.location.map(|l| l.to_wgs84())
    }

    /// Fingerprint of the content, to tell a retried create from a
    /// different finding that reuses an id.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("finding content serialises");
        hex::encode(Sha256::digest(json))
    }
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub id: Uuid,
    pub content: FindingContent,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Finding {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }
}

/// How a finding's items stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ItemCounts {
    pub total: i64,
    pub verified: i64,
    pub cancelled: i64,
    pub overdue: i64,
}

impl ItemCounts {
    pub fn status(&self) -> FindingStatus {
        if self.total == 0 || self.verified + self.cancelled < self.total {
            FindingStatus::Open
        } else if self.verified == 0 {
            FindingStatus::Cancelled
        } else {
            FindingStatus::Resolved
        }
    }
}

/// A finding with how its items stand.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingView {
    pub finding: Finding,
    pub items: ItemCounts,
    pub evidence: Vec<super::evidence::EvidenceLink>,
}

/// What a list of findings is narrowed to.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FindingFilter {
    /// None: every unit. Some: only these (already narrowed to the scope).
    pub unit_codes: Option<Vec<String>>,
    pub campaign_id: Option<Uuid>,
    pub category: Option<Category>,
    pub medium: Option<Medium>,
    pub severity: Option<Severity>,
    pub status: Option<FindingStatus>,
    /// Only findings with an overdue item.
    pub overdue: bool,
    #[serde(serialize_with = "ser_bbox")]
    pub bounding_box: Option<BoundingBox>,
    /// Words that must all appear in the title or description.
    pub text: String,
    /// Today in China, for what is overdue; not part of the query's
    /// identity.
    #[serde(skip)]
    pub today: Option<NaiveDate>,
}

impl FindingFilter {
    pub fn validate(&self) -> Result<()> {
        let mut v = Violations::new();
        if let Some(b) = &self.bounding_box {
            b.validate("bounding_box", &mut v);
        }
        v.max_chars("text", &self.text, TEXT_QUERY_MAX);
        v.finish()
    }

    /// The words of the text query.
    pub fn words(&self) -> Vec<String> {
        self.text.split_whitespace().map(str::to_string).collect()
    }
}

/// Position after the last finding of a page (newest first, then id).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FindingCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

pub fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("finding {id}"))
}
