//! The gRPC services of ducha.v1: each handler authenticates the caller,
//! converts the request, calls one use case in `app`, converts the answer.

mod audit;
mod auth;
mod campaigns;
mod checks;
pub mod convert;
mod enterprises;
mod events;
mod evidence;
mod files;
mod findings;
mod layers;
mod petitions;
mod rectification;
mod status;
mod supervision;
mod units;

use ducha_proto::v1::audit_service_server::AuditServiceServer;
use ducha_proto::v1::auth_service_server::AuthServiceServer;
use ducha_proto::v1::campaign_service_server::CampaignServiceServer;
use ducha_proto::v1::check_service_server::CheckServiceServer;
use ducha_proto::v1::enterprise_service_server::EnterpriseServiceServer;
use ducha_proto::v1::event_service_server::EventServiceServer;
use ducha_proto::v1::evidence_service_server::EvidenceServiceServer;
use ducha_proto::v1::finding_service_server::FindingServiceServer;
use ducha_proto::v1::petition_service_server::PetitionServiceServer;
use ducha_proto::v1::rectification_service_server::RectificationServiceServer;
use ducha_proto::v1::supervision_service_server::SupervisionServiceServer;
use ducha_proto::v1::unit_service_server::UnitServiceServer;
use tonic::Request;

pub use files::FileLinksLayer;
pub use layers::{AuthnLayer, DeadlineLayer, DetachLayer, MessageLimitLayer};

use crate::app::App;
use crate::domain::access::Caller;
use crate::error::Result;

/// The caller of a call, authenticated by `AuthnLayer` before the request
/// was read.
fn caller<T>(req: &Request<T>) -> Result<Caller> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| crate::error::Error::internal("a call reached its handler unauthenticated"))
}

/// The ducha.v1 services, each limited to `max_message_bytes` per message.
pub struct Services {
    pub auth: AuthServiceServer<auth::Auth>,
    pub units: UnitServiceServer<units::Units>,
    pub checks: CheckServiceServer<checks::Checks>,
    pub evidence: EvidenceServiceServer<evidence::Evidences>,
    pub findings: FindingServiceServer<findings::Findings>,
    pub audit: AuditServiceServer<audit::Audit>,
    pub campaigns: CampaignServiceServer<campaigns::Campaigns>,
    pub events: EventServiceServer<events::Events>,
    pub enterprises: EnterpriseServiceServer<enterprises::Enterprises>,
    pub supervision: SupervisionServiceServer<supervision::Supervision>,
    pub petitions: PetitionServiceServer<petitions::Petitions>,
    pub rectification: RectificationServiceServer<rectification::Rectification>,
}

impl Services {
    /// The largest message of EvidenceService: a chunk of the largest
    /// allowed size, plus its envelope.
    pub fn max_evidence_message_bytes(app: &App, max_message_bytes: usize) -> usize {
        max_message_bytes.max(app.uploads.max_chunk_bytes as usize + 64 * 1024)
    }

    pub fn new(app: App, max_message_bytes: usize) -> Services {
        Services {
            auth: AuthServiceServer::new(auth::Auth { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            units: UnitServiceServer::new(units::Units { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            checks: CheckServiceServer::new(checks::Checks { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            audit: AuditServiceServer::new(audit::Audit { app: app.clone() }),
            campaigns: CampaignServiceServer::new(campaigns::Campaigns { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            events: EventServiceServer::new(events::Events { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            enterprises: EnterpriseServiceServer::new(enterprises::Enterprises {
                app: app.clone(),
            })
            .max_decoding_message_size(max_message_bytes),
            supervision: SupervisionServiceServer::new(supervision::Supervision {
                app: app.clone(),
            })
            .max_decoding_message_size(max_message_bytes),
            petitions: PetitionServiceServer::new(petitions::Petitions { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            findings: FindingServiceServer::new(findings::Findings { app: app.clone() })
                .max_decoding_message_size(max_message_bytes),
            rectification: RectificationServiceServer::new(rectification::Rectification {
                app: app.clone(),
            })
            .max_decoding_message_size(max_message_bytes),
            evidence: EvidenceServiceServer::new(evidence::Evidences { app: app.clone() })
                .max_decoding_message_size(Self::max_evidence_message_bytes(
                    &app,
                    max_message_bytes,
                )),
        }
    }
}
