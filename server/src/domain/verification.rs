//! What a verifier compares before signing a fix off: each BEFORE picture
//! against each AFTER picture, by where they were taken and by how alike
//! they look. An AFTER photo taken far from the problem, or nearly the
//! same picture as the BEFORE one, is flagged.

use uuid::Uuid;

use super::derivative::hamming;
use super::evidence::Evidence;
use super::geo::Location;

/// One BEFORE picture against one AFTER picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub before: Uuid,
    pub after: Uuid,
    /// Metres between the two capture points, when both are known.
    pub distance_m: Option<f64>,
    /// Differing bits of the two perceptual hashes, when both are known.
    pub hash_distance: Option<u32>,
    /// Farther apart than `max_distance_m`.
    pub far_apart: bool,
    /// Hashes within `max_near_distance` bits: the "fix" may be the old
    /// photo again.
    pub near_identical: bool,
}

/// Where a picture was taken: its own GPS, else what the phone reported.
pub fn capture_point(e: &Evidence) -> Option<Location> {
    e.metadata.gps.or(e.capture.location)
}

pub fn compare(
    before: &[Evidence],
    after: &[Evidence],
    max_distance_m: f64,
    max_near_distance: u32,
) -> Vec<Pair> {
    let mut out = Vec::new();
    for b in before {
        for a in after {
            let distance_m = capture_point(b)
                .zip(capture_point(a))
                .map(|(p, q)| p.to_wgs84().distance_m(&q.to_wgs84()));
            let hash_distance = b.phash.zip(a.phash).map(|(x, y)| hamming(x, y));
            out.push(Pair {
                before: b.id,
                after: a.id,
                distance_m,
                hash_distance,
                far_apart: distance_m.is_some_and(|d| d > max_distance_m),
                near_identical: hash_distance.is_some_and(|d| d <= max_near_distance),
            });
        }
    }
    out
}
