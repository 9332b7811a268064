//! Records a site check that expects a photo, then uploads the photo, which
//! links itself to the record: the order a phone syncs in when the signal
//! comes back.
//!
//! ```sh
//! DUCHA_USERNAME=alice DUCHA_PASSWORD='correct horse battery' \
//!   cargo run -p ducha-sdk --example upload_photo -- tests/fixtures/photos/DSCN0010.jpg
//! ```
//! DUCHA_URL defaults to http://127.0.0.1:50051, DUCHA_UNIT to 331102.

use std::sync::Arc;

use ducha_sdk::prost_types::Timestamp;
use ducha_sdk::{Client, UploadMetadata, UploadOptions, pb};
use sha2::{Digest, Sha256};

fn env(name: &str, default: Option<&str>) -> String {
    std::env::var(name)
        .ok()
        .or(default.map(str::to_string))
        .unwrap_or_else(|| panic!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).expect("give the path of a photo");
    let unit = env("DUCHA_UNIT", Some("331102"));
    let client = Client::connect(env("DUCHA_URL", Some("http://127.0.0.1:50051"))).await?;
    client
        .login(&env("DUCHA_USERNAME", None), &env("DUCHA_PASSWORD", None))
        .await?;

    let sha256 = hex::encode(Sha256::digest(std::fs::read(&path)?));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let location = pb::Location {
        latitude: 28.4517,
        longitude: 119.9229,
        accuracy_m: 8.0,
        altitude_m: None,
        datum: pb::Datum::Wgs84 as i32,
    };
    // The small record goes first and names the photo still on the phone.
    let record = client
        .checks()
        .create_check_record(pb::CreateCheckRecordRequest {
            check_record: Some(pb::CheckRecord {
                kind: pb::CheckKind::SiteCheck as i32,
                unit_code: unit.clone(),
                subject: Some(pb::Subject {
                    name: "丽水市某电镀厂".into(),
                    credit_code: String::new(),
                }),
                location: Some(location),
                start_time: Some(Timestamp {
                    seconds: now - 1800,
                    nanos: 0,
                }),
                narrative: "排污口现场拍照取证。".into(),
                expected_evidence: vec![pb::ExpectedEvidence {
                    sha256,
                    role: pb::EvidenceRole::Before as i32,
                }],
                ..Default::default()
            }),
            check_record_id: String::new(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await?
        .into_inner()
        .check_record
        .unwrap_or_default();
    println!(
        "check record {}: {} photo(s) pending",
        record.id,
        record.pending_sha256.len()
    );

    let file_name = std::path::Path::new(&path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let opts = UploadOptions {
        progress: Some(Arc::new(|done, total| {
            eprintln!("  {done} / {total} bytes")
        })),
        ..Default::default()
    };
    let evidence = client
        .upload_file(
            &path,
            UploadMetadata {
                unit_code: unit,
                media_type: "image/jpeg".into(),
                file_name,
                capture: Some(pb::Capture {
                    location: Some(location),
                    device_time: Some(Timestamp {
                        seconds: now,
                        nanos: 0,
                    }),
                    device_id: "example-phone".into(),
                    attestation_signature: Default::default(),
                }),
            },
            opts,
        )
        .await?;
    println!(
        "evidence {} ({}, {} bytes)",
        evidence.id, evidence.media_type, evidence.size_bytes
    );
    for s in &evidence.signals {
        println!("  signal: {}", s.detail);
    }

    let record = client
        .checks()
        .get_check_record(pb::GetCheckRecordRequest { id: record.id })
        .await?
        .into_inner()
        .check_record
        .unwrap_or_default();
    for link in &record.evidence {
        println!("linked to the record: evidence {}", link.evidence_id);
        for s in &link.signals {
            println!("  signal: {}", s.detail);
        }
    }
    println!("{} photo(s) still pending", record.pending_sha256.len());
    Ok(())
}
