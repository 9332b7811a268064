//! Evidence: the fixture photos, resumable uploads by the API's own steps
//! (begin, append or stream, finish), downloads, derivatives followed until
//! they settle, and links to check records.

use std::time::Duration;

use bytes::Bytes;
use ducha_sdk::{Client, pb};

use super::checks::ts;

/// A photo of tests/fixtures/photos.
pub fn fixture(name: &str) -> Bytes {
    Bytes::from(
        std::fs::read(format!(
            "{}/../tests/fixtures/photos/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
}

/// The photo most tests send: DSCN0010, 640×480, with GPS, taken in Italy.
pub fn photo() -> Bytes {
    fixture("DSCN0010.jpg")
}

/// The SHA-256 of `b`, in hex.
pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// The key of an original of that SHA-256 in the object store.
pub fn original_key(sha256: &str) -> String {
    format!("evidence/sha256/{}/{sha256}", &sha256[..2])
}

/// The request that begins an upload of `bytes` as a JPEG of `unit`, with
/// the capture of phone-7 where DSCN0010 was taken.
pub fn begin(unit: &str, bytes: &[u8]) -> pb::BeginUploadRequest {
    pb::BeginUploadRequest {
        unit_code: unit.into(),
        sha256: sha256(bytes),
        size_bytes: bytes.len() as i64,
        media_type: "image/jpeg".into(),
        file_name: "DSCN0010.jpg".into(),
        capture: Some(pb::Capture {
            location: Some(pb::Location {
                latitude: 43.467448,
                longitude: 11.885127,
                accuracy_m: 10.0,
                altitude_m: None,
                datum: pb::Datum::Wgs84 as i32,
            }),
            device_time: ts(1_224_692_919),
            device_id: "phone-7".into(),
            attestation_signature: Bytes::new(),
        }),
    }
}

/// What the SDK's upload is told of a JPEG of `unit` named `file`.
pub fn photo_metadata(unit: &str, file: &str) -> ducha_sdk::UploadMetadata {
    ducha_sdk::UploadMetadata {
        unit_code: unit.into(),
        media_type: "image/jpeg".into(),
        file_name: file.into(),
        capture: None,
    }
}

/// A unary append of `data` at `offset`, with its checksum.
pub fn append(id: &str, offset: usize, data: &[u8]) -> pb::AppendUploadRequest {
    pb::AppendUploadRequest {
        upload_id: id.into(),
        offset: offset as i64,
        data: Bytes::copy_from_slice(data),
        crc32c: crc32c::crc32c(data),
        finish: false,
    }
}

/// Begins an upload of `bytes` in `unit` that must be asked for its bytes.
pub async fn start(c: &Client, unit: &str, bytes: &[u8]) -> pb::Upload {
    start_with(c, begin(unit, bytes)).await
}

/// Begins an upload that must be asked for its bytes.
pub async fn start_with(c: &Client, req: pb::BeginUploadRequest) -> pb::Upload {
    let r = c.evidence().begin_upload(req).await.unwrap().into_inner();
    assert!(r.evidence.is_none(), "expected to be asked for the bytes");
    r.upload.unwrap()
}

/// Sends `bytes` in `chunk`-sized unary appends from `from`.
pub async fn send(c: &Client, id: &str, bytes: &[u8], from: usize, chunk: usize) -> i64 {
    let mut committed = from as i64;
    for (i, part) in bytes[from..].chunks(chunk).enumerate() {
        committed = c
            .evidence()
            .append_upload(append(id, from + i * chunk, part))
            .await
            .unwrap()
            .into_inner()
            .committed_offset;
    }
    committed
}

/// Sends `bytes` from `from` in one WriteUpload stream of `chunk`-sized
/// messages, the last one asking to finish when `finish` is set.
pub async fn stream(
    c: &Client,
    id: &str,
    bytes: &[u8],
    from: usize,
    chunk: usize,
    finish: bool,
) -> Result<pb::WriteUploadResponse, tonic::Status> {
    let mut msgs: Vec<pb::WriteUploadRequest> = bytes[from..]
        .chunks(chunk)
        .enumerate()
        .map(|(i, d)| pb::WriteUploadRequest {
            upload_id: id.into(),
            offset: (from + i * chunk) as i64,
            data: Bytes::copy_from_slice(d),
            crc32c: crc32c::crc32c(d),
            finish: false,
        })
        .collect();
    if let Some(last) = msgs.last_mut() {
        last.finish = finish;
    }
    c.evidence()
        .write_upload(tokio_stream::iter(msgs))
        .await
        .map(|r| r.into_inner())
}

/// Finishes upload `id`: its evidence, or why it was refused.
pub async fn finish(c: &Client, id: &str) -> Result<pb::Evidence, tonic::Status> {
    c.evidence()
        .finish_upload(pb::FinishUploadRequest {
            upload_id: id.into(),
        })
        .await
        .map(|r| r.into_inner().evidence.unwrap())
}

/// Uploads `bytes` as a JPEG of `unit`, begun, sent and finished.
pub async fn upload(c: &Client, unit: &str, bytes: &[u8]) -> Result<pb::Evidence, tonic::Status> {
    upload_with(c, begin(unit, bytes), bytes).await
}

/// Uploads `bytes` begun by `req`, which the test has changed.
pub async fn upload_with(
    c: &Client,
    req: pb::BeginUploadRequest,
    bytes: &[u8],
) -> Result<pb::Evidence, tonic::Status> {
    let up = start_with(c, req).await;
    send(c, &up.id, bytes, 0, 1_000_000).await;
    finish(c, &up.id).await
}

/// Upload `id` as its uploader `c` sees it: how far it got.
pub async fn upload_status(c: &Client, id: &str) -> Result<pb::Upload, tonic::Status> {
    c.evidence()
        .get_upload_status(pb::GetUploadStatusRequest {
            upload_id: id.into(),
        })
        .await
        .map(|r| r.into_inner().upload.unwrap())
}

/// The original of evidence `id`, read through the download stream.
pub async fn download(c: &Client, id: &str) -> Result<Vec<u8>, tonic::Status> {
    let mut s = c
        .evidence()
        .download_evidence(pb::DownloadEvidenceRequest {
            id: id.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(m) = s.message().await? {
        assert_eq!(m.offset as usize, out.len());
        out.extend_from_slice(&m.data);
    }
    Ok(out)
}

/// Evidence `id` as `c` reads it, which it must be able to.
pub async fn get_evidence(c: &Client, id: &str) -> pb::Evidence {
    c.evidence()
        .get_evidence(pb::GetEvidenceRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
        .evidence
        .unwrap()
}

/// A signed link to `variant` of evidence `id`, valid for `ttl` or the
/// server's default.
pub async fn download_url(
    c: &Client,
    id: &str,
    variant: pb::EvidenceVariant,
    ttl: Option<Duration>,
) -> Result<pb::GetDownloadUrlResponse, tonic::Status> {
    c.evidence()
        .get_download_url(pb::GetDownloadUrlRequest {
            id: id.into(),
            variant: variant as i32,
            ttl: ttl.map(|t| t.try_into().unwrap()),
        })
        .await
        .map(|r| r.into_inner())
}

/// Waits until the evidence's derivatives are no longer pending: the job
/// runs in the background, so the test follows its state.
pub async fn settled(c: &Client, id: &str) -> pb::Evidence {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let e = get_evidence(c, id).await;
        let d = e.derivatives.clone().unwrap();
        if d.state != pb::DerivativeState::Pending as i32 {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "derivatives of {id} still pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Links evidence `evidence_id` to check record `record_id` in `role`.
pub async fn link(
    c: &Client,
    evidence_id: &str,
    record_id: &str,
    role: pb::EvidenceRole,
) -> Result<pb::EvidenceLink, tonic::Status> {
    c.evidence()
        .link_evidence(pb::LinkEvidenceRequest {
            evidence_id: evidence_id.into(),
            check_record_id: record_id.into(),
            role: role as i32,
        })
        .await
        .map(|r| r.into_inner().link.unwrap())
}

/// The kinds of authenticity signals, in their order.
pub fn kinds(signals: &[pb::AuthenticitySignal]) -> Vec<pb::SignalKind> {
    signals
        .iter()
        .map(|s| pb::SignalKind::try_from(s.kind).unwrap())
        .collect()
}
