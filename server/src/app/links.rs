//! Links between evidence and check records, and the signals of each link.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::App;
use crate::domain::access::{Caller, Role};
use crate::domain::derivative;
use crate::domain::event::Change;
use crate::domain::evidence::{Evidence, EvidenceLink, EvidenceRole};
use crate::domain::signals::{self, Reuse};
use crate::domain::validate::{Input, Violations};
use crate::error::{Error, Reason, Result};
use crate::store::{CHECK_RECORD, EVIDENCE};

const LINK: &[Role] = &[Role::Inspector];

impl App {
    /// Each of `ids` is evidence of `unit`; else INVALID_ARGUMENT under
    /// `field[i]`.
    pub(super) async fn evidence_of_unit(
        &self,
        ids: &[Uuid],
        unit: &str,
        field: &str,
    ) -> Result<()> {
        for (i, id) in ids.iter().enumerate() {
            if self
                .store
                .get_evidence(*id)
                .await?
                .is_none_or(|e| e.unit_code != unit)
            {
                return Err(Error::invalid(
                    format!("{field}[{i}]"),
                    format!("no evidence {id} in unit {unit}"),
                ));
            }
        }
        Ok(())
    }

    /// Links evidence to a check record of the same unit.
    pub async fn link_evidence(
        &self,
        caller: &Caller,
        evidence_id: &str,
        record_id: &str,
        role: Input<EvidenceRole>,
    ) -> Result<EvidenceLink> {
        caller.require(LINK)?;
        let mut v = Violations::new();
        let role = role.required("role", &mut v);
        v.finish()?;
        let e = self.get_evidence(caller, evidence_id).await?;
        let record = self.get_check_record(caller, record_id).await?;
        if e.unit_code != record.content.unit_code {
            return Err(Error::refused(
                Reason::UnitMismatch,
                format!(
                    "evidence {} belongs to unit {}, check record {} to unit {}",
                    e.id, e.unit_code, record.id, record.content.unit_code
                ),
            ));
        }
        let role = role.expect("validated");
        let change = link_change(caller, &e, record.id, "linked", Some(role), self.now());
        self.store
            .put_link(e.id, CHECK_RECORD, record.id, role, &change)
            .await?;
        self.assess_around(&e.sha256).await?;
        self.store
            .links_of(CHECK_RECORD, &[record.id])
            .await?
            .into_iter()
            .map(|(_, l)| l)
            .find(|l| l.evidence_id == e.id)
            .ok_or_else(|| Error::internal("link vanished"))
    }

    pub async fn unlink_evidence(
        &self,
        caller: &Caller,
        evidence_id: &str,
        record_id: &str,
    ) -> Result<()> {
        caller.require(LINK)?;
        let e = self.get_evidence(caller, evidence_id).await?;
        let record = self.get_check_record(caller, record_id).await?;
        if !self
            .store
            .delete_link(
                e.id,
                CHECK_RECORD,
                record.id,
                &link_change(caller, &e, record.id, "unlinked", None, self.now()),
            )
            .await?
        {
            return Err(Error::NotFound(format!(
                "link of evidence {} to check record {}",
                e.id, record.id
            )));
        }
        // The others lose their "reused" signal if this was the reuse.
        self.assess_around(&e.sha256).await
    }

    /// Works out again the link signals of these bytes and of every
    /// near-identical picture, whose "near duplicate" counts change too.
    pub(super) async fn assess_around(&self, sha256: &str) -> Result<()> {
        let near = self.near_pictures(sha256).await?;
        self.assess_bytes(sha256, &near).await?;
        for (other, _) in &near {
            let theirs = self.near_pictures(other).await?;
            self.assess_bytes(other, &theirs).await?;
        }
        Ok(())
    }

    /// Other contents whose pictures are near-identical to these bytes',
    /// with the distance between their perceptual hashes.
    async fn near_pictures(&self, sha256: &str) -> Result<Vec<(String, u32)>> {
        let Some(phash) = self.store.phash_of(sha256).await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .phash_candidates(sha256, phash)
            .await?
            .into_iter()
            .map(|(s, h)| (s, derivative::hamming(phash, h)))
            .filter(|(_, d)| *d <= self.signals.max_near_distance)
            .collect())
    }

    /// Works out again the signals of every check-record link of these
    /// bytes: their distance and time against each record, and reuse of
    /// the same or a `near` picture by other records.
    async fn assess_bytes(&self, sha256: &str, near: &[(String, u32)]) -> Result<()> {
        let pairs = self.store.check_links_of_bytes(sha256).await?;
        let mut records: Vec<Uuid> = pairs.iter().map(|(r, _)| *r).collect();
        records.sort();
        records.dedup();
        // Each record holding a near-identical picture, at its closest.
        let mut near_records: BTreeMap<Uuid, u32> = BTreeMap::new();
        for (other, distance) in near {
            for (r, _) in self.store.check_links_of_bytes(other).await? {
                let d = near_records.entry(r).or_insert(*distance);
                *d = (*d).min(*distance);
            }
        }
        for (record, evidence) in &pairs {
            let (Some(e), Some(rec)) = (
                self.store.get_evidence(*evidence).await?,
                self.store.get_check(*record).await?,
            ) else {
                continue;
            };
            let elsewhere: Vec<u32> = near_records
                .iter()
                .filter(|(r, _)| *r != record)
                .map(|(_, d)| *d)
                .collect();
            let reuse = Reuse {
                same_bytes: records.len() as i64 - 1,
                near: elsewhere.iter().min().map(|d| (elsewhere.len() as i64, *d)),
            };
            let found = signals::against_check(
                &e.media_type,
                &e.metadata,
                &rec.record.content,
                reuse,
                &self.signals,
            );
            self.store
                .set_link_signals(*evidence, CHECK_RECORD, *record, &found)
                .await?;
        }
        Ok(())
    }
}

/// The change linking or unlinking evidence to a check record records.
fn link_change(
    caller: &Caller,
    e: &Evidence,
    record: Uuid,
    action: &str,
    role: Option<EvidenceRole>,
    at: chrono::DateTime<chrono::Utc>,
) -> Change {
    Change {
        at,
        actor: caller.subject.clone(),
        action: action.into(),
        subject_kind: EVIDENCE,
        subject_id: e.id,
        unit_code: e.unit_code.clone(),
        data: serde_json::json!({
            "subject_kind": CHECK_RECORD,
            "subject_id": record,
            "role": role.map(EvidenceRole::as_str),
        }),
    }
}
