//! The standard gRPC health service, kept in step with what each service
//! needs. Every service needs the database: while it cannot be reached,
//! the whole server ("") and every ducha.v1 service are NOT_SERVING, so a
//! load balancer sends calls elsewhere. Only EvidenceService needs the
//! object store: while that is down, it alone is NOT_SERVING, because every
//! replica shares the one store and draining them all for it would turn a
//! partial outage into a total one. A draining server is NOT_SERVING
//! whatever the probes see.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::app::App;

/// The service that needs the object store.
const NEEDS_OBJECTS: &str = "ducha.v1.EvidenceService";

/// What the probes found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reachable {
    pub database: bool,
    pub objects: bool,
}

/// Every ducha.v1 service, by its full name.
fn services() -> BTreeSet<&'static str> {
    ducha_proto::METHODS
        .iter()
        .filter_map(|m| m.path.trim_start_matches('/').split_once('/'))
        .map(|(service, _)| service)
        .collect()
}

/// The status of `service` ("" for the whole server).
fn status(service: &str, r: Reachable, draining: bool) -> ServingStatus {
    let up = !draining && r.database && (service != NEEDS_OBJECTS || r.objects);
    if up {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

async fn report(reporter: &HealthReporter, r: Reachable, draining: bool) {
    for service in std::iter::once("").chain(services()) {
        reporter
            .set_service_status(service, status(service, r, draining))
            .await;
    }
}

/// Probes the database and the object store every `every` (each probe must
/// answer within that time too) and reports what they allow, until
/// `draining`; then reports NOT_SERVING for everything.
pub async fn keep(
    app: App,
    reporter: HealthReporter,
    every: Duration,
    draining: CancellationToken,
) {
    let mut last = Reachable {
        database: true,
        objects: true,
    };
    report(&reporter, last, false).await;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = draining.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let (database, objects) = tokio::join!(app.store.probe(every), app.blobs.probe(every));
        let now = Reachable {
            database: database.is_ok(),
            objects: objects.is_ok(),
        };
        if now == last {
            continue;
        }
        match (last.database, database) {
            (true, Err(e)) => {
                tracing::warn!(error = %e, "the database cannot be reached: NOT_SERVING")
            }
            (false, Ok(())) => tracing::info!("the database answers again: SERVING"),
            _ => {}
        }
        match (last.objects, objects) {
            (true, Err(e)) => {
                tracing::warn!(error = %e, "the object store cannot be reached: EvidenceService NOT_SERVING")
            }
            (false, Ok(())) => tracing::info!("the object store answers again"),
            _ => {}
        }
        last = now;
        if !draining.is_cancelled() {
            report(&reporter, now, false).await;
        }
    }
    report(&reporter, last, true).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_serves_when_what_it_needs_is_reachable() {
        use ServingStatus::{NotServing as Down, Serving as Up};
        let r = |database, objects| Reachable { database, objects };
        // (reachable, draining, whole server, EvidenceService, CheckService)
        let cases = [
            (r(true, true), false, Up, Up, Up),
            (r(false, true), false, Down, Down, Down),
            (r(true, false), false, Up, Down, Up),
            (r(false, false), false, Down, Down, Down),
            (r(true, true), true, Down, Down, Down),
        ];
        for (reach, draining, whole, evidence, checks) in cases {
            assert_eq!(status("", reach, draining), whole, "{reach:?} {draining}");
            assert_eq!(
                status(NEEDS_OBJECTS, reach, draining),
                evidence,
                "{reach:?}"
            );
            assert_eq!(
                status("ducha.v1.CheckService", reach, draining),
                checks,
                "{reach:?}"
            );
        }
    }

    #[test]
    fn every_service_of_the_contract_is_reported() {
        let all = services();
        assert!(all.contains(NEEDS_OBJECTS));
        assert!(all.contains("ducha.v1.PetitionService"));
        assert_eq!(all.len(), 12, "{all:?}");
    }
}
