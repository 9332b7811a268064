//! Figures per unit and the rectification ledger as CSV.

use chrono::{Datelike, Weekday};
use ducha::domain::access::Role;
use ducha_sdk::pb;

use crate::support::checks::{T0, create_record, site_check};
use crate::support::findings::{a_finding, finding_of, raise, team};
use crate::support::rectification::{acknowledge, approve, assign, item, reject, submit};
use crate::support::units::{LIANDU, QINGTIAN};

#[tokio::test]
async fn statistics_and_ledger_per_unit() {
    let t = team().await;
    let f = a_finding(&t).await;
    // Two weeks ago two items were assigned; one of them was sent back
    // once, then signed off today, and the other is late by now.
    let today = t.srv.today();
    let two_weeks = today - chrono::Days::new(14);
    t.srv.pass_days(-14);
    let done = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    let late = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    t.srv.pass_days(14);
    let _open = assign(&t.inspector, &f.id, item(5)).await.unwrap();
    let done = acknowledge(&t.liaison, &done).await.unwrap();
    let done = submit(&t.liaison, &done, vec![]).await.unwrap();
    let done = reject(&t.verifier, &done, "整改不彻底").await.unwrap();
    let done = submit(&t.liaison, &done, vec![]).await.unwrap();
    approve(&t.verifier, &done).await.unwrap();
    let qingtian = t.srv.client(Role::Inspector, &[QINGTIAN]).await;
    let rec = create_record(&qingtian, site_check(QINGTIAN, T0)).await;
    let qf = raise(&qingtian, finding_of(QINGTIAN, &rec.id))
        .await
        .unwrap();
    assign(&qingtian, &qf.id, item(5)).await.unwrap();

    let stats = |c: ducha_sdk::Client| async move {
        c.rectification()
            .get_rectification_statistics(pb::GetRectificationStatisticsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .units
    };
    let all = stats(t.coordinator.clone()).await;
    assert_eq!(
        all.iter().map(|u| u.unit_code.as_str()).collect::<Vec<_>>(),
        vec![LIANDU, QINGTIAN]
    );
    let liandu = &all[0];
    assert_eq!(liandu.unit_name, "莲都区");
    assert_eq!(
        (
            liandu.total,
            liandu.open,
            liandu.verified,
            liandu.overdue,
            liandu.rejections
        ),
        (3, 2, 1, 1, 1)
    );
    // No calendar loaded: Monday to Friday.
    let weekdays = two_weeks
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= today)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .count() as f64;
    assert_eq!(liandu.median_working_days_to_sign_off, Some(weekdays));
    assert_eq!((all[1].total, all[1].open), (1, 1));
    assert_eq!(all[1].median_working_days_to_sign_off, None);
    // A liaison sees its own unit's figures only.
    let mine = stats(t.liaison.clone()).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].unit_code, LIANDU);

    let ledger = t
        .coordinator
        .rectification()
        .export_rectification_ledger(pb::ExportRectificationLedgerRequest {
            unit_codes: vec![LIANDU.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ledger.content_type, "text/csv; charset=utf-8");
    let bytes = ledger.csv.to_vec();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(&header[..3], ["序号", "责任单位代码", "责任单位"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let signed = rows
        .iter()
        .find(|r| r[col("整改事项编号")] == done.id)
        .unwrap();
    assert_eq!(&signed[col("状态")], "VERIFIED");
    assert_eq!(&signed[col("销号人")], t.verifier_name);
    assert_eq!(&signed[col("销号日期")], today.to_string());
    assert_eq!(&signed[col("退回次数")], "1");
    let overdue = rows
        .iter()
        .find(|r| r[col("整改事项编号")] == late.id)
        .unwrap();
    assert_eq!(&overdue[col("是否逾期")], "是");
    assert!(rows.iter().all(|r| &r[col("责任单位")] == "莲都区"));
    assert!(rows.iter().all(|r| &r[col("问题")] == "印染废水超标排放"));

    // Another unit's liaison gets an empty ledger for Liandu.
    let outsider = t.srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    let theirs = outsider
        .rectification()
        .export_rectification_ledger(pb::ExportRectificationLedgerRequest {
            unit_codes: vec![LIANDU.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut reader = csv::Reader::from_reader(&theirs.csv[3..]);
    assert_eq!(reader.records().count(), 0);
}
