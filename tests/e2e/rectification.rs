//! Findings and rectification items through the SDK, with users of each
//! role: from a check record and a photo to sign-off, every refused step,
//! unit isolation, accident sign-off, working-day deadlines and the audit
//! log.

use chrono::{Datelike, NaiveDate, Weekday};
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::support::checks::{T0, create_record, site_check};
use crate::support::cli::run;
use crate::support::dates::{china_today, date, date_of};
use crate::support::evidence::{begin, fixture, settled, upload, upload_with};
use crate::support::findings::{a_finding, finding, get_finding, raise, team};
use crate::support::rectification::{
    acknowledge, approve, assign, cancel, decide, extend, get_item, item, list_items, reject,
    report_progress, state, submit,
};
use crate::support::refusals::{reason_of, refused, refused_with, violated_fields};
use crate::support::units::{LIANDU, QINGTIAN};

#[tokio::test]
async fn from_a_photo_to_sign_off() {
    let t = team().await;
    let rec = create_record(&t.inspector, site_check(LIANDU, T0)).await;
    let before = upload(&t.inspector, LIANDU, &fixture("DSCN0010.jpg"))
        .await
        .unwrap();
    let f = raise(
        &t.inspector,
        finding(LIANDU, &rec.id, vec![before.id.clone()]),
    )
    .await
    .unwrap();
    assert_eq!(f.status, pb::FindingStatus::Open as i32);
    assert_eq!(f.evidence.len(), 1);
    assert_eq!(f.evidence[0].role, pb::EvidenceRole::Before as i32);

    let mut i = item(10);
    i.photo_required = true;
    let i = assign(&t.inspector, &f.id, i).await.unwrap();
    assert_eq!(state(&i), pb::RectificationState::Open);
    assert_eq!(i.unit_code, LIANDU);
    assert!(date_of(&i.due_date) > china_today());

    let i = acknowledge(&t.liaison, &i).await.unwrap();
    assert_eq!(state(&i), pb::RectificationState::InProgress);
    let i = report_progress(&t.liaison, &i, "已停产，正在更换曝气设备")
        .await
        .unwrap();
    // Photo proof is required and none is attached yet.
    let e = submit(&t.liaison, &i, vec![]).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["evidence_ids"]);

    let after = upload(&t.liaison, LIANDU, &fixture("landscape_1.jpg"))
        .await
        .unwrap();
    let i = submit(&t.liaison, &i, vec![after.id.clone()])
        .await
        .unwrap();
    assert_eq!(state(&i), pb::RectificationState::Submitted);
    assert_eq!(i.evidence.len(), 1);
    assert_eq!(i.evidence[0].role, pb::EvidenceRole::After as i32);

    let e = reject(&t.verifier, &i, " ").await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let i = reject(&t.verifier, &i, "照片未显示排放口").await.unwrap();
    assert_eq!(state(&i), pb::RectificationState::InProgress);
    assert_eq!(i.rejection_count, 1);
    // The AFTER photo already attached still counts.
    let i = submit(&t.liaison, &i, vec![]).await.unwrap();
    let i = approve(&t.verifier, &i).await.unwrap();
    assert_eq!(state(&i), pb::RectificationState::Verified);
    assert_eq!(i.sign_off_user, t.verifier_name);
    assert!(i.sign_off_time.is_some());

    let i = get_item(&t.liaison, &i.id).await.unwrap();
    use pb::RectificationAction as A;
    let steps: Vec<(i32, &str)> = i
        .history
        .iter()
        .map(|h| (h.action, h.note.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (A::Create as i32, ""),
            (A::Acknowledge as i32, ""),
            (A::ReportProgress as i32, "已停产，正在更换曝气设备"),
            (A::Submit as i32, "二沉池已修复，出水检测达标"),
            (A::Reject as i32, "照片未显示排放口"),
            (A::Submit as i32, "二沉池已修复，出水检测达标"),
            (A::Approve as i32, "现场复核属实，同意销号"),
        ]
    );
    assert_eq!(i.history[1].user, t.liaison_name);
    assert_eq!(i.history[3].evidence_ids, vec![after.id.clone()]);
    assert_eq!(
        i.history[6].to_state,
        pb::RectificationState::Verified as i32
    );

    let f = get_finding(&t.inspector, &f.id).await.unwrap();
    assert_eq!(f.status, pb::FindingStatus::Resolved as i32);
    assert_eq!((f.item_count, f.verified_item_count), (1, 1));
    let listed = |status: pb::FindingStatus| {
        let c = t.coordinator.clone();
        async move {
            c.findings()
                .list_findings(pb::ListFindingsRequest {
                    status: status as i32,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .findings
                .len()
        }
    };
    assert_eq!(listed(pb::FindingStatus::Resolved).await, 1);
    assert_eq!(listed(pb::FindingStatus::Open).await, 0);

    // A check record, two photos, a finding, an item and six steps;
    // refused steps leave no trace.
    let chain = t
        .coordinator
        .audit()
        .verify_chain(pb::VerifyChainRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(chain.intact, "{chain:?}");
    assert_eq!(chain.intact_entries, 11);
}

#[tokio::test]
async fn steps_not_allowed_are_refused_and_change_nothing() {
    let t = team().await;
    let f = a_finding(&t).await;
    let i = assign(&t.coordinator, &f.id, item(5)).await.unwrap();

    refused_with(
        approve(&t.verifier, &i).await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "OPEN",
    );
    refused_with(
        submit(&t.liaison, &i, vec![]).await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "OPEN",
    );
    refused_with(
        reject(&t.verifier, &i, "不合格").await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "OPEN",
    );
    refused_with(
        report_progress(&t.liaison, &i, "已开始").await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "OPEN",
    );
    refused_with(
        acknowledge(&t.inspector, &i).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
        "role",
        "inspector",
    );
    refused_with(
        acknowledge(&t.verifier, &i).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
        "role",
        "verifier",
    );
    let mut no_etag = i.clone();
    no_etag.etag.clear();
    let e = acknowledge(&t.liaison, &no_etag).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["etag"]);

    let acked = acknowledge(&t.liaison, &i).await.unwrap();
    refused_with(
        approve(&t.verifier, &acked).await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "IN_PROGRESS",
    );
    // The etag read before the change is stale now.
    refused_with(
        acknowledge(&t.liaison, &i).await,
        Code::Aborted,
        "ETAG_MISMATCH",
        "current_etag",
        &acked.etag,
    );
    refused_with(
        acknowledge(&t.liaison, &acked).await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "IN_PROGRESS",
    );
    refused(
        submit(&t.liaison, &i, vec![]).await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );

    // Extensions: later than the deadline, one at a time, decided by a
    // coordinator.
    let due = date_of(&acked.due_date);
    let e = extend(&t.liaison, &acked, due).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["due_date"]);
    let later = due + chrono::Days::new(30);
    let pending = extend(&t.liaison, &acked, later).await.unwrap();
    assert_eq!(
        date_of(&pending.pending_extension.as_ref().unwrap().due_date),
        later
    );
    refused(
        extend(&t.liaison, &pending, later + chrono::Days::new(1)).await,
        Code::FailedPrecondition,
        "EXTENSION_PENDING",
    );
    refused_with(
        decide(&t.liaison, &pending, true, "").await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
        "role",
        "unit_liaison",
    );
    let e = decide(&t.coordinator, &pending, false, "")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let granted = decide(&t.coordinator, &pending, true, "同意")
        .await
        .unwrap();
    assert_eq!(date_of(&granted.due_date), later);
    assert!(granted.pending_extension.is_none());
    refused(
        decide(&t.coordinator, &granted, true, "").await,
        Code::FailedPrecondition,
        "NO_EXTENSION_PENDING",
    );

    // Cancelled is final.
    refused_with(
        cancel(&t.liaison, &granted, "重复").await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
        "role",
        "unit_liaison",
    );
    let e = cancel(&t.coordinator, &granted, "").await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let gone = cancel(&t.coordinator, &granted, "与另一事项重复")
        .await
        .unwrap();
    assert_eq!(state(&gone), pb::RectificationState::Cancelled);
    refused_with(
        submit(&t.liaison, &gone, vec![]).await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "CANCELLED",
    );
    refused_with(
        approve(&t.verifier, &gone).await,
        Code::FailedPrecondition,
        "STATE_DOES_NOT_ALLOW",
        "state",
        "CANCELLED",
    );
    let f = get_finding(&t.coordinator, &f.id).await.unwrap();
    assert_eq!(f.status, pb::FindingStatus::Cancelled as i32);

    // Bad items and findings name their fields.
    let mut both = item(5);
    both.due_date = date(china_today() + chrono::Days::new(10));
    let e = assign(&t.coordinator, &f.id, both).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["item.working_days"]);
    let mut past = item(0);
    past.due_date = date(china_today() - chrono::Days::new(1));
    let e = assign(&t.coordinator, &f.id, past).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["item.due_date"]);
    let e = assign(&t.liaison, &f.id, item(5)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    let mut no_source = finding(LIANDU, "", vec![]);
    no_source.sources.clear();
    no_source.title.clear();
    let e = raise(&t.inspector, no_source).await.unwrap_err();
    assert_eq!(
        violated_fields(&e),
        vec!["finding.title", "finding.sources"]
    );
    let other = t.srv.client(Role::Inspector, &[QINGTIAN]).await;
    let theirs = create_record(&other, site_check(QINGTIAN, T0)).await;
    let wide = t.srv.client(Role::Inspector, &[LIANDU, QINGTIAN]).await;
    let e = raise(&wide, finding(LIANDU, &theirs.id, vec![]))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["finding.sources[0].id"]);
    let e = raise(&t.inspector, finding(LIANDU, &theirs.id, vec![]))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["finding.sources[0].id"]);
}

#[tokio::test]
async fn another_units_liaison_neither_sees_nor_acts() {
    let t = team().await;
    let f = a_finding(&t).await;
    let i = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    let outsider = t.srv.client(Role::UnitLiaison, &[QINGTIAN]).await;

    let e = get_item(&outsider, &i.id).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    refused(
        acknowledge(&outsider, &i).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    let e = get_finding(&outsider, &f.id).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let items = list_items(&outsider, Default::default()).await;
    assert!(items.is_empty());
    let findings = outsider
        .findings()
        .list_findings(pb::ListFindingsRequest {
            unit_codes: vec![LIANDU.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert!(findings.is_empty());

    // Liandu's own liaison sees it, and acts.
    let mine = list_items(&t.liaison, Default::default()).await;
    assert_eq!(mine.len(), 1);
    acknowledge(&t.liaison, &mine[0]).await.unwrap();
}

#[tokio::test]
async fn an_accident_is_signed_off_only_with_the_four_conditions() {
    let t = team().await;
    let f = a_finding(&t).await;
    let mut i = item(5);
    i.accident = true;
    let i = assign(&t.inspector, &f.id, i).await.unwrap();
    let i = acknowledge(&t.liaison, &i).await.unwrap();
    let i = submit(&t.liaison, &i, vec![]).await.unwrap();
    refused(
        approve(&t.verifier, &i).await,
        Code::FailedPrecondition,
        "ACCIDENT_CONDITIONS_OPEN",
    );

    let record = |c: Client, i: pb::RectificationItem, conditions: pb::AccidentConditions| async move {
        c.rectification()
            .record_accident_conditions(pb::RecordAccidentConditionsRequest {
                id: i.id.clone(),
                etag: i.etag.clone(),
                conditions: Some(conditions),
            })
            .await
            .map(|r| r.into_inner().item.unwrap())
    };
    let i = record(
        t.liaison.clone(),
        i,
        pb::AccidentConditions {
            cause_established: "污泥回流泵故障导致二沉池污泥上浮".into(),
            responsible_dealt_with: "设备主管停职检查".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e = refused(
        approve(&t.verifier, &i).await,
        Code::FailedPrecondition,
        "ACCIDENT_CONDITIONS_OPEN",
    );
    let (reason, missing) = reason_of(&e, "missing");
    assert_eq!(reason, "ACCIDENT_CONDITIONS_OPEN");
    assert_eq!(missing.split(',').count(), 2, "{missing}");
    let i = record(
        t.verifier.clone(),
        i,
        pb::AccidentConditions {
            people_educated: "全厂安全环保培训".into(),
            measures_in_place: "增设备用泵和在线监测".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = i.accident_conditions.clone().unwrap();
    assert_eq!(c.cause_established, "污泥回流泵故障导致二沉池污泥上浮");
    assert_eq!(c.measures_in_place, "增设备用泵和在线监测");
    let i = approve(&t.verifier, &i).await.unwrap();
    assert_eq!(state(&i), pb::RectificationState::Verified);

    // An item that is no accident takes no such conditions.
    let plain = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    refused(
        record(
            t.liaison.clone(),
            plain,
            pb::AccidentConditions {
                cause_established: "x".into(),
                ..Default::default()
            },
        )
        .await,
        Code::FailedPrecondition,
        "NOT_AN_ACCIDENT",
    );
}

/// The `n`th working day after `from`, by weekdays, `off` and `on`.
fn oracle(from: NaiveDate, n: u32, off: &[NaiveDate], on: &[NaiveDate]) -> NaiveDate {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d = d.succ_opt().unwrap();
        let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        if on.contains(&d) || (!weekend && !off.contains(&d)) {
            left -= 1;
        }
    }
    d
}

/// A calendar file of `year` from the days of `off` and `on` in it.
fn calendar_file(year: i32, off: &[NaiveDate], on: &[NaiveDate]) -> String {
    let mut s = format!("year = {year}\n");
    for d in off.iter().filter(|d| d.year() == year) {
        s += &format!("[[holiday]]\nname = \"测试假期\"\nfrom = \"{d}\"\n");
    }
    for d in on.iter().filter(|d| d.year() == year) {
        s += &format!("[[workday]]\nname = \"测试调休\"\ndate = \"{d}\"\n");
    }
    s
}

#[tokio::test]
async fn working_day_deadlines_follow_the_official_calendar() {
    let t = team().await;
    let f = a_finding(&t).await;
    let today = china_today();
    // The next three weekdays are a holiday, and the Saturday after them
    // is worked to make up for it.
    let off: Vec<NaiveDate> = today
        .iter_days()
        .skip(1)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .take(3)
        .collect();
    let on: Vec<NaiveDate> = off[2]
        .iter_days()
        .find(|d| d.weekday() == Weekday::Sat)
        .into_iter()
        .collect();

    // No calendar loaded: Monday to Friday.
    let plain = assign(&t.inspector, &f.id, item(10)).await.unwrap();
    assert_eq!(date_of(&plain.due_date), oracle(today, 10, &[], &[]));
    assert_eq!(plain.working_days, 10);
    assert_eq!(date_of(&plain.assign_date), today);

    let dir = t.srv.dir.path();
    let data_dir = dir.to_str().unwrap();
    for year in [today.year(), on[0].year()]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
    {
        let file = dir.join(format!("calendar-{year}.toml"));
        std::fs::write(&file, calendar_file(year, &off, &on)).unwrap();
        let (ok, _, err) = run(
            dir,
            &t.srv.db,
            &[
                "calendar",
                "load",
                file.to_str().unwrap(),
                "--data-dir",
                data_dir,
            ],
            "",
        )
        .await;
        assert!(ok, "{err}");
        assert!(err.contains(&format!("calendar of {year} loaded")), "{err}");
    }
    let holiday = assign(&t.inspector, &f.id, item(10)).await.unwrap();
    let expected = oracle(today, 10, &off, &on);
    assert_eq!(date_of(&holiday.due_date), expected);
    // Three days off, one made up.
    assert_eq!(
        t.srv.app.add_working_days(today, 10).await.unwrap(),
        expected
    );
    assert!(date_of(&holiday.due_date) > date_of(&plain.due_date));

    // A wrong file is refused with the reason, and changes nothing.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "year = 2026\n[[workday]]\nname = \"x\"\ndate = \"2026-12-02\"\n",
    )
    .unwrap();
    let (ok, _, err) = run(
        dir,
        &t.srv.db,
        &[
            "calendar",
            "load",
            bad.to_str().unwrap(),
            "--data-dir",
            data_dir,
        ],
        "",
    )
    .await;
    assert!(!ok);
    assert!(err.contains("is a Wed"), "{err}");
    assert_eq!(
        t.srv.app.add_working_days(today, 10).await.unwrap(),
        expected
    );
}

#[tokio::test]
async fn a_changed_audit_row_breaks_the_chain_at_that_row() {
    let t = team().await;
    let f = a_finding(&t).await;
    let i = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    acknowledge(&t.liaison, &i).await.unwrap();
    let verify = || async {
        t.coordinator
            .audit()
            .verify_chain(pb::VerifyChainRequest {})
            .await
            .unwrap()
            .into_inner()
    };
    let v = verify().await;
    // The check record, the finding, the item and its acknowledgement.
    assert!(v.intact && v.intact_entries == 4, "{v:?}");
    let e = t
        .liaison
        .audit()
        .verify_chain(pb::VerifyChainRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Someone with database access rewrites who created the item.
    let changed = t
        .srv
        .raw_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        .await;
    assert_eq!(changed, 1);
    let v = verify().await;
    assert!(!v.intact);
    assert_eq!((v.first_bad_seq, v.intact_entries), (2, 1));
    assert!(v.reason.contains("changed"), "{v:?}");

    let dir = t.srv.dir.path();
    let (ok, out, _) = run(
        dir,
        &t.srv.db,
        &["audit", "verify", "--data-dir", dir.to_str().unwrap()],
        "",
    )
    .await;
    assert!(!ok);
    assert!(out.contains("BROKEN at entry 2"), "{out}");
}

/// Uploads `name` as `c` in Liandu, the phone saying it was at `at`.
async fn upload_at(c: &Client, name: &str, at: (f64, f64)) -> pb::Evidence {
    let bytes = fixture(name);
    let mut req = begin(LIANDU, &bytes);
    let loc = req.capture.as_mut().unwrap().location.as_mut().unwrap();
    (loc.latitude, loc.longitude) = at;
    upload_with(c, req, &bytes).await.unwrap()
}

#[tokio::test]
async fn the_verifier_sees_before_and_after_side_by_side() {
    let t = team().await;
    let italy = (43.467448, 11.885127);
    let lishui = (28.4517, 119.9229);
    let before_gps = upload_at(&t.inspector, "DSCN0010.jpg", italy).await;
    let before_view = upload_at(&t.inspector, "landscape_1.jpg", italy).await;
    let rec = create_record(&t.inspector, site_check(LIANDU, T0)).await;
    let f = raise(
        &t.inspector,
        finding(
            LIANDU,
            &rec.id,
            vec![before_gps.id.clone(), before_view.id.clone()],
        ),
    )
    .await
    .unwrap();
    let i = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    let i = acknowledge(&t.liaison, &i).await.unwrap();
    // About 60 m from the BEFORE photo, by its own GPS.
    let after_gps = upload_at(&t.liaison, "DSCN0021.jpg", italy).await;
    // The BEFORE picture again, sent from 9000 km away.
    let after_copy = upload_at(&t.liaison, "landscape_6.jpg", lishui).await;
    let i = submit(
        &t.liaison,
        &i,
        vec![after_gps.id.clone(), after_copy.id.clone()],
    )
    .await
    .unwrap();
    for e in [&before_gps, &before_view, &after_gps, &after_copy] {
        settled(&t.verifier, &e.id).await;
    }

    let v = t
        .verifier
        .rectification()
        .get_verification_view(pb::GetVerificationViewRequest { id: i.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.item.as_ref().unwrap().history.len(), 3);
    assert_eq!(v.finding.as_ref().unwrap().id, f.id);
    let ids = |shown: &[pb::ShownEvidence]| {
        let mut ids: Vec<String> = shown
            .iter()
            .map(|s| s.evidence.as_ref().unwrap().id.clone())
            .collect();
        ids.sort();
        ids
    };
    let mut want = vec![before_gps.id.clone(), before_view.id.clone()];
    want.sort();
    assert_eq!(ids(&v.before), want);
    let mut want = vec![after_gps.id.clone(), after_copy.id.clone()];
    want.sort();
    assert_eq!(ids(&v.after), want);
    for s in v.before.iter().chain(&v.after) {
        assert!(s.thumbnail_url.starts_with("http"), "{s:?}");
        assert!(s.preview_url.starts_with("http"), "{s:?}");
        assert!(s.url_expire_time.is_some());
    }
    let pair = |b: &pb::Evidence, a: &pb::Evidence| {
        v.pairs
            .iter()
            .find(|p| p.before_evidence_id == b.id && p.after_evidence_id == a.id)
            .cloned()
            .unwrap()
    };
    assert_eq!(v.pairs.len(), 4);
    let near = pair(&before_gps, &after_gps);
    let d = near.distance_m.unwrap();
    assert!((30.0..200.0).contains(&d), "{d}");
    assert!(!near.far_apart && !near.near_identical, "{near:?}");
    let copy = pair(&before_view, &after_copy);
    assert!(copy.near_identical && copy.far_apart, "{copy:?}");
    assert!(copy.hash_distance.unwrap() <= 5);
    assert!(copy.distance_m.unwrap() > 8_000_000.0);

    // Another unit's verifier gets nothing.
    let outsider = t.srv.client(Role::Verifier, &[QINGTIAN]).await;
    let e = outsider
        .rectification()
        .get_verification_view(pb::GetVerificationViewRequest { id: i.id.clone() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}
