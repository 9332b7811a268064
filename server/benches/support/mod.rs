//! What the benchmarks share: photos of a given size (made as the tests
//! make them) and timing.

#![allow(dead_code)]

use std::time::{Duration, Instant};

#[path = "../../../tests/e2e/support/photos.rs"]
mod photos;
#[allow(unused_imports)]
pub use photos::{photo, unique};

/// Runs `f` `n` times after one warm-up run; the median time of a run.
pub fn median(n: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
