//! Every refusal has the status a client can act on: no token is
//! UNAUTHENTICATED before anything else, a deadline the server enforces is
//! DEADLINE_EXCEEDED, an oversized message is RESOURCE_EXHAUSTED naming
//! its limit, a page token works only for the caller it was given to, and
//! the SDK sends a call again only when that is safe.

use bytes::Bytes;
use ducha::domain::access::Role;
use ducha_sdk::{CallPolicy, pb};
use futures::StreamExt;
use prost_reflect::{DescriptorPool, Value};
use tonic::Code;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;
use tonic_types::StatusExt;

use crate::support;
use crate::support::checks::{T0, create, create_record, create_with, list_records, site_check};
use crate::support::evidence::{photo, start, upload_status};
use crate::support::grpc::channel;
use crate::support::proxy::Proxy;
use crate::support::refusals::violated_fields;
use crate::support::units::LIANDU;

/// A raw gRPC call of `path` with an empty message, shaped as the method
/// streams, without a token.
async fn anonymous_call(
    channel: Channel,
    path: &str,
    client_streaming: bool,
    server_streaming: bool,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path: http::uri::PathAndQuery = path.parse().unwrap();
    let codec = ProstCodec::<(), ()>::default();
    let one = || tokio_stream::iter([()]);
    let answer = match (client_streaming, server_streaming) {
        (false, false) => grpc
            .unary(tonic::Request::new(()), path, codec)
            .await
            .map(drop),
        (true, false) => grpc
            .client_streaming(tonic::Request::new(one()), path, codec)
            .await
            .map(drop),
        (false, true) => match grpc
            .server_streaming(tonic::Request::new(()), path, codec)
            .await
        {
            Ok(r) => r.into_inner().message().await.map(drop),
            Err(e) => Err(e),
        },
        (true, true) => grpc
            .streaming(tonic::Request::new(one()), path, codec)
            .await
            .map(drop),
    };
    answer.expect_err("an anonymous call must be refused")
}

#[tokio::test]
async fn every_method_but_the_public_ones_refuses_an_anonymous_call_first() {
    let srv = support::spawn().await;
    let channel = channel(&srv.url).await;
    // The contract itself says which methods are public.
    let pool = DescriptorPool::decode(ducha_proto::FILE_DESCRIPTOR_SET).unwrap();
    let public_mark = pool.get_extension_by_name("ducha.v1.public").unwrap();
    let (mut public, mut checked) = (Vec::new(), 0);
    for service in pool.services().filter(|s| s.package_name() == "ducha.v1") {
        for m in service.methods() {
            let path = format!("/{}/{}", service.full_name(), m.name());
            if matches!(*m.options().get_extension(&public_mark), Value::Bool(true)) {
                public.push(path);
                continue;
            }
            let status = anonymous_call(
                channel.clone(),
                &path,
                m.is_client_streaming(),
                m.is_server_streaming(),
            )
            .await;
            assert_eq!(status.code(), Code::Unauthenticated, "{path}: {status:?}");
            checked += 1;
        }
    }
    assert_eq!(
        public,
        [
            "/ducha.v1.AuthService/Login",
            "/ducha.v1.AuthService/Refresh"
        ]
    );
    assert!(checked > 80, "only {checked} methods found");
}

/// One gRPC message as it goes on the wire: a flag byte, its length,
/// its bytes.
fn framed(m: &impl ducha_proto::prost::Message) -> Bytes {
    let body = m.encode_to_vec();
    let mut out = vec![0];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.into()
}

#[tokio::test]
async fn a_deadline_the_server_enforces_is_deadline_exceeded_and_keeps_what_arrived() {
    use http_body::Frame;
    use http_body_util::StreamBody;
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    // A plain HTTP/2 client keeps no timer of its own (tonic's would), so
    // only the server enforces the deadline. The stream sends one chunk and
    // then stays open.
    let first = pb::WriteUploadRequest {
        upload_id: up.id.clone(),
        offset: 0,
        data: bytes.slice(..20_000),
        crc32c: crc32c::crc32c(&bytes[..20_000]),
        finish: false,
    };
    let (hold, held) = tokio::sync::oneshot::channel::<()>();
    let body = StreamBody::new(
        futures::stream::once(async move { Ok::<_, std::io::Error>(Frame::data(framed(&first))) })
            .chain(futures::stream::once(async move {
                let _ = held.await;
                Ok(Frame::data(Bytes::new()))
            }))
            .boxed(),
    );
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let req = http::Request::post(format!("{}/ducha.v1.EvidenceService/WriteUpload", srv.url))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        // Long enough for the first chunk to arrive on a loaded machine
        // (at 300 ms a busy CI machine sometimes lost that race).
        .header("grpc-timeout", "3S")
        .header(
            "authorization",
            format!("Bearer {}", c.access_token().await.unwrap()),
        )
        .body(body)
        .unwrap();
    let answer = client.request(req).await.unwrap();
    let e = tonic::Status::from_header_map(answer.headers()).expect("a trailers-only answer");
    drop(hold);
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    // The chunk that arrived before the deadline is kept.
    let status = upload_status(&c, &up.id).await.unwrap();
    assert_eq!(status.committed_offset, 20_000);
}

/// A client that sends messages of any size.
async fn unlimited(
    srv: &support::TestServer,
    token: &str,
) -> (
    Channel,
    tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
) {
    (
        channel(&srv.url).await,
        format!("Bearer {token}").parse().unwrap(),
    )
}

#[tokio::test]
async fn a_64_mib_message_is_resource_exhausted_naming_the_limit() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let token = c.access_token().await.unwrap();
    let (channel, bearer) = unlimited(&srv, &token).await;
    let huge = 64 * 1024 * 1024;

    // Unary: a check record with a 64 MiB narrative.
    let mut rec = site_check(LIANDU, T0);
    rec.narrative = "x".repeat(huge);
    let mut req = tonic::Request::new(create(rec));
    req.metadata_mut().insert("authorization", bearer.clone());
    let e = pb::check_service_client::CheckServiceClient::new(channel.clone())
        .max_encoding_message_size(usize::MAX)
        .create_check_record(req)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("limit of 4194304 bytes"), "{e:?}");
    let info = e.get_details_error_info().unwrap();
    assert_eq!(info.reason, "MESSAGE_TOO_LARGE");
    assert_eq!(info.metadata["limit_bytes"], "4194304");

    // A stream: a chunk of 64 MiB in WriteUpload.
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let data = Bytes::from(vec![7u8; huge]);
    let chunk = pb::WriteUploadRequest {
        upload_id: up.id.clone(),
        offset: 0,
        crc32c: crc32c::crc32c(&data),
        data,
        finish: false,
    };
    let mut req = tonic::Request::new(tokio_stream::iter([chunk]));
    req.metadata_mut().insert("authorization", bearer);
    let e = pb::evidence_service_client::EvidenceServiceClient::new(channel)
        .max_encoding_message_size(usize::MAX)
        .write_upload(req)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    let info = e.get_details_error_info().unwrap();
    assert_eq!(info.reason, "MESSAGE_TOO_LARGE");
    let limit: usize = info.metadata["limit_bytes"].parse().unwrap();
    assert!(limit < huge && limit >= 4 * 1024 * 1024, "{limit}");
}

#[tokio::test]
async fn a_page_token_works_only_for_the_caller_it_was_given_to() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    for n in 0..3 {
        create_record(&inspector, site_check(LIANDU, T0 + n * 3600)).await;
    }
    let list = |page_token: String| pb::ListCheckRecordsRequest {
        page_size: 1,
        page_token,
        ..Default::default()
    };
    let first = inspector
        .checks()
        .list_check_records(list(String::new()))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    // The same caller goes on; another one with the same view may not.
    inspector
        .checks()
        .list_check_records(list(first.next_page_token.clone()))
        .await
        .unwrap();
    let colleague = srv.client(Role::Inspector, &[LIANDU]).await;
    let e = colleague
        .checks()
        .list_check_records(list(first.next_page_token))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["page_token"]);
}

#[tokio::test]
async fn the_sdk_sends_a_call_again_only_when_it_is_safe() {
    let srv = support::spawn().await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let proxy = Proxy::start(&srv.url).await;
    // At most three attempts of a call, within five seconds.
    let policy = CallPolicy {
        max_attempts: 3,
        timeout: std::time::Duration::from_secs(5),
        initial_backoff: std::time::Duration::from_millis(20),
        ..Default::default()
    };
    let c = srv.sign_in(&proxy.url, &name, policy).await;
    let rec = create_record(&c, site_check(LIANDU, T0)).await;

    // A read whose connection breaks before it reaches the server is sent
    // again on a new connection.
    let before = proxy.connections();
    proxy.cut_after(0);
    let got = c
        .checks()
        .get_check_record(pb::GetCheckRecordRequest { id: rec.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.check_record.unwrap().id, rec.id);
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(proxy.connections(), before + 1);

    // So is a create that carries a request id; a create without one, and
    // an update, are not: the caller learns the outcome is unknown.
    let mut with_id = create(site_check(LIANDU, T0 + 3600));
    with_id.request_id = uuid::Uuid::new_v4().to_string();
    proxy.cut_after(0);
    create_with(&c, with_id).await.unwrap();
    assert_eq!(proxy.cuts(), 2);

    let before = proxy.connections();
    proxy.cut_after(0);
    let e = create_with(&c, create(site_check(LIANDU, T0 + 7200)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert_eq!(proxy.cuts(), 3);
    assert_eq!(proxy.connections(), before, "it was not sent again");

    let all = list_records(&c, Default::default()).await;
    assert_eq!(all.len(), 2, "the retried create made one record");

    // A server that stays away: a bounded number of attempts, then
    // UNAVAILABLE within the deadline.
    proxy.stop();
    let e = c
        .checks()
        .get_check_record(pb::GetCheckRecordRequest { id: rec.id })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
}
