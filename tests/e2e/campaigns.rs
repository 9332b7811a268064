//! Campaigns: planned and advanced by coordinators, one a year, with a
//! feedback report per target unit.

use ducha::domain::access::Role;
use ducha_sdk::pb;
use tonic::Code;

use crate::support;
use crate::support::campaigns::{a_campaign, advance, create, feedback_report, plan, update};
use crate::support::checks::{self, T0, create_record, create_with, site_check};
use crate::support::dates::date;
use crate::support::findings::{finding_of, raise, team};
use crate::support::rectification::{acknowledge, approve, assign, item, submit};
use crate::support::refusals::violated_fields;
use crate::support::units::{JINYUN, LIANDU, LONGQUAN, QINGTIAN};

#[tokio::test]
async fn one_campaign_a_year_through_its_stages() {
    let srv = support::spawn().await;
    let coordinator = srv.client(Role::Coordinator, &["*"]).await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;

    let e = create(&inspector, plan(2026)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let mut bad = plan(2026);
    bad.target_unit_codes.clear();
    bad.end_date = date(chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    bad.teams[0].members[1].role = pb::TeamRole::Leader as i32;
    let e = create(&coordinator, bad).await.unwrap_err();
    assert_eq!(
        violated_fields(&e),
        vec![
            "campaign.end_date",
            "campaign.target_unit_codes",
            "campaign.teams[0].members"
        ]
    );
    let mut unknown = plan(2026);
    unknown.target_unit_codes.push("999999".into());
    let e = create(&coordinator, unknown).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["campaign.target_unit_codes[2]"]);

    let c = create(&coordinator, plan(2026)).await.unwrap();
    assert_eq!(c.status, pb::CampaignStatus::Planning as i32);
    assert_eq!(c.teams[0].members[0].role, pb::TeamRole::Leader as i32);
    let e = create(&coordinator, plan(2026)).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    create(&coordinator, plan(2027)).await.unwrap();
    let listed = inspector
        .campaigns()
        .list_campaigns(pb::ListCampaignsRequest {})
        .await
        .unwrap()
        .into_inner()
        .campaigns;
    assert_eq!(
        listed.iter().map(|c| c.year).collect::<Vec<_>>(),
        vec![2027, 2026]
    );

    // The plan changes while the campaign is open.
    let mut changed = c.clone();
    changed.target_unit_codes.push(JINYUN.into());
    let c = update(&coordinator, changed).await.unwrap();
    assert_eq!(c.target_unit_codes.len(), 3);

    let field = advance(&coordinator, &c).await.unwrap();
    assert_eq!(field.status, pb::CampaignStatus::InTheField as i32);
    let e = advance(&coordinator, &c).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    // A program tells a stale read from other refusals by the reason.
    assert_eq!(ducha_sdk::reason(&e).as_deref(), Some("ETAG_MISMATCH"));
    assert_eq!(
        ducha_sdk::reason_metadata(&e).get("current_etag"),
        Some(&field.etag)
    );
    let reporting = advance(&coordinator, &field).await.unwrap();
    let closed = advance(&coordinator, &reporting).await.unwrap();
    assert_eq!(closed.status, pb::CampaignStatus::Closed as i32);
    let e = advance(&coordinator, &closed).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("NO_FURTHER_STAGE"),
        "{e:?}"
    );
    let e = update(&coordinator, closed).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // Records belong only to campaigns that exist.
    let mut stray = site_check(LIANDU, T0);
    stray.campaign_id = uuid::Uuid::now_v7().to_string();
    let e = create_with(&inspector, checks::create(stray))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["check_record.campaign_id"]);
}

#[tokio::test]
async fn a_target_unit_gets_its_written_feedback() {
    let t = team().await;
    let c = a_campaign(&t.srv, 2026).await;
    let mut rec = site_check(LIANDU, T0);
    rec.campaign_id = c.id.clone();
    let rec = create_record(&t.inspector, rec).await;
    let mut f = finding_of(LIANDU, &rec.id);
    f.campaign_id = c.id.clone();
    let f = raise(&t.inspector, f).await.unwrap();
    let done = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    assert_eq!(done.campaign_id, c.id);
    let mut second = item(10);
    second.requirement = "建立废水处理设施运行台账".into();
    assign(&t.inspector, &f.id, second).await.unwrap();
    let done = acknowledge(&t.liaison, &done).await.unwrap();
    let done = submit(&t.liaison, &done, vec![]).await.unwrap();
    approve(&t.verifier, &done).await.unwrap();

    let report = feedback_report(&t.liaison, &c.id, LIANDU).await.unwrap();
    assert_eq!(report.unit_name, "莲都区");
    assert_eq!(report.findings.len(), 1);
    let items = &report.findings[0].items;
    assert_eq!(items.len(), 2);
    let stats = report.statistics.unwrap();
    assert_eq!((stats.total, stats.verified, stats.open), (2, 1, 1));
    let md = &report.markdown;
    assert!(md.starts_with("# 2026年丽水市生态环境保护综合督查"), "{md}");
    assert!(
        md.contains(&format!("对莲都区（{LIANDU}）的反馈意见")),
        "{md}"
    );
    assert!(
        md.contains("督查发现问题 1 个，交办整改事项 2 项：已销号 1 项"),
        "{md}"
    );
    assert!(
        md.contains("1. **印染废水超标排放**（突出环境问题／水／较重）"),
        "{md}"
    );
    assert!(md.contains("状态：已销号"), "{md}");
    assert!(md.contains("建立废水处理设施运行台账"), "{md}");

    // Another target unit has nothing yet; a unit outside the campaign, or
    // outside the caller's scope, gets no report.
    let qingtian = feedback_report(&t.coordinator, &c.id, QINGTIAN)
        .await
        .unwrap();
    assert!(qingtian.findings.is_empty());
    assert!(qingtian.markdown.contains("本次督查未发现问题"));
    let e = feedback_report(&t.coordinator, &c.id, LONGQUAN)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["unit_code"]);
    let outsider = t.srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    let e = feedback_report(&outsider, &c.id, LIANDU).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}
