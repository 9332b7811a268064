//! Links between evidence and check records, and the signals of each link.

use uuid::Uuid;

use super::App;
use crate::domain::access::{Caller, Role};
use crate::domain::evidence::{EvidenceLink, EvidenceRole};
use crate::domain::signals;
use crate::domain::validate::{Input, Violations};
use crate::error::{Error, Result};
use crate::store::{CHECK_RECORD, time_now};

const LINK: &[Role] = &[Role::Inspector];

impl App {
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
            return Err(Error::FailedPrecondition(format!(
                "evidence {} belongs to unit {}, check record {} to unit {}",
                e.id, e.unit_code, record.id, record.content.unit_code
            )));
        }
        let role = role.expect("validated");
        self.store
            .put_link(
                e.id,
                CHECK_RECORD,
                record.id,
                role,
                &caller.subject,
                time_now(),
            )
            .await?;
        self.assess_bytes(&e.sha256).await?;
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
            .delete_link(e.id, CHECK_RECORD, record.id)
            .await?
        {
            return Err(Error::NotFound(format!(
                "link of evidence {} to check record {}",
                e.id, record.id
            )));
        }
        // The others lose their "reused" signal if this was the reuse.
        self.assess_bytes(&e.sha256).await
    }

    /// Works out again the signals of every check-record link of these
    /// bytes: their distance and time against each record, and reuse.
    pub(super) async fn assess_bytes(&self, sha256: &str) -> Result<()> {
        let pairs = self.store.check_links_of_bytes(sha256).await?;
        let mut records: Vec<Uuid> = pairs.iter().map(|(r, _)| *r).collect();
        records.sort();
        records.dedup();
        for (record, evidence) in &pairs {
            let (Some(e), Some(rec)) = (
                self.store.get_evidence(*evidence).await?,
                self.store.get_check(*record).await?,
            ) else {
                continue;
            };
            let others = records.len() as i64 - 1;
            let found =
                signals::against_check(&e.metadata, &rec.record.content, others, &self.signals);
            self.store
                .set_link_signals(*evidence, CHECK_RECORD, *record, &found)
                .await?;
        }
        Ok(())
    }
}
