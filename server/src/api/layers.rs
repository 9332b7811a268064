//! What every call of the gRPC API goes through before its handler, in
//! this order: its deadline starts, a call that brings evidence bytes is
//! detached from its connection, its caller is authenticated, and the size
//! of each request message is checked as it arrives.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::Status;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::app::App;
use crate::error::Error;

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// A call whose `grpc-timeout` passes before its handler answers gets
/// DEADLINE_EXCEEDED.
///
/// tonic enforces the same header with a timer of its own that answers
/// CANCELLED "Timeout expired". Its timer starts after this layer's `call`
/// returns and its future polls the inner one first, so this layer's timer,
/// started earlier, always answers first.
#[derive(Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline { inner }
    }
}

#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Deadline<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let timeout = grpc_timeout(req.headers());
        let answer = self.inner.call(req);
        let Some(timeout) = timeout else {
            return Box::pin(answer);
        };
        let expired = tokio::time::sleep(timeout);
        Box::pin(async move {
            tokio::select! {
                biased;
                answer = answer => answer,
                () = expired => Ok(Status::deadline_exceeded(format!(
                    "the call's deadline of {timeout:?} passed before it was answered"
                ))
                .into_http()),
            }
        })
    }
}

/// The `grpc-timeout` of a call; None when absent or malformed, as gRPC
/// servers treat it.
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    ducha_proto::parse_grpc_timeout(headers.get("grpc-timeout")?.to_str().ok()?)
}

/// The calls that bring evidence bytes. Each runs in a task of its own,
/// from before its caller is authenticated until it has stored and
/// committed what arrived, so a call dropped on the way (the client
/// cancels, the connection breaks, the deadline passes) loses none of it.
const DETACHED: &[&str] = &[
    "/ducha.v1.EvidenceService/WriteUpload",
    "/ducha.v1.EvidenceService/AppendUpload",
    "/ducha.v1.EvidenceService/FinishUpload",
];

/// Cancelled when the call a detached task serves has gone away; the
/// handler stops reading then and keeps what arrived.
#[derive(Clone, Debug, Default)]
pub struct CallGone(pub CancellationToken);

#[derive(Clone)]
pub struct DetachLayer {
    /// Where detached calls run; the server waits for them on stopping.
    pub tasks: TaskTracker,
}

impl<S> Layer<S> for DetachLayer {
    type Service = Detach<S>;
    fn layer(&self, inner: S) -> Detach<S> {
        Detach {
            tasks: self.tasks.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct Detach<S> {
    tasks: TaskTracker,
    inner: S,
}

impl<S, B> Service<Request<B>> for Detach<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if !DETACHED.contains(&req.uri().path()) {
            return Box::pin(self.inner.call(req));
        }
        let gone = CancellationToken::new();
        req.extensions_mut().insert(CallGone(gone.clone()));
        // The ready service serves this call; its clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // The task logs under the call's span, as the call would.
        let call = async move { inner.call(req).await }.instrument(tracing::Span::current());
        let task = self.tasks.spawn(call);
        Box::pin(async move {
            let _call = gone.drop_guard();
            match task.await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %e, "the task of a detached call failed");
                    Ok(
                        Status::internal("internal error; the server log has the details")
                            .into_http(),
                    )
                }
            }
        })
    }
}

/// Authenticates every call of a ducha.v1 method that the contract does
/// not mark public, before its request is read, and hands the caller to
/// the handler (see `api::caller`). Other services (health, reflection)
/// pass as they are.
#[derive(Clone)]
pub struct AuthnLayer {
    pub app: App,
}

impl<S> Layer<S> for AuthnLayer {
    type Service = Authn<S>;
    fn layer(&self, inner: S) -> Authn<S> {
        Authn {
            app: self.app.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct Authn<S> {
    app: App,
    inner: S,
}

impl<S, B> Service<Request<B>> for Authn<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let needs_token = ducha_proto::method_rules(req.uri().path()).is_some_and(|m| !m.public);
        if !needs_token {
            return Box::pin(self.inner.call(req));
        }
        // The ready service serves this call; its clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let app = self.app.clone();
        Box::pin(async move {
            match app.authenticate(bearer(req.headers())).await {
                Ok(caller) => {
                    tracing::Span::current().record("subject", caller.subject.as_str());
                    req.extensions_mut().insert(caller);
                    inner.call(req).await
                }
                Err(e) => Ok(Status::from(e).into_http()),
            }
        })
    }
}

/// The bearer token of a call, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

/// Refuses a request message larger than its method's limit with
/// RESOURCE_EXHAUSTED naming the limit, as soon as its length prefix
/// arrives and before its bytes are read.
#[derive(Clone, Copy)]
pub struct MessageLimitLayer {
    /// The limit of every method.
    pub max_message_bytes: usize,
    /// The limit of EvidenceService's methods, which carry upload chunks.
    pub max_evidence_message_bytes: usize,
}

impl<S> Layer<S> for MessageLimitLayer {
    type Service = MessageLimit<S>;
    fn layer(&self, inner: S) -> MessageLimit<S> {
        MessageLimit {
            limits: *self,
            inner,
        }
    }
}

#[derive(Clone)]
pub struct MessageLimit<S> {
    limits: MessageLimitLayer,
    inner: S,
}

impl<S, B> Service<Request<B>> for MessageLimit<S>
where
    S: Service<Request<tonic::body::Body>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let limit = if req.uri().path().starts_with("/ducha.v1.EvidenceService/") {
            self.limits.max_evidence_message_bytes
        } else {
            self.limits.max_message_bytes
        };
        self.inner.call(req.map(|body| {
            tonic::body::Body::new(Limited {
                body,
                limit,
                header: [0; 5],
                header_len: 0,
                payload_left: 0,
            })
        }))
    }
}

pin_project_lite::pin_project! {
    /// A request body read frame by frame of the gRPC framing: a flag byte
    /// and a 4-byte length before each message.
    struct Limited<B> {
        #[pin]
        body: B,
        limit: usize,
        header: [u8; 5],
        header_len: usize,
        payload_left: usize,
    }
}

impl<B> Body for Limited<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Data = Bytes;
    type Error = tonic::codegen::StdError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let frame = match ready!(this.body.poll_frame(cx)) {
            Some(Ok(f)) => f,
            Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
            None => return Poll::Ready(None),
        };
        if let Some(data) = frame.data_ref() {
            let mut rest = data.clone();
            while rest.has_remaining() {
                if *this.payload_left > 0 {
                    let n = (*this.payload_left).min(rest.remaining());
                    rest.advance(n);
                    *this.payload_left -= n;
                    continue;
                }
                let n = (5 - *this.header_len).min(rest.remaining());
                this.header[*this.header_len..*this.header_len + n].copy_from_slice(&rest[..n]);
                rest.advance(n);
                *this.header_len += n;
                if *this.header_len == 5 {
                    *this.header_len = 0;
                    let len =
                        u32::from_be_bytes(this.header[1..5].try_into().expect("4 bytes")) as usize;
                    if len > *this.limit {
                        return Poll::Ready(Some(Err(too_large(len, *this.limit).into())));
                    }
                    *this.payload_left = len;
                }
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

fn too_large(bytes: usize, limit: usize) -> Status {
    Status::from(Error::MessageTooLarge { bytes, limit })
}
