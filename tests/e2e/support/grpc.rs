//! Plain gRPC, below the SDK: a channel to a server, its health service
//! asked once or watched, and the services its reflection lists.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A connected channel to the server at `url`.
pub async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// What the health service at `url` reports of `service` now.
pub async fn health(url: &str, service: &str) -> ServingStatus {
    Health::of(url).await.now(service).await
}

/// How soon health must follow a fault or a recovery.
pub const HEALTH_WITHIN: Duration = Duration::from_secs(5);

/// The health service of a server, watched.
pub struct Health(HealthClient<Channel>);

impl Health {
    /// The health service of the server at `url`.
    pub async fn of(url: &str) -> Health {
        Health(HealthClient::new(channel(url).await))
    }

    /// What `service` reports now.
    pub async fn now(&mut self, service: &str) -> ServingStatus {
        let r = self
            .0
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        ServingStatus::try_from(r.status).unwrap()
    }

    /// Waits, by the Watch stream, until `service` reports `want`; fails
    /// when that takes longer than the bound.
    pub async fn becomes(&mut self, service: &str, want: ServingStatus) {
        let mut updates = self
            .0
            .watch(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let reached = async {
            while let Some(u) = updates.next().await {
                if u.unwrap().status == want as i32 {
                    return;
                }
            }
            panic!("the health stream of '{service}' ended");
        };
        tokio::time::timeout(HEALTH_WITHIN, reached)
            .await
            .unwrap_or_else(|_| panic!("'{service}' was not {want:?} within {HEALTH_WITHIN:?}"));
    }
}

/// Service names listed by reflection, over v1 and over v1alpha.
pub async fn reflected_services(url: &str) -> (Vec<String>, Vec<String>) {
    use tonic_reflection::pb::{v1, v1alpha};
    let channel = channel(url).await;
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut s = v1::server_reflection_client::ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(l)) =
        s.message().await.unwrap().unwrap().message_response
    else {
        panic!("no list from v1")
    };
    let v1_names = l.service.into_iter().map(|s| s.name).collect();
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut s = v1alpha::server_reflection_client::ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(l)) =
        s.message().await.unwrap().unwrap().message_response
    else {
        panic!("no list from v1alpha")
    };
    (v1_names, l.service.into_iter().map(|s| s.name).collect())
}
