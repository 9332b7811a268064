//! Plain HTTP GETs, as a browser makes them of a signed download link.

use bytes::Bytes;
use http::header::{CONTENT_RANGE, CONTENT_TYPE, HeaderName, RANGE};
use http_body_util::BodyExt;

/// A GET of `url`: status, content type, body.
pub async fn get(url: &str) -> (u16, String, Vec<u8>) {
    request(url, None, CONTENT_TYPE).await
}

/// A GET with a Range header, as a browser's video player makes when it
/// seeks: status, Content-Range and body.
pub async fn get_range(url: &str, range: &str) -> (u16, String, Vec<u8>) {
    request(url, Some(range), CONTENT_RANGE).await
}

/// A GET of `url`, with `range` when set: status, the answer's header
/// `header` (empty when absent), body.
async fn request(url: &str, range: Option<&str>, header: HeaderName) -> (u16, String, Vec<u8>) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let mut req = http::Request::get(url);
    if let Some(range) = range {
        req = req.header(RANGE, range);
    }
    let r = client
        .request(req.body(http_body_util::Empty::new()).unwrap())
        .await
        .unwrap();
    let status = r.status().as_u16();
    let value = r
        .headers()
        .get(header)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, value, body)
}
