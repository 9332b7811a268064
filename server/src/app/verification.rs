//! The verifier's view of a submitted item: BEFORE and AFTER side by side,
//! with links to look at them and each pair compared.

use uuid::Uuid;

use super::{App, ItemView};
use crate::domain::access::Caller;
use crate::domain::evidence::EvidenceRole;
use crate::domain::finding;
use crate::error::Result;

/// A picture or document with short-lived links to look at it.
#[derive(Debug, Clone)]
pub struct ShownEvidence {
    pub evidence: crate::domain::evidence::Evidence,
    pub thumbnail: Option<super::DownloadUrl>,
    pub preview: Option<super::DownloadUrl>,
}

/// Everything a verifier needs to decide on a submitted item.
#[derive(Debug, Clone)]
pub struct VerificationView {
    pub item: ItemView,
    pub finding: crate::domain::finding::FindingView,
    pub before: Vec<ShownEvidence>,
    pub after: Vec<ShownEvidence>,
    pub pairs: Vec<crate::domain::verification::Pair>,
}

impl App {
    /// The item with its history, its finding, BEFORE and AFTER evidence
    /// side by side with links to their thumbnails and previews, their
    /// signals, and each BEFORE/AFTER pair compared.
    pub async fn verification_view(&self, caller: &Caller, id: &str) -> Result<VerificationView> {
        let item = self.get_item(caller, id).await?;
        let finding = self
            .store
            .get_finding(item.item.finding_id)
            .await?
            .ok_or_else(|| finding::not_found(item.item.finding_id))?
            .finding;
        caller.ensure_sees(&finding.content.unit_code, || {
            format!("finding {} of rectification item {id}", finding.id)
        })?;
        let finding = self.finding_views(vec![finding]).await?.remove(0);
        let before_ids: Vec<Uuid> = finding.evidence.iter().map(|l| l.evidence_id).collect();
        let after_ids: Vec<Uuid> = item
            .evidence
            .iter()
            .filter(|l| l.role == EvidenceRole::After)
            .map(|l| l.evidence_id)
            .collect();
        let before = self.shown(caller, &before_ids).await?;
        let after = self.shown(caller, &after_ids).await?;
        let pairs = crate::domain::verification::compare(
            &before
                .iter()
                .map(|s| s.evidence.clone())
                .collect::<Vec<_>>(),
            &after.iter().map(|s| s.evidence.clone()).collect::<Vec<_>>(),
            self.signals.max_distance_m,
            self.signals.max_near_distance,
        );
        Ok(VerificationView {
            item,
            finding,
            before,
            after,
            pairs,
        })
    }

    async fn shown(&self, caller: &Caller, ids: &[Uuid]) -> Result<Vec<ShownEvidence>> {
        use crate::domain::derivative::Variant;
        let mut out = Vec::new();
        for id in ids {
            let Some(evidence) = self
                .store
                .get_evidence(*id)
                .await?
                .filter(|e| caller.sees_unit(&e.unit_code))
            else {
                continue;
            };
            // Links exist only once derivatives are made; a document has none.
            let thumbnail = self
                .url_of(caller, &evidence, Variant::Thumbnail, None)
                .await
                .ok();
            let preview = self
                .url_of(caller, &evidence, Variant::Preview, None)
                .await
                .ok();
            out.push(ShownEvidence {
                evidence,
                thumbnail,
                preview,
            });
        }
        Ok(out)
    }
}
