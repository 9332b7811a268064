//! Petitions: the desk that takes them in, a complaint by phone, and each
//! step from intake to close as one call that answers with the petition or
//! the refusal.

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};

use super::TestServer;
use super::checks::{create_record, site_check, ts};
use super::dates::{china_today, date};
use super::evidence::link;
use super::units::LIANDU;

/// The complainant's phone and name, which only some may read.
pub const PHONE: &str = "13812345678";
pub const NAME: &str = "王小明";

/// A server with the petition group, a supervisor, and Liandu's liaison
/// and inspector.
pub struct Desk {
    pub srv: TestServer,
    pub officer: Client,
    pub supervisor: Client,
    pub liaison: Client,
    pub inspector: Client,
}

/// The desk on a server of its own.
pub async fn desk() -> Desk {
    let srv = super::spawn().await;
    Desk {
        officer: srv.client(Role::PetitionOfficer, &[LIANDU]).await,
        supervisor: srv.client(Role::Supervisor, &[LIANDU]).await,
        liaison: srv.client(Role::UnitLiaison, &[LIANDU]).await,
        inspector: srv.client(Role::Inspector, &[LIANDU]).await,
        srv,
    }
}

/// A petition by phone about a dyeing works on the Haoxi, with its
/// complainant.
pub fn complaint(latitude: f64, credit_code: &str) -> pb::CreatePetitionRequest {
    pb::CreatePetitionRequest {
        channel: pb::PetitionChannel::Hotline as i32,
        received_time: Some(ducha_sdk::prost_types::Timestamp {
            seconds: chrono::Utc::now().timestamp() - 3600,
            nanos: 0,
        }),
        content: "好溪边印染厂夜间偷排废水，河水发红有异味".into(),
        category: pb::Medium::Water as i32,
        location: Some(pb::Location {
            latitude,
            longitude: 119.9229,
            accuracy_m: 10.0,
            altitude_m: None,
            datum: pb::Datum::Wgs84 as i32,
        }),
        unit_code: LIANDU.into(),
        credit_code: credit_code.into(),
        complainant: Some(pb::Complainant {
            name: NAME.into(),
            phone: PHONE.into(),
            address: "浙江省丽水市莲都区紫金街道好溪村8号".into(),
        }),
        ..Default::default()
    }
}

/// Takes `req` in as `c`, which must be allowed to.
pub async fn take_in(c: &Client, req: pb::CreatePetitionRequest) -> pb::Petition {
    c.petitions()
        .create_petition(req)
        .await
        .unwrap()
        .into_inner()
        .petition
        .unwrap()
}

/// Petition `id` as `c` reads it.
pub async fn get(c: &Client, id: &str) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .get_petition(pb::GetPetitionRequest { id: id.into() })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Accepts `p`, as a key petition when `key` is set.
pub async fn accept(
    c: &Client,
    p: &pb::Petition,
    key: bool,
) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .accept_petition(pb::AcceptPetitionRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            key,
            note: String::new(),
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Dispatches `p` to its unit.
pub async fn dispatch(c: &Client, p: &pb::Petition) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .dispatch_petition(pb::DispatchPetitionRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Answers `p` as its unit, with `evidence`.
pub async fn reply(
    c: &Client,
    p: &pb::Petition,
    evidence: Vec<String>,
) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .reply_to_petition(pb::ReplyToPetitionRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            text: "经查，该厂已停产整改，排污口已封堵".into(),
            evidence_ids: evidence,
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Records by phone whether the complainant is `satisfied`.
pub async fn feedback(
    c: &Client,
    p: &pb::Petition,
    satisfied: bool,
) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .record_feedback(pb::RecordFeedbackRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            method: pb::FeedbackMethod::Phone as i32,
            feedback_time: ts(chrono::Utc::now().timestamp() - 60),
            satisfied,
            note: String::new(),
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Closes `p`.
pub async fn close(c: &Client, p: &pb::Petition) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .close_petition(pb::ClosePetitionRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            note: "办结".into(),
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// The state of `p`.
pub fn state(p: &pb::Petition) -> pb::PetitionState {
    pb::PetitionState::try_from(p.state).unwrap()
}

/// A check record of Liandu with photo `evidence_id` linked: an on-site
/// visit.
pub async fn site_visit(inspector: &Client, evidence_id: &str) -> String {
    let start = chrono::Utc::now().timestamp() - 2400;
    let rec = create_record(inspector, site_check(LIANDU, start)).await;
    link(inspector, evidence_id, &rec.id, pb::EvidenceRole::Context)
        .await
        .unwrap();
    rec.id
}

/// Sends the answer to `p` back for `reason`, with a new reply deadline
/// when `reply_due` is set.
pub async fn send_back(
    c: &Client,
    p: &pb::Petition,
    reason: &str,
    reply_due: Option<chrono::NaiveDate>,
) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .send_back_reply(pb::SendBackReplyRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            reason: reason.into(),
            reply_due_date: reply_due.and_then(date),
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Declines `p` for `reason`.
pub async fn decline(
    c: &Client,
    p: &pb::Petition,
    reason: &str,
) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .decline_petition(pb::DeclinePetitionRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Verifies `p` on site by check record `record`, concluding `conclusion`.
pub async fn verify(
    c: &Client,
    p: &pb::Petition,
    record: &str,
    conclusion: &str,
) -> Result<pb::Petition, tonic::Status> {
    c.petitions()
        .verify_on_site(pb::VerifyOnSiteRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
            check_record_id: record.into(),
            conclusion: conclusion.into(),
        })
        .await
        .map(|r| r.into_inner().petition.unwrap())
}

/// Petition figures of yesterday and today, per unit.
pub async fn todays_figures(c: &Client) -> Vec<pb::PetitionUnitFigures> {
    c.petitions()
        .get_petition_statistics(pb::GetPetitionStatisticsRequest {
            unit_codes: vec![],
            from_date: date(china_today() - chrono::Days::new(1)),
            to_date: date(china_today()),
        })
        .await
        .unwrap()
        .into_inner()
        .units
}
