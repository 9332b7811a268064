//! Signs in and records a site check at a riverside plant in Liandu.
//!
//! ```sh
//! DUCHA_USERNAME=alice DUCHA_PASSWORD='correct horse battery' \
//!   cargo run -p ducha-sdk --example create_check_record
//! ```
//! DUCHA_URL defaults to http://127.0.0.1:50051, DUCHA_UNIT to 331102.

use ducha_sdk::prost_types::Timestamp;
use ducha_sdk::{Client, field_violations, pb};

fn env(name: &str, default: Option<&str>) -> String {
    std::env::var(name)
        .ok()
        .or(default.map(str::to_string))
        .unwrap_or_else(|| panic!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect(env("DUCHA_URL", Some("http://127.0.0.1:50051"))).await?;
    client
        .login(&env("DUCHA_USERNAME", None), &env("DUCHA_PASSWORD", None))
        .await?;

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let record = pb::CheckRecord {
        kind: pb::CheckKind::SiteCheck as i32,
        unit_code: env("DUCHA_UNIT", Some("331102")),
        subject: Some(pb::Subject {
            name: "丽水市某印染有限公司".into(),
            credit_code: "91330100799655058B".into(),
        }),
        address: "莲都区南明山街道".into(),
        // As reported by Amap on the phone: GCJ-02; the server normalises.
        location: Some(pb::Location {
            latitude: 28.4510,
            longitude: 119.9290,
            accuracy_m: 8.0,
            altitude_m: Some(62.0),
            datum: pb::Datum::Gcj02 as i32,
        }),
        start_time: Some(Timestamp {
            seconds: now.as_secs() as i64 - 3600,
            nanos: 0,
        }),
        end_time: Some(Timestamp {
            seconds: now.as_secs() as i64,
            nanos: 0,
        }),
        checklist: vec![pb::ChecklistItem {
            question: "废水处理设施是否正常运行".into(),
            result: pb::ChecklistResult::NonCompliant as i32,
            note: "二沉池出水浑浊".into(),
        }],
        narrative: "现场检查发现废水处理设施运行不正常。".into(),
        ..Default::default()
    };
    // A request id makes a retry after a lost answer safe.
    let request_id = uuid::Uuid::new_v4().to_string();
    match client
        .checks()
        .create_check_record(pb::CreateCheckRecordRequest {
            check_record: Some(record),
            check_record_id: String::new(),
            request_id,
        })
        .await
    {
        Ok(answer) => {
            let rec = answer.into_inner().check_record.unwrap_or_default();
            let wgs = rec.location_wgs84.unwrap_or_default();
            println!(
                "created check record {} (etag {}), WGS-84 {:.6}, {:.6}",
                rec.id, rec.etag, wgs.latitude, wgs.longitude
            );
            Ok(())
        }
        Err(status) => {
            for v in field_violations(&status) {
                eprintln!("{}: {}", v.field, v.description);
            }
            Err(status.into())
        }
    }
}
