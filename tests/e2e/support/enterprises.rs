//! Enterprises and their accidents: the dyeing works the tests check, its
//! registration, and accidents recorded against it.

use ducha_sdk::{Client, pb};

use super::dates::date;

/// The unified social credit code of the dyeing works in Liandu that site
/// checks, findings and petitions name.
pub const CREDIT_CODE: &str = "91330100799655058B";

/// The dyeing works under credit code `code`, in `unit`.
pub fn enterprise(code: &str, unit: &str) -> pb::Enterprise {
    pb::Enterprise {
        credit_code: code.into(),
        name: "丽水市某印染有限公司".into(),
        address: "莲都区南明山街道".into(),
        unit_code: unit.into(),
        ..Default::default()
    }
}

/// Registers `e` as `c`.
pub async fn register(c: &Client, e: pb::Enterprise) -> Result<pb::Enterprise, tonic::Status> {
    c.enterprises()
        .register_enterprise(pb::RegisterEnterpriseRequest {
            enterprise: Some(e),
        })
        .await
        .map(|r| r.into_inner().enterprise.unwrap())
}

/// An accident of `level` on `day` of May 2026: wastewater into the Haoxi.
pub fn accident(level: pb::AccidentLevel, day: u32) -> pb::Accident {
    pb::Accident {
        occurred_on: date(chrono::NaiveDate::from_ymd_opt(2026, 5, day).unwrap()),
        level: level as i32,
        description: "污泥回流泵故障，未经处理的废水经雨水口排入好溪".into(),
        ..Default::default()
    }
}

/// Records accident `a` of the enterprise under credit code `code`.
pub async fn record_accident(
    c: &Client,
    code: &str,
    a: pb::Accident,
) -> Result<pb::Accident, tonic::Status> {
    c.enterprises()
        .record_accident(pb::RecordAccidentRequest {
            credit_code: code.into(),
            accident: Some(a),
        })
        .await
        .map(|r| r.into_inner().accident.unwrap())
}

/// The enterprise under credit code `code`, with its accidents, as `c`
/// reads it.
pub async fn get_enterprise(
    c: &Client,
    code: &str,
) -> Result<pb::GetEnterpriseResponse, tonic::Status> {
    c.enterprises()
        .get_enterprise(pb::GetEnterpriseRequest {
            credit_code: code.into(),
        })
        .await
        .map(|r| r.into_inner())
}
