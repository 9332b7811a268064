//! Petitions through the SDK, with users of each role: intake to close,
//! decline, send-back, reopening on a dissatisfied complainant, repeats and
//! merge, the overdue reply, spot checks, and the complainant's personal
//! data sealed at rest and masked for those who may not see it.

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::support::checks::{T0, create_record, site_check};
use crate::support::cli::run;
use crate::support::dates::{china_today, date_of};
use crate::support::enterprises::CREDIT_CODE;
use crate::support::events::{next, watch};
use crate::support::evidence::{link, photo, upload};
use crate::support::findings::raise;
use crate::support::petitions::{
    NAME, PHONE, accept, close, complaint, decline, desk, dispatch, feedback, get, reply,
    send_back, site_visit, state, take_in, todays_figures, verify,
};
use crate::support::refusals::{reason_of, violated_fields};
use crate::support::supervision::{self, assessment, cases_of};
use crate::support::units::LIANDU;

/// How a supervisor closes a case once the unit has answered again.
const CASE_CLOSED: &str = "单位已重新答复并整改到位";

#[tokio::test]
async fn a_key_petition_goes_from_intake_through_send_back_and_site_visit_to_close() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, CREDIT_CODE)).await;
    assert_eq!(state(&p), pb::PetitionState::Received);
    assert!(date_of(&p.accept_due_date) > china_today() - chrono::Days::new(1));
    // Only petition officers take petitions in.
    let e = d
        .liaison
        .petitions()
        .create_petition(complaint(28.4517, CREDIT_CODE))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // The unit learns of it when it is dispatched, and nothing is closed
    // before it is answered.
    let e = reply(&d.liaison, &p, vec![]).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = close(&d.officer, &p).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        reason_of(&e, "state"),
        ("STATE_DOES_NOT_ALLOW".into(), "RECEIVED".into())
    );
    let e = accept(&d.inspector, &p, true).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    let p = accept(&d.officer, &p, true).await.unwrap();
    assert!(p.key);
    let p = dispatch(&d.officer, &p).await.unwrap();
    assert_eq!(state(&p), pb::PetitionState::Dispatched);
    assert_eq!(p.unit_code, LIANDU);
    assert_eq!(
        date_of(&p.reply_due_date),
        china_today() + chrono::Days::new(30)
    );

    // The unit answers with a photo; the answer falls short and goes back.
    let photo_id = upload(&d.inspector, LIANDU, &photo()).await.unwrap().id;
    let p = reply(&d.liaison, &p, vec![photo_id.clone()]).await.unwrap();
    assert_eq!(
        p.reply.as_ref().unwrap().evidence_ids,
        vec![photo_id.clone()]
    );
    let e = send_back(&d.officer, &p, "", None).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let p = send_back(&d.officer, &p, "未说明废水去向，请补充监测数据", None)
        .await
        .unwrap();
    assert_eq!(state(&p), pb::PetitionState::Dispatched);
    assert_eq!(p.send_backs, 1);
    assert!(p.reply.is_none());
    let p = reply(&d.liaison, &p, vec![]).await.unwrap();

    // A key petition is verified on site before the complainant is told.
    let e = feedback(&d.officer, &p, true).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("SITE_VISIT_REQUIRED"),
        "{e:?}"
    );
    let recent = chrono::Utc::now().timestamp() - 2400;
    let bare = create_record(&d.inspector, site_check(LIANDU, recent)).await;
    let conclusion = "现场核实：排污口已封堵，河水清澈";
    let e = verify(&d.inspector, &p, &bare.id, conclusion)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["check_record_id"]);
    assert!(e.message().contains("no evidence"), "{}", e.message());
    // An older visit, made before the petition came in, does not verify it.
    let stale = create_record(&d.inspector, site_check(LIANDU, T0)).await;
    link(
        &d.inspector,
        &photo_id,
        &stale.id,
        pb::EvidenceRole::Context,
    )
    .await
    .unwrap();
    let e = verify(&d.inspector, &p, &stale.id, conclusion)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["check_record_id"]);
    assert!(
        e.message().contains("before the petition"),
        "{}",
        e.message()
    );
    let visit = site_visit(&d.inspector, &photo_id).await;
    let p = verify(&d.inspector, &p, &visit, conclusion).await.unwrap();
    assert_eq!(state(&p), pb::PetitionState::Verified);
    assert_eq!(p.verification.as_ref().unwrap().check_record_id, visit);

    let p = feedback(&d.officer, &p, true).await.unwrap();
    assert_eq!(state(&p), pb::PetitionState::Answered);
    let p = close(&d.officer, &p).await.unwrap();
    assert_eq!(state(&p), pb::PetitionState::Closed);
    let actions: Vec<&str> = p.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "received",
            "accepted",
            "dispatched",
            "replied",
            "sent_back",
            "replied",
            "verified_on_site",
            "feedback_recorded",
            "closed"
        ]
    );
    assert!(p.history[4].note.contains("监测数据"));
}

#[tokio::test]
async fn a_declined_petition_stays_declined() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, "")).await;
    let e = decline(&d.officer, &p, " ").await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let declined = decline(
        &d.officer,
        &p,
        "不属于生态环境部门职责，已告知向住建部门反映",
    )
    .await
    .unwrap();
    assert_eq!(state(&declined), pb::PetitionState::Declined);
    assert!(declined.decline_reason.contains("住建"));
    // A stale etag is refused before the state is looked at.
    let e = accept(&d.officer, &p, false).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    let e = accept(&d.officer, &declined, false).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        reason_of(&e, "state"),
        ("STATE_DOES_NOT_ALLOW".into(), "DECLINED".into())
    );
}

#[tokio::test]
async fn a_dissatisfied_complainant_reopens_the_petition_and_it_goes_to_supervision_once() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, "")).await;
    let p = accept(&d.officer, &p, false).await.unwrap();
    let p = dispatch(&d.officer, &p).await.unwrap();
    let p = reply(&d.liaison, &p, vec![]).await.unwrap();
    let p = feedback(&d.officer, &p, false).await.unwrap();
    assert_eq!(state(&p), pb::PetitionState::Reopened);
    assert!(!p.feedback.as_ref().unwrap().satisfied);
    let cases = cases_of(&d.supervisor, &p.id, pb::SupervisionCause::Dissatisfied).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].source_kind,
        pb::SupervisionSourceKind::Petition as i32
    );
    assert_eq!(cases[0].unit_code, LIANDU);

    // Answered again and closed; the complainant comes back dissatisfied
    // after the close: reopened again, still one case for that cause.
    let p = dispatch(&d.officer, &p).await.unwrap();
    let p = reply(&d.liaison, &p, vec![]).await.unwrap();
    let e = close(&d.officer, &p).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("FEEDBACK_REQUIRED"),
        "{e:?}"
    );
    let p = feedback(&d.officer, &p, true).await.unwrap();
    let p = close(&d.officer, &p).await.unwrap();
    let e = feedback(&d.officer, &p, true).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let p = feedback(&d.officer, &p, false).await.unwrap();
    assert_eq!(state(&p), pb::PetitionState::Reopened);
    let cases = cases_of(&d.supervisor, &p.id, pb::SupervisionCause::Dissatisfied).await;
    assert_eq!(cases.len(), 1);
    // Once that case is closed, the next dissatisfied answer opens another.
    supervision::close(&d.supervisor, &cases[0], CASE_CLOSED)
        .await
        .unwrap();
    let p = dispatch(&d.officer, &p).await.unwrap();
    let p = reply(&d.liaison, &p, vec![]).await.unwrap();
    let p = feedback(&d.officer, &p, false).await.unwrap();
    let cases = cases_of(&d.supervisor, &p.id, pb::SupervisionCause::Dissatisfied).await;
    assert_eq!(cases.len(), 2);
    assert_eq!(
        cases
            .iter()
            .filter(|k| k.state == pb::SupervisionCaseState::Open as i32)
            .count(),
        1
    );
    let figures = todays_figures(&d.officer).await;
    assert_eq!(figures.len(), 1);
    assert_eq!(
        (
            figures[0].received,
            figures[0].dissatisfied,
            figures[0].open
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_overdue_reply_opens_one_supervision_case_across_replicas() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, "")).await;
    let p = accept(&d.officer, &p, false).await.unwrap();
    let p = dispatch(&d.officer, &p).await.unwrap();
    assert!(!p.reply_overdue);
    // Time passes: the day after the reply was due.
    let due = date_of(&p.reply_due_date);
    d.srv.pass_days((due - d.srv.today()).num_days() + 1);
    let twin = d.srv.twin().await;
    let (a, b) = tokio::join!(
        d.srv.app.mark_overdue_petitions(d.srv.today()),
        twin.app.mark_overdue_petitions(d.srv.today()),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(
        d.srv
            .app
            .mark_overdue_petitions(d.srv.today())
            .await
            .unwrap(),
        0
    );
    let cases = cases_of(&d.supervisor, &p.id, pb::SupervisionCause::Overdue).await;
    assert_eq!(cases.len(), 1);
    assert!(cases[0].reason.contains(&due.to_string()));
    let late = d
        .officer
        .petitions()
        .list_petitions(pb::ListPetitionsRequest {
            reply_overdue: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .petitions;
    assert_eq!(late.len(), 1);
    assert!(late[0].reply_overdue);
    // Answered late, it still counts as late.
    let p = reply(&d.liaison, &get(&d.officer, &p.id).await.unwrap(), vec![])
        .await
        .unwrap();
    assert!(p.reply_overdue);
    assert!(p.history.iter().any(|h| h.action == "reply_overdue"));

    // Sent back once the deadline has passed: a new one is needed, and
    // from then on lateness is judged against it.
    let e = send_back(&d.officer, &p, "答复未附监测数据", None)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reply_due_date"]);
    let due = d.srv.today() + chrono::Days::new(10);
    let p = send_back(&d.officer, &p, "答复未附监测数据", Some(due))
        .await
        .unwrap();
    assert!(!p.reply_overdue);
    // Late again: while the first case is open no second one is opened;
    // once it is closed, the next lapse opens a new case.
    d.srv.pass_days(11);
    supervision::close(&d.supervisor, &cases[0], CASE_CLOSED)
        .await
        .unwrap();
    assert_eq!(
        d.srv
            .app
            .mark_overdue_petitions(d.srv.today())
            .await
            .unwrap(),
        1
    );
    let cases = cases_of(&d.supervisor, &p.id, pb::SupervisionCause::Overdue).await;
    assert_eq!(cases.len(), 2);
    let p = get(&d.officer, &p.id).await.unwrap();
    assert!(p.reply_overdue);
    let lapses = p.history.iter().filter(|h| h.action == "reply_overdue");
    assert_eq!(lapses.count(), 2);
    let figures = todays_figures(&d.officer).await;
    assert_eq!(figures[0].reply_overdue, 1);
}

#[tokio::test]
async fn repeats_are_suggested_and_merged_and_counted() {
    let d = desk().await;
    let first = take_in(&d.officer, complaint(28.4517, CREDIT_CODE)).await;
    assert!(first.possible_repeats.is_empty());
    // Same enterprise, somewhere else.
    let same = take_in(&d.officer, complaint(28.50, CREDIT_CODE)).await;
    assert_eq!(same.possible_repeats.len(), 1);
    assert_eq!(same.possible_repeats[0].petition_id, first.id);
    assert!(same.possible_repeats[0].same_enterprise);
    // No enterprise named, about 110 m away.
    let near = take_in(&d.officer, complaint(28.4527, "")).await;
    let r = near
        .possible_repeats
        .iter()
        .find(|r| r.petition_id == first.id)
        .unwrap();
    assert!(!r.same_enterprise);
    let m = r.distance_m.unwrap();
    assert!((100.0..125.0).contains(&m), "{m}");
    // Far away and about another enterprise: nothing suggested.
    let far = take_in(&d.officer, complaint(28.60, "")).await;
    assert!(far.possible_repeats.is_empty());

    let merge = |p: &pb::Petition, into: &str| {
        let (c, req) = (
            d.officer.clone(),
            pb::MergePetitionRequest {
                id: p.id.clone(),
                etag: p.etag.clone(),
                into_id: into.into(),
            },
        );
        async move {
            c.petitions()
                .merge_petition(req)
                .await
                .map(|r| r.into_inner().petition.unwrap())
        }
    };
    let e = merge(&same, &same.id).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["into_id"]);
    let merged = merge(&same, &first.id).await.unwrap();
    assert_eq!(state(&merged), pb::PetitionState::Merged);
    assert_eq!(merged.merged_into_id, first.id);
    let first = get(&d.officer, &first.id).await.unwrap();
    assert_eq!(first.merged_petition_ids, vec![merged.id.clone()]);
    // Merged petitions are answered with the first; into a merged one, no,
    // and a petition others were merged into is not merged itself.
    let e = merge(&near, &merged.id).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("MERGE_TARGET_NOT_OPEN"),
        "{e:?}"
    );
    let e = merge(&first, &near.id).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("MERGE_TARGET_HAS_MERGES"),
        "{e:?}"
    );

    // The unit the first is dispatched to learns nothing of the repeats.
    let first = accept(&d.officer, &first, false).await.unwrap();
    let first = dispatch(&d.officer, &first).await.unwrap();
    let seen = get(&d.liaison, &first.id).await.unwrap();
    assert!(seen.merged_petition_ids.is_empty() && seen.possible_repeats.is_empty());
    assert_eq!(
        get(&d.liaison, &merged.id).await.unwrap_err().code(),
        Code::NotFound
    );
    // Closing the first answers the merged one with it.
    let first = reply(&d.liaison, &first, vec![]).await.unwrap();
    let first = feedback(&d.officer, &first, true).await.unwrap();
    close(&d.officer, &first).await.unwrap();
    let merged = get(&d.officer, &merged.id).await.unwrap();
    let last = merged.history.last().unwrap();
    assert_eq!(last.action, "answered_with");
    assert!(last.note.contains(&first.id), "{}", last.note);
    let figures = todays_figures(&d.supervisor).await;
    assert_eq!((figures[0].received, figures[0].repeats), (4, 1));
}

#[tokio::test]
async fn complainants_are_sealed_at_rest_and_masked_for_others() {
    let d = desk().await;
    let viewer = d.srv.client(Role::Viewer, &["*"]).await;
    let coordinator = d.srv.client(Role::Coordinator, &["*"]).await;
    let p = take_in(&d.officer, complaint(28.4517, CREDIT_CODE)).await;
    let anonymous = take_in(
        &d.officer,
        pb::CreatePetitionRequest {
            complainant: None,
            ..complaint(28.4517, CREDIT_CODE)
        },
    )
    .await;
    assert!(anonymous.anonymous && anonymous.complainant.is_none());

    // In the database: sealed, no trace of the person.
    let rows = d
        .srv
        .raw_texts("SELECT complainant FROM petitions WHERE complainant IS NOT NULL")
        .await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].starts_with("v1."), "{}", rows[0]);
    for secret in [PHONE, NAME, "好溪村"] {
        assert!(!rows[0].contains(secret));
    }

    // In full for the petition group and supervisors, masked for others;
    // the unit sees it once it is dispatched there.
    assert_eq!(
        get(&d.liaison, &p.id).await.unwrap_err().code(),
        Code::NotFound
    );
    let p = accept(&d.officer, &p, false).await.unwrap();
    let p = dispatch(&d.officer, &p).await.unwrap();
    for c in [&d.officer, &d.supervisor] {
        let full = get(c, &p.id).await.unwrap();
        assert!(!full.complainant_masked);
        assert_eq!(full.complainant.as_ref().unwrap().phone, PHONE);
    }
    for c in [&d.liaison, &viewer] {
        let masked = get(c, &p.id).await.unwrap();
        assert!(masked.complainant_masked);
        let who = masked.complainant.unwrap();
        assert_eq!(who.phone, "138****5678");
        assert_eq!(who.name, "王**");
        assert!(!who.address.contains("8号"));
    }

    // The unit's liaison is shown the petition's events from its dispatch.
    let mut feed = watch(&d.liaison, 0, &["petition."]).await;
    let first = next(&mut feed).await;
    assert_eq!(first.kind, "petition.dispatched");

    // Never in the event feed, the audit log or the export.
    let events = d
        .srv
        .raw_texts("SELECT CAST(data AS TEXT) FROM events")
        .await;
    assert!(events.iter().any(|e| e.contains("hotline")));
    let audit = d
        .srv
        .raw_texts("SELECT actor || action || digest FROM audit_log")
        .await;
    for secret in [PHONE, NAME, "138****5678"] {
        assert!(!events.iter().chain(&audit).any(|e| e.contains(secret)));
    }
    let csv = coordinator
        .petitions()
        .export_petitions(pb::ExportPetitionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .csv;
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert!(csv.contains(&p.id) && csv.contains("好溪边印染厂"));
    assert!(!csv.contains(PHONE) && !csv.contains(NAME) && !csv.contains("138****"));
}

#[tokio::test]
async fn the_master_key_rotates_without_losing_a_complainant() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, CREDIT_CODE)).await;
    let (dir, db) = (d.srv.dir.clone(), d.srv.db.clone());
    let old_key = |s: &str| s.split('.').nth(1).unwrap().to_string();
    let before = d.srv.raw_texts("SELECT complainant FROM petitions").await;
    let data_dir = dir.path().to_str().unwrap().to_string();
    let cli = |args: &'static [&'static str]| {
        let (dir, db, data_dir) = (dir.clone(), db.clone(), data_dir.clone());
        async move {
            let mut all = args.to_vec();
            all.extend(["--data-dir", &data_dir]);
            run(dir.path(), &db, &all, "").await
        }
    };
    let (ok, new_id, _) = cli(&["personal-data", "add-key", "--current"]).await;
    assert!(ok);
    let new_id = new_id.trim().to_string();
    assert_ne!(old_key(&before[0]), new_id);
    // After a restart the new key seals and the old one still opens.
    let srv = d.srv.restart().await;
    let officer = srv.client(Role::PetitionOfficer, &[LIANDU]).await;
    assert_eq!(
        get(&officer, &p.id)
            .await
            .unwrap()
            .complainant
            .unwrap()
            .phone,
        PHONE
    );
    let q = take_in(&officer, complaint(28.4517, "")).await;
    let (ok, _, err) = cli(&["personal-data", "rewrap"]).await;
    assert!(ok, "{err}");
    assert!(err.contains("1 sealed values moved"), "{err}");
    for row in srv.raw_texts("SELECT complainant FROM petitions").await {
        assert_eq!(old_key(&row), new_id);
    }
    assert_eq!(
        get(&officer, &p.id)
            .await
            .unwrap()
            .complainant
            .unwrap()
            .name,
        NAME
    );
    assert_eq!(
        get(&officer, &q.id)
            .await
            .unwrap()
            .complainant
            .unwrap()
            .name,
        NAME
    );

    // A lost key file is noticed at start, and no new key takes its place.
    let keys = dir.path().join("keys").join("personal-data.toml");
    let kept = keys.with_extension("kept");
    std::fs::rename(&keys, &kept).unwrap();
    let (ok, _, err) = cli(&["personal-data", "rewrap"]).await;
    assert!(!ok);
    assert!(err.contains("is missing"), "{err}");
    assert!(!keys.exists());
    std::fs::rename(&kept, &keys).unwrap();
}

#[tokio::test]
async fn a_petition_raises_findings_of_its_unit() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, CREDIT_CODE)).await;
    let finding = |source: &str| pb::Finding {
        unit_code: LIANDU.into(),
        category: pb::FindingCategory::ProminentProblem as i32,
        medium: pb::Medium::Water as i32,
        severity: pb::Severity::Serious as i32,
        title: "群众举报印染废水偷排属实".into(),
        sources: vec![pb::FindingSource {
            kind: pb::FindingSourceKind::Petition as i32,
            id: source.into(),
            reference: String::new(),
        }],
        ..Default::default()
    };
    let e = raise(&d.officer, finding(&uuid::Uuid::now_v7().to_string()))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["finding.sources[0].id"]);
    let f = raise(&d.officer, finding(&p.id)).await.unwrap();
    assert_eq!(f.sources[0].id, p.id);

    // Supervision presses a unit once the petition is dispatched to it.
    let e = supervision::open(
        &d.supervisor,
        pb::SupervisionSourceKind::Petition,
        &p.id,
        "群众反映强烈，请督办",
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("PETITION_NOT_DISPATCHED"),
        "{e:?}"
    );

    // A declined petition raises nothing.
    let q = take_in(&d.officer, complaint(28.4517, "")).await;
    decline(&d.officer, &q, "重复举报，已告知").await.unwrap();
    let e = raise(&d.officer, finding(&q.id)).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["finding.sources[0].id"]);
    assert!(e.message().contains("DECLINED"), "{}", e.message());
}

#[tokio::test]
async fn a_retried_intake_is_taken_in_once_and_the_register_pages() {
    let d = desk().await;
    let request_id = uuid::Uuid::now_v7().to_string();
    let once = || pb::CreatePetitionRequest {
        request_id: request_id.clone(),
        ..complaint(28.4517, CREDIT_CODE)
    };
    let first = take_in(&d.officer, once()).await;
    let again = take_in(&d.officer, once()).await;
    assert_eq!(again.id, first.id);
    let e = d
        .officer
        .petitions()
        .create_petition(pb::CreatePetitionRequest {
            content: "另一件事：垃圾焚烧冒黑烟".into(),
            ..once()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let e = d
        .officer
        .petitions()
        .create_petition(pb::CreatePetitionRequest {
            request_id: "not-a-uuid".into(),
            ..complaint(28.4517, CREDIT_CODE)
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["request_id"]);

    for _ in 0..4 {
        take_in(&d.officer, complaint(28.60, "")).await;
    }
    let mut seen = vec![];
    let mut token = String::new();
    loop {
        let page = d
            .officer
            .petitions()
            .list_petitions(pb::ListPetitionsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.petitions.len() <= 2);
        seen.extend(page.petitions.into_iter().map(|p| p.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.contains(&first.id));
    let e = d
        .officer
        .petitions()
        .list_petitions(pb::ListPetitionsRequest {
            page_size: 2,
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["page_token"]);
}

#[tokio::test]
async fn supervisors_spot_check_closed_key_petitions() {
    let d = desk().await;
    let p = take_in(&d.officer, complaint(28.4517, "")).await;
    let p = accept(&d.officer, &p, true).await.unwrap();
    let p = dispatch(&d.officer, &p).await.unwrap();
    let p = reply(&d.liaison, &p, vec![]).await.unwrap();
    let photo_id = upload(&d.inspector, LIANDU, &photo()).await.unwrap().id;
    let visit = site_visit(&d.inspector, &photo_id).await;
    let p = verify(&d.officer, &p, &visit, "属实，已整改")
        .await
        .unwrap();
    let p = feedback(&d.officer, &p, true).await.unwrap();
    let open_one = take_in(&d.officer, complaint(28.4517, "")).await;
    let p = close(&d.officer, &p).await.unwrap();

    let sample = |c: &Client| {
        let c = c.clone();
        async move {
            c.petitions()
                .sample_for_spot_check(pb::SampleForSpotCheckRequest {
                    unit_codes: vec![],
                    count: 5,
                })
                .await
        }
    };
    let e = sample(&d.officer).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let picked = sample(&d.supervisor).await.unwrap().into_inner().petitions;
    assert_eq!(
        picked.iter().map(|x| &x.id).collect::<Vec<_>>(),
        vec![&p.id]
    );
    assert_ne!(picked[0].id, open_one.id);

    let check = |p: &pb::Petition, passed: bool, note: &str| {
        let (c, req) = (
            d.supervisor.clone(),
            pb::RecordSpotCheckRequest {
                id: p.id.clone(),
                etag: p.etag.clone(),
                passed,
                note: note.into(),
            },
        );
        async move {
            c.petitions()
                .record_spot_check(req)
                .await
                .map(|r| r.into_inner().petition.unwrap())
        }
    };
    let e = check(&p, false, "").await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["note"]);
    let checked = check(&p, false, "回访群众称仍有夜间排放").await.unwrap();
    assert!(!checked.spot_check.as_ref().unwrap().passed);
    assert_eq!(
        cases_of(&d.supervisor, &p.id, pb::SupervisionCause::SpotCheck)
            .await
            .len(),
        1
    );
    let e = check(&checked, true, "").await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        sample(&d.supervisor)
            .await
            .unwrap()
            .into_inner()
            .petitions
            .is_empty()
    );
    // The failed spot check shows in the unit's yearly assessment.
    let year = chrono::Datelike::year(&china_today());
    let a = assessment(&d.supervisor, LIANDU, year).await.unwrap();
    assert_eq!(a.failed_spot_check_petition_ids, vec![p.id.clone()]);
}
