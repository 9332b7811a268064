//! EvidenceService handlers.

use std::pin::Pin;

use ducha_proto::v1::{self as pb, evidence_service_server::EvidenceService};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::caller;
use super::convert::{
    evidence_role_in, link_out, location_in, location_out, named_enum_out, signals_out, time_in,
    time_out,
};
use crate::app::{App, Begun, Chunk};
use crate::domain::attestation::Attestation;
use crate::domain::derivative::{DerivativeState, Derivatives, Rendition, Variant};
use crate::domain::evidence::{
    Capture, Evidence, EvidenceFilter, FileMetadata, Upload, UploadDraft,
};
use crate::domain::validate::Violations;
use crate::error::Error;

pub struct Evidences {
    pub app: App,
}

fn capture_out(c: Capture) -> pb::Capture {
    pb::Capture {
        location: c.location.map(location_out),
        device_time: c.device_time.and_then(time_out),
        device_id: c.device_id,
        attestation_signature: hex::decode(&c.attestation_signature)
            .unwrap_or_default()
            .into(),
    }
}

pub(super) fn evidence_out(e: Evidence) -> pb::Evidence {
    pb::Evidence {
        id: e.id.to_string(),
        sha256: e.sha256,
        size_bytes: e.size_bytes,
        media_type: e.media_type,
        declared_media_type: e.declared_media_type,
        file_name: e.file_name,
        unit_code: e.unit_code,
        uploader: e.uploader,
        capture: Some(capture_out(e.capture)),
        create_time: time_out(e.created_at),
        metadata: Some(metadata_out(e.metadata)),
        signals: signals_out(e.signals),
        attestation: Some(attestation_out(e.attestation)),
        derivatives: Some(derivatives_out(e.derivatives)),
    }
}

fn derivatives_out(d: Derivatives) -> pb::Derivatives {
    let rendition = |r: Rendition| pb::Rendition {
        width: r.width,
        height: r.height,
        size_bytes: r.size_bytes,
    };
    pb::Derivatives {
        state: match d.state {
            DerivativeState::Pending => pb::DerivativeState::Pending,
            DerivativeState::Ready => pb::DerivativeState::Ready,
            DerivativeState::Failed => pb::DerivativeState::Failed,
            DerivativeState::NotApplicable => pb::DerivativeState::NotApplicable,
        } as i32,
        thumbnail: d.thumbnail.map(rendition),
        preview: d.preview.map(rendition),
        error: d.error.unwrap_or_default(),
        attempts: d.attempts,
    }
}

fn variant_in(v: i32) -> Result<Variant, Error> {
    match pb::EvidenceVariant::try_from(v) {
        Ok(pb::EvidenceVariant::Unspecified | pb::EvidenceVariant::Original) => {
            Ok(Variant::Original)
        }
        Ok(pb::EvidenceVariant::Thumbnail) => Ok(Variant::Thumbnail),
        Ok(pb::EvidenceVariant::Preview) => Ok(Variant::Preview),
        Err(_) => Err(Error::invalid("variant", format!("unknown value {v}"))),
    }
}

fn attestation_out(a: Attestation) -> pb::Attestation {
    match a {
        Attestation::Unattested => pb::Attestation {
            status: pb::AttestationStatus::Unattested as i32,
            detail: "unattested".into(),
            ..Default::default()
        },
        Attestation::Attested {
            device_id,
            device_user,
        } => pb::Attestation {
            status: pb::AttestationStatus::Attested as i32,
            detail: format!("attested by device {device_id} of user {device_user}"),
            device_id,
            device_user,
        },
        Attestation::Invalid { reason } => pb::Attestation {
            status: pb::AttestationStatus::Invalid as i32,
            detail: format!("attestation invalid: {reason}"),
            ..Default::default()
        },
    }
}

fn metadata_out(m: FileMetadata) -> pb::FileMetadata {
    let capture = m.capture();
    pb::FileMetadata {
        width: m.width.unwrap_or(0),
        height: m.height.unwrap_or(0),
        capture_local_time: m
            .capture_local_time
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default(),
        capture_offset_minutes: m.capture_offset_minutes.map(i32::from),
        capture_time: capture.and_then(|c| time_out(c.at)),
        capture_time_source: capture.map_or(0, |c| {
            named_enum_out!(CaptureTimeSource, "CAPTURE_TIME_SOURCE_", c.source)
        }),
        gps_time: m.gps_time.and_then(time_out),
        gps: m.gps.map(location_out),
        place_source: m
            .place_source
            .map_or(0, |p| named_enum_out!(PlaceSource, "PLACE_SOURCE_", p)),
        gps_problem: m.gps_problem.unwrap_or_default(),
        make: m.make.unwrap_or_default(),
        model: m.model.unwrap_or_default(),
        software: m.software.unwrap_or_default(),
        orientation: m.orientation.map_or(0, u32::from),
        duration_ms: m.duration_ms.map_or(0, |d| d as i64),
        codec: m.codec.unwrap_or_default(),
    }
}

fn upload_out(u: Upload, max_chunk_bytes: i64) -> pb::Upload {
    pb::Upload {
        id: u.id.to_string(),
        sha256: u.request.sha256,
        size_bytes: u.request.size_bytes,
        committed_offset: u.committed_offset,
        max_chunk_bytes,
        expire_time: time_out(u.expires_at),
    }
}

fn draft_in(r: pb::BeginUploadRequest) -> UploadDraft {
    let c = r.capture.unwrap_or_default();
    UploadDraft {
        unit_code: r.unit_code,
        sha256: r.sha256,
        size_bytes: r.size_bytes,
        media_type: r.media_type,
        file_name: r.file_name,
        location: c.location.map(location_in),
        device_time: time_in(c.device_time.as_ref()),
        device_id: c.device_id,
        attestation_signature: c.attestation_signature.to_vec(),
    }
}

type Download = Pin<Box<dyn Stream<Item = Result<pb::DownloadEvidenceResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EvidenceService for Evidences {
    async fn begin_upload(
        &self,
        req: Request<pb::BeginUploadRequest>,
    ) -> Result<Response<pb::BeginUploadResponse>, Status> {
        let c = caller(&req)?;
        let answer = match self
            .app
            .begin_upload(&c, draft_in(req.into_inner()))
            .await?
        {
            Begun::Existing(e) => pb::BeginUploadResponse {
                evidence: Some(evidence_out(*e)),
                upload: None,
            },
            Begun::Upload(u) => pb::BeginUploadResponse {
                evidence: None,
                upload: Some(upload_out(*u, self.app.uploads.max_chunk_bytes)),
            },
        };
        Ok(Response::new(answer))
    }

    async fn write_upload(
        &self,
        req: Request<Streaming<pb::WriteUploadRequest>>,
    ) -> Result<Response<pb::WriteUploadResponse>, Status> {
        let c = caller(&req)?;
        let gone = req
            .extensions()
            .get::<super::layers::CallGone>()
            .cloned()
            .unwrap_or_default();
        let chunks = req.into_inner().map(|m| {
            m.map(|m| Chunk {
                upload_id: m.upload_id,
                offset: m.offset,
                data: m.data,
                crc32c: m.crc32c,
                finish: m.finish,
            })
            .map_err(|s| super::status::stream_error(&s))
        });
        let w = self.app.write_upload(&c, chunks, gone.0).await?;
        Ok(Response::new(pb::WriteUploadResponse {
            committed_offset: w.committed_offset,
            evidence: w.evidence.map(evidence_out),
        }))
    }

    async fn append_upload(
        &self,
        req: Request<pb::AppendUploadRequest>,
    ) -> Result<Response<pb::AppendUploadResponse>, Status> {
        let c = caller(&req)?;
        let m = req.into_inner();
        let chunk = Chunk {
            upload_id: m.upload_id,
            offset: m.offset,
            data: m.data,
            crc32c: m.crc32c,
            finish: m.finish,
        };
        let w = self.app.append_upload(&c, chunk).await?;
        Ok(Response::new(pb::AppendUploadResponse {
            committed_offset: w.committed_offset,
            evidence: w.evidence.map(evidence_out),
        }))
    }

    async fn get_upload_status(
        &self,
        req: Request<pb::GetUploadStatusRequest>,
    ) -> Result<Response<pb::GetUploadStatusResponse>, Status> {
        let c = caller(&req)?;
        let u = self.app.upload_status(&c, &req.get_ref().upload_id).await?;
        Ok(Response::new(pb::GetUploadStatusResponse {
            upload: Some(upload_out(u, self.app.uploads.max_chunk_bytes)),
        }))
    }

    async fn finish_upload(
        &self,
        req: Request<pb::FinishUploadRequest>,
    ) -> Result<Response<pb::FinishUploadResponse>, Status> {
        let c = caller(&req)?;
        let e = self.app.finish_upload(&c, &req.get_ref().upload_id).await?;
        Ok(Response::new(pb::FinishUploadResponse {
            evidence: Some(evidence_out(e)),
        }))
    }

    async fn get_evidence(
        &self,
        req: Request<pb::GetEvidenceRequest>,
    ) -> Result<Response<pb::GetEvidenceResponse>, Status> {
        let c = caller(&req)?;
        let e = self.app.get_evidence(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetEvidenceResponse {
            evidence: Some(evidence_out(e)),
        }))
    }

    type DownloadEvidenceStream = Download;

    async fn download_evidence(
        &self,
        req: Request<pb::DownloadEvidenceRequest>,
    ) -> Result<Response<Download>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let bytes = self
            .app
            .download_evidence(&c, &r.id, variant_in(r.variant)?)
            .await?;
        let mut offset = 0i64;
        let out = bytes.map(move |b| {
            let b = b?;
            let m = pb::DownloadEvidenceResponse {
                offset,
                data: b.clone(),
            };
            offset += b.len() as i64;
            Ok(m)
        });
        Ok(Response::new(Box::pin(out)))
    }

    async fn get_download_url(
        &self,
        req: Request<pb::GetDownloadUrlRequest>,
    ) -> Result<Response<pb::GetDownloadUrlResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let ttl = r
            .ttl
            .map(std::time::Duration::try_from)
            .transpose()
            .map_err(|_| Error::invalid("ttl", "must be a positive duration"))?;
        let d = self
            .app
            .download_url(&c, &r.id, variant_in(r.variant)?, ttl)
            .await?;
        Ok(Response::new(pb::GetDownloadUrlResponse {
            url: d.url,
            expire_time: time_out(d.expires_at),
            media_type: d.media_type,
        }))
    }

    async fn link_evidence(
        &self,
        req: Request<pb::LinkEvidenceRequest>,
    ) -> Result<Response<pb::LinkEvidenceResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let link = self
            .app
            .link_evidence(
                &c,
                &r.evidence_id,
                &r.check_record_id,
                evidence_role_in(r.role),
            )
            .await?;
        Ok(Response::new(pb::LinkEvidenceResponse {
            link: Some(link_out(link)),
        }))
    }

    async fn unlink_evidence(
        &self,
        req: Request<pb::UnlinkEvidenceRequest>,
    ) -> Result<Response<pb::UnlinkEvidenceResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        self.app
            .unlink_evidence(&c, &r.evidence_id, &r.check_record_id)
            .await?;
        Ok(Response::new(pb::UnlinkEvidenceResponse {}))
    }

    async fn register_device(
        &self,
        req: Request<pb::RegisterDeviceRequest>,
    ) -> Result<Response<pb::RegisterDeviceResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let at = self
            .app
            .register_device(&c, &r.device_id, &r.public_key)
            .await?;
        Ok(Response::new(pb::RegisterDeviceResponse {
            device_id: r.device_id.trim().to_string(),
            register_time: time_out(at),
        }))
    }

    async fn list_evidence(
        &self,
        req: Request<pb::ListEvidenceRequest>,
    ) -> Result<Response<pb::ListEvidenceResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let page = self
            .app
            .list_evidence(&c, evidence_filter_in(r)?, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListEvidenceResponse {
            evidence: page.items.into_iter().map(evidence_out).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}

/// Converts list filters; malformed values are reported by field.
fn evidence_filter_in(r: &pb::ListEvidenceRequest) -> Result<EvidenceFilter, Error> {
    let mut v = Violations::new();
    let check_record =
        crate::domain::id::optional_in("check_record_id", &r.check_record_id, &mut v);
    let signal = match pb::SignalKind::try_from(r.signal) {
        Ok(pb::SignalKind::Unspecified) => None,
        Ok(pb::SignalKind::NoGps) => Some("no_gps"),
        Ok(pb::SignalKind::Edited) => Some("edited_with"),
        Ok(pb::SignalKind::ClockMismatch) => Some("clock_mismatch"),
        Ok(pb::SignalKind::GpsUnreadable) => Some("gps_unreadable"),
        Ok(pb::SignalKind::GpsTimeMismatch) => Some("gps_time_mismatch"),
        Ok(_) => {
            v.add(
                "signal",
                "only signals of the file itself (NO_GPS, GPS_UNREADABLE, EDITED, CLOCK_MISMATCH, GPS_TIME_MISMATCH) can be filtered",
            );
            None
        }
        Err(_) => {
            v.add("signal", format!("unknown value {}", r.signal));
            None
        }
    };
    let created_from = time_in(r.create_time_from.as_ref()).optional("create_time_from", &mut v);
    let created_before = time_in(r.create_time_to.as_ref()).optional("create_time_to", &mut v);
    v.finish()?;
    let mut units = r.unit_codes.clone();
    units.sort();
    units.dedup();
    Ok(EvidenceFilter {
        unit_codes: (!units.is_empty()).then_some(units),
        uploader: (!r.uploader.is_empty()).then(|| r.uploader.clone()),
        created_from,
        created_before,
        check_record,
        signal: signal.map(str::to_string),
    })
}
