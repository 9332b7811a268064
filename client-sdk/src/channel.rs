//! A channel that puts a fresh access token on every call.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ducha_proto::Retry;
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tower::ServiceExt;

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

/// How long a call may take and how a failed one is retried.
///
/// Every unary call gets one overall deadline (unless the request sets its
/// own with `tonic::Request::set_timeout`), which covers all its attempts
/// and is sent to the server as `grpc-timeout`. Streaming calls (the upload
/// stream, downloads and the event feed) have none: they take as long as
/// the connection needs. A call is retried only when it failed with
/// UNAVAILABLE (the server said so, or the connection broke), only if it
/// is safe to repeat (a read, an idempotent write, or a create that carries
/// a request id, as the contract marks them), at most `max_attempts` times
/// in all, after a jittered exponential backoff, as gRPC's retry policy
/// does.
#[derive(Debug, Clone, Copy)]
pub struct CallPolicy {
    /// Overall deadline of a unary call [default: 30 s].
    pub timeout: Duration,
    /// Attempts of a call in all, the first included [default: 4].
    pub max_attempts: u32,
    /// Largest wait before the first retry; each retry waits a random part
    /// of it, and it grows by `backoff_multiplier` [default: 200 ms].
    pub initial_backoff: Duration,
    /// The wait never grows past this [default: 5 s].
    pub max_backoff: Duration,
    pub backoff_multiplier: f64,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            backoff_multiplier: 2.0,
        }
    }
}

/// The transport of every typed client made by [`crate::Client`].
#[derive(Debug, Clone)]
pub struct AuthChannel {
    inner: Channel,
    session: Arc<Session>,
    policy: CallPolicy,
}

impl AuthChannel {
    pub(crate) fn new(inner: Channel, session: Arc<Session>, policy: CallPolicy) -> Self {
        AuthChannel {
            inner,
            session,
            policy,
        }
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
        let inner = std::mem::replace(&mut self.inner, clone);
        let session = self.session.clone();
        let policy = self.policy;
        // Public methods (Login, Refresh) carry no token, so signing in
        // again never waits on a refresh of the session it replaces.
        let public = ducha_proto::method_rules(req.uri().path()).is_some_and(|m| m.public);
        Box::pin(async move {
            if !public {
                // A refresh is part of the call, within its deadline.
                let token = tokio::time::timeout(policy.timeout, session.access_token())
                    .await
                    .map_err(|_| {
                        tonic::Status::deadline_exceeded(
                            "refreshing the access token took too long",
                        )
                    })??;
                if let Some(token) = token {
                    let v = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                        tonic::Status::internal("access token is not a valid header")
                    })?;
                    req.headers_mut().insert(http::header::AUTHORIZATION, v);
                }
            }
            Ok(send(inner, req, &policy).await?)
        })
    }
}

/// Sends `req` within its deadline, again after UNAVAILABLE while its
/// method allows it and attempts and time remain.
async fn send(
    mut inner: Channel,
    req: http::Request<Body>,
    policy: &CallPolicy,
) -> Result<http::Response<Body>, tonic::Status> {
    let rules = ducha_proto::method_rules(req.uri().path());
    let streaming = rules.is_some_and(|r| r.client_streaming || r.server_streaming);
    let deadline = match grpc_timeout(req.headers()) {
        Some(t) => Some(Instant::now() + t),
        None if streaming => None,
        None => Some(Instant::now() + policy.timeout),
    };
    let retry = rules.map_or(Retry::Never, |r| r.retry);
    if retry == Retry::Never || rules.is_some_and(|r| r.client_streaming) {
        return attempt(&mut inner, req, deadline).await;
    }
    // A unary request is one message: keep its bytes to send it again.
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| tonic::Status::internal(format!("encoding the request: {e}")))?
        .to_bytes();
    let may_repeat = match retry {
        Retry::Always => true,
        Retry::WithRequestId(field) => has_text_field(&bytes, field),
        Retry::Never => false,
    };
    let max_attempts = if may_repeat {
        policy.max_attempts.max(1)
    } else {
        1
    };
    let mut backoff = policy.initial_backoff;
    let mut tried = 0;
    loop {
        tried += 1;
        let req = http::Request::from_parts(parts.clone(), Body::new(Full::new(bytes.clone())));
        let failed = match attempt(&mut inner, req, deadline).await {
            Ok(r) => match tonic::Status::from_header_map(r.headers()) {
                Some(s) if s.code() == tonic::Code::Unavailable => s,
                _ => return Ok(r),
            },
            Err(s) if s.code() == tonic::Code::Unavailable => s,
            Err(s) => return Err(s),
        };
        if tried >= max_attempts {
            return Err(failed);
        }
        // Full jitter: a random wait up to the current backoff.
        let wait = backoff.mul_f64(rand::random::<f64>());
        if deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return Err(failed);
        }
        tracing::debug!(path = %parts.uri.path(), ?wait, error = %failed, "retrying");
        tokio::time::sleep(wait).await;
        backoff = backoff
            .mul_f64(policy.backoff_multiplier)
            .min(policy.max_backoff);
    }
}

/// One attempt of a call, sent with the time left to its deadline. A
/// connection that fails or breaks is UNAVAILABLE, whatever the transport
/// says, so that callers can tell it from an answer of the server.
async fn attempt(
    inner: &mut Channel,
    mut req: http::Request<Body>,
    deadline: Option<Instant>,
) -> Result<http::Response<Body>, tonic::Status> {
    let left = match deadline {
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(tonic::Status::deadline_exceeded(
                    "the call's deadline passed",
                ));
            }
            req.headers_mut().insert(
                "grpc-timeout",
                HeaderValue::try_from(format!("{}m", left.as_millis().max(1)))
                    .expect("digits and a unit"),
            );
            Some(left)
        }
        None => None,
    };
    let sent = async {
        inner
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("cannot connect: {e}")))?;
        inner
            .call(req)
            .await
            .map_err(|e| tonic::Status::unavailable(format!("the connection failed: {e}")))
    };
    let response = match left {
        Some(left) => tokio::time::timeout(left, sent).await.map_err(|_| {
            tonic::Status::deadline_exceeded(format!(
                "the call's deadline passed with no answer after {left:?}"
            ))
        })??,
        None => sent.await?,
    };
    Ok(response.map(|body| {
        Body::new(
            body.map_err(|e| tonic::Status::unavailable(format!("the connection broke: {e}"))),
        )
    }))
}

/// The `grpc-timeout` a caller set on a request, if any.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    ducha_proto::parse_grpc_timeout(headers.get("grpc-timeout")?.to_str().ok()?)
}

/// Whether the gRPC-framed message in `framed` has a non-empty string at
/// field `number` (false when it is compressed or cannot be read).
fn has_text_field(framed: &[u8], number: u32) -> bool {
    use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
    let Some(mut msg) = framed.get(5..) else {
        return false;
    };
    if framed[0] != 0 {
        return false;
    }
    while !msg.is_empty() {
        let Ok((tag, wire)) = decode_key(&mut msg) else {
            return false;
        };
        if tag == number && wire == WireType::LengthDelimited {
            return decode_varint(&mut msg).is_ok_and(|len| len > 0);
        }
        if skip_field(wire, tag, &mut msg, DecodeContext::default()).is_err() {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn framed(m: &impl Message) -> Vec<u8> {
        let body = m.encode_to_vec();
        let mut out = vec![0];
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn a_create_may_be_repeated_only_with_its_request_id() {
        let with = pb::CreateFindingRequest {
            request_id: "019ac1e3-0000-7000-8000-000000000001".into(),
            finding: Some(pb::Finding {
                title: "废水直排".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let without = pb::CreateFindingRequest {
            request_id: String::new(),
            ..with.clone()
        };
        let rules = ducha_proto::method_rules("/ducha.v1.FindingService/CreateFinding").unwrap();
        let Retry::WithRequestId(field) = rules.retry else {
            panic!("{rules:?}")
        };
        assert!(has_text_field(&framed(&with), field));
        assert!(!has_text_field(&framed(&without), field));
        let mut compressed = framed(&with);
        compressed[0] = 1;
        assert!(!has_text_field(&compressed, field));
    }

    #[test]
    fn reads_may_be_repeated_and_steps_may_not() {
        let rule = |p: &str| ducha_proto::method_rules(p).unwrap().retry;
        assert_eq!(rule("/ducha.v1.FindingService/GetFinding"), Retry::Always);
        assert_eq!(
            rule("/ducha.v1.EvidenceService/AppendUpload"),
            Retry::Always
        );
        assert_eq!(
            rule("/ducha.v1.RectificationService/ApproveItem"),
            Retry::Never
        );
        assert_eq!(rule("/ducha.v1.AuthService/Refresh"), Retry::Never);
    }
}
