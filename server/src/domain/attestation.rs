//! Capture attestation: a phone signs, when the photo is taken, the
//! photo's hash with the time, place and device, using a key registered for
//! its user. The server checks that signature when the upload finishes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::geo::{Datum, Location};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Attestation {
    /// No signature came with the upload.
    Unattested,
    /// Signed by this registered device of this user.
    Attested {
        device_id: String,
        device_user: String,
    },
    /// A signature came but does not hold.
    Invalid { reason: String },
}

/// The exact text a device signs (see Capture.attestation_signature in
/// the contract).
pub fn payload(
    sha256: &str,
    device_time: Option<DateTime<Utc>>,
    location: Option<&Location>,
    device_id: &str,
) -> String {
    let time = device_time
        .map(|t| t.timestamp().to_string())
        .unwrap_or_default();
    let (lat, lon, datum) = match location {
        Some(l) => (
            format!("{:.7}", l.latitude),
            format!("{:.7}", l.longitude),
            match l.datum {
                Datum::Wgs84 => "WGS84",
                Datum::Gcj02 => "GCJ02",
                Datum::Bd09 => "BD09",
            }
            .to_string(),
        ),
        None => Default::default(),
    };
    format!("ducha-capture-v1|{sha256}|{time}|{lat}|{lon}|{datum}|{device_id}")
}
