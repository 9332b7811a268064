//! Conversions between ducha.v1 messages and domain types.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use ducha_proto::v1 as pb;
use prost_types::Timestamp;

use crate::domain::access::Role;
use crate::domain::evidence::{EvidenceLink, EvidenceRole};
use crate::domain::geo::{BoundingBox, Datum, Location, LocationDraft};
use crate::domain::signals::Signal;
use crate::domain::validate::Input;

/// Timestamps are kept to the microsecond, as both databases store them.
pub fn time_in(t: Option<&Timestamp>) -> Input<DateTime<Utc>> {
    match t {
        None => Input::Missing,
        Some(t) => match u32::try_from(t.nanos)
            .ok()
            .and_then(|n| DateTime::from_timestamp(t.seconds, n))
            .and_then(|d| d.duration_trunc(TimeDelta::microseconds(1)).ok())
        {
            Some(d) => Input::Valid(d),
            None => Input::Invalid("is not a valid timestamp".into()),
        },
    }
}

pub fn time_out(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

/// An enum field: 0 is missing, a number this server does not know is
/// invalid.
pub fn enum_in<P, D>(raw: i32, map: impl FnOnce(P) -> Option<D>) -> Input<D>
where
    P: TryFrom<i32>,
{
    match P::try_from(raw) {
        Err(_) => Input::Invalid(format!("unknown value {raw}")),
        Ok(p) => map(p).map_or(Input::Missing, Input::Valid),
    }
}

pub fn datum_in(raw: i32) -> Input<Datum> {
    enum_in(raw, |d: pb::Datum| match d {
        pb::Datum::Unspecified => None,
        pb::Datum::Wgs84 => Some(Datum::Wgs84),
        pb::Datum::Gcj02 => Some(Datum::Gcj02),
        pb::Datum::Bd09 => Some(Datum::Bd09),
    })
}

pub fn datum_out(d: Datum) -> pb::Datum {
    match d {
        Datum::Wgs84 => pb::Datum::Wgs84,
        Datum::Gcj02 => pb::Datum::Gcj02,
        Datum::Bd09 => pb::Datum::Bd09,
    }
}

pub fn bounding_box_in(b: &pb::BoundingBox) -> BoundingBox {
    BoundingBox {
        min_latitude: b.min_latitude,
        min_longitude: b.min_longitude,
        max_latitude: b.max_latitude,
        max_longitude: b.max_longitude,
    }
}

pub fn role_out(r: Role) -> pb::Role {
    match r {
        Role::Inspector => pb::Role::Inspector,
        Role::UnitLiaison => pb::Role::UnitLiaison,
        Role::Verifier => pb::Role::Verifier,
        Role::PetitionOfficer => pb::Role::PetitionOfficer,
        Role::Supervisor => pb::Role::Supervisor,
        Role::Coordinator => pb::Role::Coordinator,
        Role::Admin => pb::Role::Admin,
        Role::Viewer => pb::Role::Viewer,
    }
}

pub fn location_in(l: pb::Location) -> LocationDraft {
    LocationDraft {
        latitude: l.latitude,
        longitude: l.longitude,
        accuracy_m: l.accuracy_m,
        altitude_m: l.altitude_m,
        datum: datum_in(l.datum),
    }
}

pub fn location_out(l: Location) -> pb::Location {
    pb::Location {
        latitude: l.latitude,
        longitude: l.longitude,
        accuracy_m: l.accuracy_m,
        altitude_m: l.altitude_m,
        datum: datum_out(l.datum) as i32,
    }
}

pub fn evidence_role_in(raw: i32) -> Input<EvidenceRole> {
    enum_in(raw, |r: pb::EvidenceRole| match r {
        pb::EvidenceRole::Unspecified => None,
        pb::EvidenceRole::Before => Some(EvidenceRole::Before),
        pb::EvidenceRole::After => Some(EvidenceRole::After),
        pb::EvidenceRole::Context => Some(EvidenceRole::Context),
        pb::EvidenceRole::Document => Some(EvidenceRole::Document),
    })
}

pub fn evidence_role_out(r: EvidenceRole) -> pb::EvidenceRole {
    match r {
        EvidenceRole::Before => pb::EvidenceRole::Before,
        EvidenceRole::After => pb::EvidenceRole::After,
        EvidenceRole::Context => pb::EvidenceRole::Context,
        EvidenceRole::Document => pb::EvidenceRole::Document,
    }
}

pub fn link_out(l: EvidenceLink) -> pb::EvidenceLink {
    pb::EvidenceLink {
        evidence_id: l.evidence_id.to_string(),
        sha256: l.sha256,
        role: evidence_role_out(l.role) as i32,
        link_user: l.linked_by,
        link_time: time_out(l.linked_at),
        signals: signals_out(l.signals),
    }
}

pub fn signals_out(signals: Vec<Signal>) -> Vec<pb::AuthenticitySignal> {
    signals
        .into_iter()
        .map(|s| {
            let mut out = pb::AuthenticitySignal::default();
            let (kind, detail) = match s {
                Signal::NoGps => (
                    pb::SignalKind::NoGps,
                    "the file carries no GPS position".to_string(),
                ),
                Signal::GpsUnreadable { reason } => (
                    pb::SignalKind::GpsUnreadable,
                    format!("the file carries a GPS position that cannot be read: {reason}"),
                ),
                Signal::GpsTimeMismatch { minutes } => {
                    out.minutes = minutes;
                    (
                        pb::SignalKind::GpsTimeMismatch,
                        format!(
                            "GPS time disagrees with the camera clock by {minutes} min, more than any time zone"
                        ),
                    )
                }
                Signal::DistanceUnknown { reason } => (
                    pb::SignalKind::DistanceUnknown,
                    format!("distance to the check's location unknown: {reason}"),
                ),
                Signal::EditedWith { software } => {
                    (pb::SignalKind::Edited, format!("edited with {software}"))
                }
                Signal::ClockMismatch { minutes } => {
                    out.minutes = minutes;
                    (
                        pb::SignalKind::ClockMismatch,
                        format!("EXIF time is {minutes} min off the phone's clock"),
                    )
                }
                Signal::FarFromCheck { distance_m } => {
                    out.distance_m = distance_m;
                    (
                        pb::SignalKind::FarFromCheck,
                        format!("taken {distance_m:.0} m from the check's location"),
                    )
                }
                Signal::OutsideCheckTime { minutes } => {
                    out.minutes = minutes;
                    (
                        pb::SignalKind::OutsideCheckTime,
                        format!("taken {minutes} min outside the check's time"),
                    )
                }
                Signal::ReusedElsewhere { records } => {
                    out.records = records;
                    (
                        pb::SignalKind::ReusedElsewhere,
                        format!("the same photo is linked to {records} other record(s)"),
                    )
                }
                Signal::NearDuplicate { records, distance } => {
                    out.records = records;
                    out.hash_distance = distance;
                    (
                        pb::SignalKind::NearDuplicate,
                        format!(
                            "a near-identical picture ({distance} of 64 hash bits differ) is linked to {records} other record(s)"
                        ),
                    )
                }
            };
            out.kind = kind as i32;
            out.detail = detail;
            out
        })
        .collect()
}

/// A proto enum to a domain enum of the same names: `MEDIUM_SOLID_WASTE`
/// is `solid_waste`. `name` is the proto name of `raw`, if it has one.
pub fn named_in<D>(
    raw: i32,
    name: Option<&'static str>,
    prefix: &str,
    parse: fn(&str) -> Option<D>,
) -> Input<D> {
    let Some(name) = name else {
        return Input::Invalid(format!("unknown value {raw}"));
    };
    let short = name.strip_prefix(prefix).unwrap_or(name);
    if short == "UNSPECIFIED" {
        return Input::Missing;
    }
    parse(&short.to_ascii_lowercase()).map_or_else(
        || Input::Invalid(format!("{name} is not accepted here")),
        Input::Valid,
    )
}

/// `named_in` for a proto enum type `$pb` with `$prefix`, to domain enum
/// `$domain`.
macro_rules! named_enum_in {
    ($pb:ident, $prefix:literal, $domain:ty, $raw:expr) => {{
        let raw: i32 = $raw;
        $crate::api::convert::named_in(
            raw,
            ducha_proto::v1::$pb::try_from(raw)
                .ok()
                .map(|v| v.as_str_name()),
            $prefix,
            <$domain>::parse,
        )
    }};
}
pub(crate) use named_enum_in;

/// A domain enum to the proto enum `$pb` of the same name, as its number.
macro_rules! named_enum_out {
    ($pb:ident, $prefix:literal, $value:expr) => {
        ducha_proto::v1::$pb::from_str_name(&format!(
            "{}{}",
            $prefix,
            $value.as_str().to_ascii_uppercase()
        ))
        .map_or(0, |v| v as i32)
    };
}
pub(crate) use named_enum_out;

pub fn date_in(d: Option<&pb::Date>) -> Input<chrono::NaiveDate> {
    match d {
        None => Input::Missing,
        Some(d) if *d == pb::Date::default() => Input::Missing,
        Some(d) => u32::try_from(d.month)
            .ok()
            .zip(u32::try_from(d.day).ok())
            .and_then(|(m, day)| chrono::NaiveDate::from_ymd_opt(d.year, m, day))
            .map_or_else(
                || Input::Invalid("is not a valid date".into()),
                Input::Valid,
            ),
    }
}

pub fn date_out(d: chrono::NaiveDate) -> Option<pb::Date> {
    use chrono::Datelike;
    Some(pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

/// Unit codes of a list request, sorted and without repeats; None when
/// empty.
pub fn units_filter_in(units: &[String]) -> Option<Vec<String>> {
    let mut units = units.to_vec();
    units.sort();
    units.dedup();
    (!units.is_empty()).then_some(units)
}
