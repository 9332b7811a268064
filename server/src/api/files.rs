//! Serves the signed download links of the local folder store: a plain
//! HTTP GET on the gRPC port, answered before the request reaches the
//! gRPC router.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::TryStreamExt;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody};
use tower::{Layer, Service};

use super::status::http_status;
use crate::app::App;
use crate::domain::download::LINK_PREFIX;
use crate::error::Error;

#[derive(Clone)]
pub struct FileLinksLayer {
    pub app: App,
}

impl<S> Layer<S> for FileLinksLayer {
    type Service = FileLinks<S>;
    fn layer(&self, inner: S) -> FileLinks<S> {
        FileLinks {
            app: self.app.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct FileLinks<S> {
    app: App,
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<Request<B>> for FileLinks<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let is_link = matches!(*req.method(), Method::GET | Method::HEAD)
            && req.uri().path().starts_with(LINK_PREFIX);
        if !is_link {
            let fut = self.inner.call(req);
            return Box::pin(fut);
        }
        let app = self.app.clone();
        let head = req.method() == Method::HEAD;
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let range = req
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move { Ok(serve_link(&app, &path, &query, range, head).await) })
    }
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What a Range header asks of a file of `size` bytes.
enum Wanted {
    Whole,
    Part(std::ops::RangeInclusive<u64>),
    Unsatisfiable,
}

/// One range is served as asked; a header that cannot be parsed, or asks
/// for several ranges, gets the whole file (RFC 9110 lets a server ignore
/// Range).
fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(parsed) = range.and_then(|r| http_range_header::parse_range_header(r).ok()) else {
        return Wanted::Whole;
    };
    use http_range_header::RangeUnsatisfiableError as Refused;
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Wanted::Part(ranges[0].clone()),
        // A suffix longer than the file asks for all of it (RFC 9110
        // 14.1.2); several or overlapping ranges get the whole file too.
        Ok(_) | Err(Refused::FileSuffixOutOfBounds | Refused::OverlappingRanges) => Wanted::Whole,
        Err(_) => Wanted::Unsatisfiable,
    }
}

async fn serve_link(
    app: &App,
    path: &str,
    query: &str,
    range: Option<String>,
    head: bool,
) -> Response<tonic::body::Body> {
    let expires = param(query, "expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(sig)) = (expires, param(query, "sig")) else {
        return refusal(Error::denied(
            crate::error::Reason::LinkInvalid,
            "the link lacks its expiry or signature",
        ));
    };
    let file = match app.open_link(path, expires, sig).await {
        Ok(file) => file,
        Err(e) => return refusal(e),
    };
    let size = file.size_bytes;
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, &file.media_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let (builder, part) = match wanted(range.as_deref(), size) {
        Wanted::Whole => (
            builder
                .status(StatusCode::OK)
                .header(header::CONTENT_LENGTH, size),
            None,
        ),
        Wanted::Part(r) => (
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {}-{}/{size}", r.start(), r.end()),
                )
                .header(header::CONTENT_LENGTH, r.end() - r.start() + 1),
            Some(r),
        ),
        Wanted::Unsatisfiable => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(tonic::body::Body::empty())
                .unwrap_or_else(|_| refusal(Error::internal("building the response")));
        }
    };
    let body = if head {
        tonic::body::Body::empty()
    } else {
        match app.linked_bytes(&file, part).await {
            Ok(bytes) => {
                let frames = bytes
                    .map_ok(http_body::Frame::data)
                    .map_err(tonic::Status::from);
                tonic::body::Body::new(StreamBody::new(frames))
            }
            Err(e) => return refusal(e),
        }
    };
    builder
        .body(body)
        .unwrap_or_else(|_| refusal(Error::internal("building the response")))
}

fn refusal(e: Error) -> Response<tonic::body::Body> {
    let status = http_status(&e);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "serving a download link failed");
    }
    let text = match status {
        StatusCode::INTERNAL_SERVER_ERROR => "internal error".to_string(),
        _ => e.to_string(),
    };
    let body = Full::new(Bytes::from(text))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut r = Response::new(tonic::body::Body::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
