//! Findings, and the team that raises them and works their items: one user
//! of each role in Liandu and a coordinator of all units.

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};

use super::TestServer;
use super::checks::{T0, create_record, site_check};
use super::enterprises::CREDIT_CODE;
use super::units::LIANDU;

/// A server with one user of each role in Liandu.
pub struct Team {
    pub srv: TestServer,
    pub inspector: Client,
    pub liaison: Client,
    pub liaison_name: String,
    pub verifier: Client,
    pub verifier_name: String,
    pub coordinator: Client,
}

/// The team on a server of its own.
pub async fn team() -> Team {
    team_on(super::spawn().await).await
}

/// The team's users on `srv`.
pub async fn team_on(srv: TestServer) -> Team {
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let (liaison, liaison_name) = srv.user(Role::UnitLiaison, &[LIANDU]).await;
    let (verifier, verifier_name) = srv.user(Role::Verifier, &[LIANDU]).await;
    let coordinator = srv.client(Role::Coordinator, &["*"]).await;
    Team {
        srv,
        inspector,
        liaison,
        liaison_name,
        verifier,
        verifier_name,
        coordinator,
    }
}

/// A finding of `unit` from check record `check_id`.
pub fn finding_of(unit: &str, check_id: &str) -> pb::Finding {
    finding(unit, check_id, vec![])
}

/// A finding of `unit` from check record `check_id`, with the evidence of
/// `before`: dyeing wastewater over the limit.
pub fn finding(unit: &str, check_id: &str, before: Vec<String>) -> pb::Finding {
    pb::Finding {
        unit_code: unit.into(),
        category: pb::FindingCategory::ProminentProblem as i32,
        medium: pb::Medium::Water as i32,
        severity: pb::Severity::Serious as i32,
        title: "印染废水超标排放".into(),
        description: "二沉池出水浑浊，排放口有异味。".into(),
        location: Some(pb::Location {
            latitude: 28.4517,
            longitude: 119.9229,
            accuracy_m: 5.0,
            altitude_m: None,
            datum: pb::Datum::Wgs84 as i32,
        }),
        credit_code: CREDIT_CODE.into(),
        sources: vec![pb::FindingSource {
            kind: pb::FindingSourceKind::CheckRecord as i32,
            id: check_id.into(),
            reference: String::new(),
        }],
        before_evidence_ids: before,
        ..Default::default()
    }
}

/// Raises finding `f` as `c`.
pub async fn raise(c: &Client, f: pb::Finding) -> Result<pb::Finding, tonic::Status> {
    c.findings()
        .create_finding(pb::CreateFindingRequest {
            finding: Some(f),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().finding.unwrap())
}

/// A finding of Liandu raised by the team's inspector from a site check.
pub async fn a_finding(t: &Team) -> pb::Finding {
    let rec = create_record(&t.inspector, site_check(LIANDU, T0)).await;
    raise(&t.inspector, finding(LIANDU, &rec.id, vec![]))
        .await
        .unwrap()
}

/// Finding `id` as `c` reads it.
pub async fn get_finding(c: &Client, id: &str) -> Result<pb::Finding, tonic::Status> {
    c.findings()
        .get_finding(pb::GetFindingRequest { id: id.into() })
        .await
        .map(|r| r.into_inner().finding.unwrap())
}
