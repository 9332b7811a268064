//! Check records: a valid site check to start from, and creating and
//! reading one through the SDK.

use ducha_sdk::{Client, pb};

use super::enterprises::CREDIT_CODE;

/// 2026-09-21, when the tests' site checks start unless they say.
pub const T0: i64 = 1_790_000_000;

/// Seconds since the epoch as a protobuf timestamp.
pub fn ts(seconds: i64) -> Option<ducha_sdk::prost_types::Timestamp> {
    Some(ducha_sdk::prost_types::Timestamp { seconds, nanos: 0 })
}

/// A valid site check of `unit` at a dyeing works in Liandu, starting at
/// `start`, half an hour long, with one item found wanting.
pub fn site_check(unit: &str, start: i64) -> pb::CheckRecord {
    pb::CheckRecord {
        kind: pb::CheckKind::SiteCheck as i32,
        unit_code: unit.into(),
        subject: Some(pb::Subject {
            name: "丽水市某印染有限公司".into(),
            credit_code: CREDIT_CODE.into(),
        }),
        address: "莲都区南明山街道".into(),
        location: Some(pb::Location {
            latitude: 28.4517,
            longitude: 119.9229,
            accuracy_m: 5.0,
            altitude_m: Some(60.0),
            datum: pb::Datum::Wgs84 as i32,
        }),
        start_time: ts(start),
        end_time: ts(start + 1800),
        checklist: vec![pb::ChecklistItem {
            question: "废水处理设施是否正常运行".into(),
            result: pb::ChecklistResult::NonCompliant as i32,
            note: "二沉池出水浑浊".into(),
        }],
        narrative: "现场检查发现废水处理设施运行不正常。".into(),
        ..Default::default()
    }
}

/// The request that creates `rec`, with no request id.
pub fn create(rec: pb::CheckRecord) -> pb::CreateCheckRecordRequest {
    pb::CreateCheckRecordRequest {
        check_record: Some(rec),
        ..Default::default()
    }
}

/// Sends `req` as `c`: the record created (or created before by the same
/// request), or the refusal.
pub async fn create_with(
    c: &Client,
    req: pb::CreateCheckRecordRequest,
) -> Result<pb::CheckRecord, tonic::Status> {
    c.checks()
        .create_check_record(req)
        .await
        .map(|r| r.into_inner().check_record.unwrap())
}

/// Creates `rec` as `c`, which must be allowed to.
pub async fn create_record(c: &Client, rec: pb::CheckRecord) -> pb::CheckRecord {
    create_with(c, create(rec)).await.unwrap()
}

/// Check record `id` as `c` reads it, which it must be able to.
pub async fn get_record(c: &Client, id: &str) -> pb::CheckRecord {
    c.checks()
        .get_check_record(pb::GetCheckRecordRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap()
}

/// The first page of the check records `c` sees, newest first, as `req`
/// filters them.
pub async fn list_records(c: &Client, req: pb::ListCheckRecordsRequest) -> Vec<pb::CheckRecord> {
    c.checks()
        .list_check_records(req)
        .await
        .unwrap()
        .into_inner()
        .check_records
}
