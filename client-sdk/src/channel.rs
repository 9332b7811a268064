//! A channel that puts a fresh access token on every call.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ducha_proto::v1 as pb;
use ducha_proto::v1::auth_service_client::AuthServiceClient;
use http::HeaderValue;
use tokio::sync::Mutex;
use tonic::body::Body;
use tonic::transport::Channel;
use tower::Service;

/// Refresh this long before the access token expires, so a call in flight
/// never carries a token that lapses on the way.
const REFRESH_AHEAD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    None,
    /// A token minted for an app; used as is.
    Static(String),
    /// A signed-in user's tokens, refreshed as needed.
    Session {
        access: String,
        access_expires: DateTime<Utc>,
        refresh: String,
    },
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) credentials: Mutex<Credentials>,
    raw: Channel,
}

impl Session {
    pub(crate) fn new(raw: Channel, credentials: Credentials) -> Self {
        Session {
            credentials: Mutex::new(credentials),
            raw,
        }
    }

    pub(crate) fn set_tokens(creds: &mut Credentials, t: pb::TokenPair) {
        let exp = t
            .access_token_expire_time
            .and_then(|ts| DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32))
            .unwrap_or_else(Utc::now);
        *creds = Credentials::Session {
            access: t.access_token,
            access_expires: exp,
            refresh: t.refresh_token,
        };
    }

    /// The access token to send now, refreshed first when it is about to
    /// expire. Concurrent calls wait for one refresh instead of each
    /// spending the single-use refresh token.
    pub(crate) async fn access_token(&self) -> Result<Option<String>, tonic::Status> {
        let mut creds = self.credentials.lock().await;
        match &*creds {
            Credentials::None => Ok(None),
            Credentials::Static(t) => Ok(Some(t.clone())),
            Credentials::Session {
                access,
                access_expires,
                refresh,
            } => {
                let ahead = chrono::TimeDelta::from_std(REFRESH_AHEAD).expect("small duration");
                if *access_expires - ahead > Utc::now() {
                    return Ok(Some(access.clone()));
                }
                let answer = AuthServiceClient::new(self.raw.clone())
                    .refresh(pb::RefreshRequest {
                        refresh_token: refresh.clone(),
                    })
                    .await?
                    .into_inner();
                let tokens = answer
                    .tokens
                    .ok_or_else(|| tonic::Status::internal("refresh answered without tokens"))?;
                Self::set_tokens(&mut creds, tokens);
                match &*creds {
                    Credentials::Session { access, .. } => Ok(Some(access.clone())),
                    _ => unreachable!("just set"),
                }
            }
        }
    }
}

/// The transport of every typed client made by [`crate::Client`].
#[derive(Debug, Clone)]
pub struct AuthChannel {
    inner: Channel,
    session: Arc<Session>,
}

impl AuthChannel {
    pub(crate) fn new(inner: Channel, session: Arc<Session>) -> Self {
        AuthChannel { inner, session }
    }
}

impl Service<http::Request<Body>> for AuthChannel {
    type Response = http::Response<Body>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = futures_util::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // The clone is not ready; swap so the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let session = self.session.clone();
        Box::pin(async move {
            if let Some(token) = session.access_token().await? {
                let v = HeaderValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| tonic::Status::internal("access token is not a valid header"))?;
                req.headers_mut().insert(http::header::AUTHORIZATION, v);
            }
            inner.call(req).await.map_err(Into::into)
        })
    }
}
