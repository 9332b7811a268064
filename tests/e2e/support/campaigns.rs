//! Campaigns: a year's plan for Liandu and Qingtian, created and advanced
//! by a coordinator.

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};

use super::TestServer;
use super::dates::date;
use super::units::{LIANDU, QINGTIAN};

/// The plan of `year`'s campaign: April to June, Liandu and Qingtian, one
/// patrol team of a leader and a member.
pub fn plan(year: i32) -> pb::Campaign {
    pb::Campaign {
        year,
        title: format!("{year}年丽水市生态环境保护综合督查"),
        start_date: date(chrono::NaiveDate::from_ymd_opt(year, 4, 1).unwrap()),
        end_date: date(chrono::NaiveDate::from_ymd_opt(year, 6, 30).unwrap()),
        target_unit_codes: vec![LIANDU.into(), QINGTIAN.into()],
        teams: vec![pb::Team {
            group: pb::WorkingGroup::Patrol as i32,
            name: "第一综合巡查组".into(),
            members: vec![
                pb::TeamMember {
                    username: "wang".into(),
                    role: pb::TeamRole::Leader as i32,
                },
                pb::TeamMember {
                    username: "li".into(),
                    role: pb::TeamRole::Member as i32,
                },
            ],
        }],
        ..Default::default()
    }
}

/// Creates campaign `p` as `c`.
pub async fn create(c: &Client, p: pb::Campaign) -> Result<pb::Campaign, tonic::Status> {
    c.campaigns()
        .create_campaign(pb::CreateCampaignRequest { campaign: Some(p) })
        .await
        .map(|r| r.into_inner().campaign.unwrap())
}

/// A campaign of `year` planned by a coordinator of `srv`.
pub async fn a_campaign(srv: &TestServer, year: i32) -> pb::Campaign {
    let c = srv.client(Role::Coordinator, &["*"]).await;
    create(&c, plan(year)).await.unwrap()
}

/// Moves `p` on to its next stage.
pub async fn advance(c: &Client, p: &pb::Campaign) -> Result<pb::Campaign, tonic::Status> {
    c.campaigns()
        .advance_campaign(pb::AdvanceCampaignRequest {
            id: p.id.clone(),
            etag: p.etag.clone(),
        })
        .await
        .map(|r| r.into_inner().campaign.unwrap())
}

/// Changes the plan to `p` as `c`.
pub async fn update(c: &Client, p: pb::Campaign) -> Result<pb::Campaign, tonic::Status> {
    c.campaigns()
        .update_campaign(pb::UpdateCampaignRequest { campaign: Some(p) })
        .await
        .map(|r| r.into_inner().campaign.unwrap())
}

/// The written feedback of campaign `campaign_id` to `unit`.
pub async fn feedback_report(
    c: &Client,
    campaign_id: &str,
    unit: &str,
) -> Result<pb::GetFeedbackReportResponse, tonic::Status> {
    c.campaigns()
        .get_feedback_report(pb::GetFeedbackReportRequest {
            campaign_id: campaign_id.into(),
            unit_code: unit.into(),
        })
        .await
        .map(|r| r.into_inner())
}
