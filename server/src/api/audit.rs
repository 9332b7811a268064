//! AuditService handlers.

use ducha_proto::v1::{self as pb, audit_service_server::AuditService};
use tonic::{Request, Response, Status};

use super::caller;
use crate::app::App;

pub struct Audit {
    pub app: App,
}

#[tonic::async_trait]
impl AuditService for Audit {
    async fn verify_chain(
        &self,
        req: Request<pb::VerifyChainRequest>,
    ) -> Result<Response<pb::VerifyChainResponse>, Status> {
        let c = caller(&req)?;
        let report = self.app.verify_audit_chain_as(&c).await?;
        let (first_bad_seq, reason) = report
            .first_break
            .map(|b| (b.seq, b.reason))
            .unwrap_or_default();
        Ok(Response::new(pb::VerifyChainResponse {
            intact: first_bad_seq == 0,
            intact_entries: report.intact as i64,
            first_bad_seq,
            reason,
        }))
    }
}
