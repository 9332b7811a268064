//! Coordinates and datums. Phones in China report GCJ-02 (Amap, Tencent) or
//! BD-09 (Baidu) as often as WGS-84; everything is stored as given and also
//! normalised to WGS-84 so that distances and boxes compare like with like.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use super::validate::{Input, Violations};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Datum {
    pub fn as_str(self) -> &'static str {
        match self {
            Datum::Wgs84 => "wgs84",
            Datum::Gcj02 => "gcj02",
            Datum::Bd09 => "bd09",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wgs84" => Some(Datum::Wgs84),
            "gcj02" => Some(Datum::Gcj02),
            "bd09" => Some(Datum::Bd09),
            _ => None,
        }
    }
}

/// A point as the device reported it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
    pub altitude_m: Option<f64>,
    pub datum: Datum,
}

/// A WGS-84 point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wgs84 {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_latitude: f64,
    pub min_longitude: f64,
    pub max_latitude: f64,
    pub max_longitude: f64,
}

/// A location as received, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationDraft {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
    pub altitude_m: Option<f64>,
    pub datum: Input<Datum>,
}

impl LocationDraft {
    /// The location, when every part of it is valid; `field` is its path
    /// in the request.
    pub fn validate(&self, field: &str, v: &mut Violations) -> Option<Location> {
        let datum = self.datum.required(&format!("{field}.datum"), v)?;
        let loc = Location {
            latitude: self.latitude,
            longitude: self.longitude,
            accuracy_m: self.accuracy_m,
            altitude_m: self.altitude_m,
            datum,
        };
        let before = v.len();
        loc.validate(field, v);
        (v.len() == before).then_some(loc)
    }
}

impl From<Location> for LocationDraft {
    fn from(l: Location) -> Self {
        LocationDraft {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
            altitude_m: l.altitude_m,
            datum: Input::Valid(l.datum),
        }
    }
}

impl Location {
    /// Checks ranges; `field` is the path of the location in the request.
    pub fn validate(&self, field: &str, v: &mut Violations) {
        if !self.latitude.is_finite() || !(-90.0..=90.0).contains(&self.latitude) {
            v.add(format!("{field}.latitude"), "must be between -90 and 90");
        }
        if !self.longitude.is_finite() || !(-180.0..=180.0).contains(&self.longitude) {
            v.add(format!("{field}.longitude"), "must be between -180 and 180");
        }
        if !self.accuracy_m.is_finite() || self.accuracy_m < 0.0 {
            v.add(format!("{field}.accuracy_m"), "must be zero or positive");
        }
        if let Some(alt) = self.altitude_m
            && (!alt.is_finite() || !(-500.0..=9000.0).contains(&alt))
        {
            v.add(
                format!("{field}.altitude_m"),
                "must be between -500 and 9000 metres",
            );
        }
    }

    pub fn to_wgs84(&self) -> Wgs84 {
        let (lat, lon) = match self.datum {
            Datum::Wgs84 => (self.latitude, self.longitude),
            Datum::Gcj02 => gcj02_to_wgs84(self.latitude, self.longitude),
            Datum::Bd09 => {
                let (lat, lon) = bd09_to_gcj02(self.latitude, self.longitude);
                gcj02_to_wgs84(lat, lon)
            }
        };
        Wgs84 {
            latitude: lat,
            longitude: lon,
        }
    }
}

impl BoundingBox {
    pub fn validate(&self, field: &str, v: &mut Violations) {
        let lat_ok = |x: f64| x.is_finite() && (-90.0..=90.0).contains(&x);
        let lon_ok = |x: f64| x.is_finite() && (-180.0..=180.0).contains(&x);
        if !lat_ok(self.min_latitude) || !lat_ok(self.max_latitude) {
            v.add(
                format!("{field}.min_latitude"),
                "latitudes must be between -90 and 90",
            );
        } else if self.min_latitude > self.max_latitude {
            v.add(
                format!("{field}.max_latitude"),
                "must not be below min_latitude",
            );
        }
        if !lon_ok(self.min_longitude) || !lon_ok(self.max_longitude) {
            v.add(
                format!("{field}.min_longitude"),
                "longitudes must be between -180 and 180",
            );
        } else if self.min_longitude > self.max_longitude {
            v.add(
                format!("{field}.max_longitude"),
                "must not be below min_longitude",
            );
        }
    }
}

impl Wgs84 {
    /// Great-circle distance in metres (haversine on a sphere of the mean
    /// earth radius; ample for "is this photo near that check").
    pub fn distance_m(&self, other: &Wgs84) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dp = p2 - p1;
        let dl = (other.longitude - self.longitude).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

// Krasovsky 1940 ellipsoid, as used by the GCJ-02 obfuscation.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// GCJ-02 is only applied inside mainland China; outside, it equals WGS-84.
fn outside_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn gcj_offset(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 105.0, lat - 35.0);
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad.cos() * PI);
    (dlat, dlon)
}

pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if outside_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = gcj_offset(lat, lon);
    (lat + dlat, lon + dlon)
}

/// Inverts GCJ-02 by fixed-point iteration to well under a millimetre; the
/// one-step inverse common in apps is off by up to a few metres.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if outside_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..30 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        let (elat, elon) = (lat - glat, lon - glon);
        wlat += elat;
        wlon += elon;
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
    }
    (wlat, wlon)
}

pub fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * BD_X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * BD_X_PI).cos();
    (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

pub fn bd09_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    (z * theta.sin(), z * theta.cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol
    }

    #[test]
    fn gcj02_reference_pair() {
        // Reference pair published with the gcoord library (lon 123, lat 45).
        let wgs = gcj02_to_wgs84(45.0, 123.0);
        assert!(close(wgs, (44.998_040_71, 122.993_955_97), 1e-5), "{wgs:?}");
        // Round trip is exact to the iteration's tolerance.
        let back = wgs84_to_gcj02(wgs.0, wgs.1);
        assert!(close(back, (45.0, 123.0), 1e-9), "{back:?}");
    }

    #[test]
    fn bd09_reference_pair() {
        let bd = gcj02_to_bd09(45.0, 123.0);
        assert!(close(bd, (45.006_368_99, 123.006_364_99), 1e-5), "{bd:?}");
        let gcj = bd09_to_gcj02(bd.0, bd.1);
        assert!(close(gcj, (45.0, 123.0), 1e-5), "{gcj:?}");
    }

    #[test]
    fn outside_china_is_unchanged() {
        assert_eq!(gcj02_to_wgs84(45.0, 183.0), (45.0, 183.0));
        assert_eq!(gcj02_to_wgs84(51.5, -0.12), (51.5, -0.12));
    }

    #[test]
    fn lishui_offset_is_hundreds_of_metres() {
        // Lishui city centre: the GCJ-02 shift is a few hundred metres, so
        // comparing unnormalised coordinates would raise false alarms.
        let wgs = Wgs84 {
            latitude: 28.4517,
            longitude: 119.9229,
        };
        let (glat, glon) = wgs84_to_gcj02(wgs.latitude, wgs.longitude);
        let shifted = Wgs84 {
            latitude: glat,
            longitude: glon,
        };
        let d = wgs.distance_m(&shifted);
        assert!((300.0..700.0).contains(&d), "{d}");
    }
}
