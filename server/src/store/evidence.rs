//! SQL of evidence, stored bytes and uploads.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::jobs::{ClaimedJob, ENQUEUE, FINISH};
use super::links::LINK_EXPECTING_RECORDS;
use super::log::{Wrote, commit_change};
use super::{Store, Ts, on_pool, push_unit_filter};
use crate::domain::attestation::Attestation;
use crate::domain::derivative::{self, DerivativeState, Derivatives};
use crate::domain::event::Change;
use crate::domain::evidence::{
    Capture, Evidence, EvidenceCursor, EvidenceFilter, FileMetadata, Upload, UploadRequest,
};
use crate::domain::signals::{self, Signal};
use crate::error::Result;

#[derive(sqlx::FromRow)]
struct EvidenceRow {
    id: Uuid,
    sha256: String,
    unit_code: String,
    uploader: String,
    media_type: String,
    declared_media_type: String,
    file_name: String,
    size_bytes: i64,
    capture: Json<Capture>,
    metadata: Json<FileMetadata>,
    signals: Json<Vec<Signal>>,
    attestation: Json<Attestation>,
    created_at: Ts,
    derivatives: Json<Derivatives>,
    phash: Option<i64>,
}

impl From<EvidenceRow> for Evidence {
    fn from(r: EvidenceRow) -> Evidence {
        Evidence {
            id: r.id,
            sha256: r.sha256,
            unit_code: r.unit_code,
            uploader: r.uploader,
            media_type: r.media_type,
            declared_media_type: r.declared_media_type,
            file_name: r.file_name,
            size_bytes: r.size_bytes,
            capture: r.capture.0,
            metadata: r.metadata.0,
            signals: r.signals.0,
            attestation: r.attestation.0,
            created_at: r.created_at.0,
            derivatives: r.derivatives.0,
            phash: r.phash.map(|h| h as u64),
        }
    }
}

/// The job that makes a content's derivatives; its subject is the SHA-256.
pub const DERIVATIVES_JOB: &str = "derivatives";

const EVIDENCE_COLUMNS: &str = "id, sha256, unit_code, uploader, media_type, declared_media_type, \
    file_name, size_bytes, capture, metadata, signals, attestation, created_at, derivatives, phash";

#[derive(sqlx::FromRow)]
struct UploadRow {
    id: Uuid,
    uploader: String,
    unit_code: String,
    sha256: String,
    size_bytes: i64,
    declared_media_type: String,
    file_name: String,
    capture: Json<Capture>,
    committed_offset: i64,
    created_at: Ts,
    expires_at: Ts,
    evidence_id: Option<Uuid>,
}

impl From<UploadRow> for Upload {
    fn from(r: UploadRow) -> Upload {
        Upload {
            id: r.id,
            uploader: r.uploader,
            request: UploadRequest {
                unit_code: r.unit_code,
                sha256: r.sha256,
                size_bytes: r.size_bytes,
                media_type: r.declared_media_type,
                file_name: r.file_name,
                capture: r.capture.0,
            },
            committed_offset: r.committed_offset,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            evidence_id: r.evidence_id,
        }
    }
}

const UPLOAD_COLUMNS: &str = "id, uploader, unit_code, sha256, size_bytes, declared_media_type, \
    file_name, capture, committed_offset, created_at, expires_at, evidence_id";

/// A piece of an upload, kept as an object of its own until Finish.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Segment {
    pub start_offset: i64,
    pub length: i64,
    pub object_key: String,
    pub sha256: String,
}

impl Store {
    /// Evidence of these bytes in one of `units` (all units when None),
    /// preferring `first` when several hold it.
    pub async fn find_evidence(
        &self,
        sha256: &str,
        units: Option<&[String]>,
        first: &str,
    ) -> Result<Option<Evidence>> {
        let sql = format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence_view WHERE sha256 = $1
             ORDER BY CASE WHEN unit_code = $2 THEN 0 ELSE 1 END, created_at"
        );
        let rows: Vec<EvidenceRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(sha256)
                .bind(first)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(Evidence::from)
            .find(|e| units.is_none_or(|u| u.contains(&e.unit_code))))
    }

    pub async fn get_evidence(&self, id: Uuid) -> Result<Option<Evidence>> {
        let sql = format!("SELECT {EVIDENCE_COLUMNS} FROM evidence_view WHERE id = $1");
        let row: Option<EvidenceRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(Evidence::from))
    }

    pub async fn count_open_uploads(&self, uploader: &str, now: DateTime<Utc>) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT COUNT(*) FROM uploads
                 WHERE uploader = $1 AND evidence_id IS NULL AND expires_at > $2",
            )
            .bind(uploader)
            .bind(Ts(now))
            .fetch_one(p)
            .await
        })?;
        Ok(n)
    }

    /// The uploader's unfinished, unexpired uploads of the bytes `sha256`,
    /// oldest first.
    pub async fn open_uploads_of(
        &self,
        uploader: &str,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Upload>> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads
             WHERE uploader = $1 AND sha256 = $2 AND evidence_id IS NULL AND expires_at > $3
             ORDER BY created_at"
        );
        let rows: Vec<UploadRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(uploader)
                .bind(sha256)
                .bind(Ts(now))
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(Upload::from).collect())
    }

    pub async fn insert_upload(&self, u: &Upload) -> Result<()> {
        let r = &u.request;
        on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO uploads (id, uploader, unit_code, sha256, size_bytes, declared_media_type,
                    file_name, capture, committed_offset, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(u.id)
            .bind(&u.uploader)
            .bind(&r.unit_code)
            .bind(&r.sha256)
            .bind(r.size_bytes)
            .bind(&r.media_type)
            .bind(&r.file_name)
            .bind(Json(&r.capture))
            .bind(u.committed_offset)
            .bind(Ts(u.created_at))
            .bind(Ts(u.expires_at))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn get_upload(&self, id: Uuid) -> Result<Option<Upload>> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
        let row: Option<UploadRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(Upload::from))
    }

    /// Records a segment stored at `from` and moves the committed offset
    /// past it, if the offset is still `from`. Returns false, writing
    /// nothing, when another writer moved it first.
    pub async fn add_segment(&self, upload: Uuid, from: i64, seg: &Segment) -> Result<bool> {
        let done = on_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let moved = sqlx::query(
                    "UPDATE uploads SET committed_offset = $3
                     WHERE id = $1 AND committed_offset = $2 AND evidence_id IS NULL",
                )
                .bind(upload)
                .bind(from)
                .bind(from + seg.length)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved != 1 {
                    return Ok::<bool, sqlx::Error>(false);
                }
                sqlx::query(
                    "INSERT INTO upload_segments (upload_id, start_offset, length, object_key, sha256)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(upload)
                .bind(seg.start_offset)
                .bind(seg.length)
                .bind(&seg.object_key)
                .bind(&seg.sha256)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(done)
    }

    /// Moves an unfinished upload's committed offset back to `to`, the
    /// start of one of its segments, forgetting that segment and those
    /// after it: their bytes are to be sent again.
    pub async fn truncate_upload(&self, upload: Uuid, to: i64) -> Result<()> {
        on_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let moved = sqlx::query(
                    "UPDATE uploads SET committed_offset = $2
                     WHERE id = $1 AND evidence_id IS NULL AND committed_offset > $2",
                )
                .bind(upload)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // A finished upload keeps its record as it is.
                if moved == 1 {
                    sqlx::query(
                        "DELETE FROM upload_segments WHERE upload_id = $1 AND start_offset >= $2",
                    )
                    .bind(upload)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Gives an unfinished upload a new expiry.
    pub async fn renew_upload(&self, upload: Uuid, expires_at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query("UPDATE uploads SET expires_at = $2 WHERE id = $1 AND evidence_id IS NULL")
                .bind(upload)
                .bind(Ts(expires_at))
                .execute(p)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    pub async fn segments(&self, upload: Uuid) -> Result<Vec<Segment>> {
        Ok(on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT start_offset, length, object_key, sha256 FROM upload_segments
                 WHERE upload_id = $1 ORDER BY start_offset",
            )
            .bind(upload)
            .fetch_all(p)
            .await
        })?)
    }

    /// Records stored bytes (once per SHA-256) and the evidence of a unit
    /// (once per unit and SHA-256), closes the upload with all its bytes
    /// committed, and links the evidence to the check records expecting
    /// it. When the unit already had these bytes, that evidence is
    /// returned instead. Returns the evidence and how many records it was
    /// linked to; None, writing nothing, when the upload is finished or
    /// its committed offset is no longer `from`.
    pub async fn record_evidence(
        &self,
        upload: Uuid,
        from: i64,
        e: &Evidence,
        object_key: &str,
        change: &Change,
    ) -> Result<Option<(Evidence, u64)>> {
        let recorded = commit_change!(self, |tx| {
            let new_blob = sqlx::query(
                    "INSERT INTO blobs (sha256, size_bytes, media_type, object_key, created_at, derivatives)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(&e.sha256)
                .bind(e.size_bytes)
                .bind(&e.media_type)
                .bind(object_key)
                .bind(Ts(e.created_at))
                .bind(Json(&e.derivatives))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            // Queued with the evidence, so no stored photo is left
            // without its derivatives.
            if new_blob && e.derivatives.state == DerivativeState::Pending {
                sqlx::query(ENQUEUE)
                    .bind(DERIVATIVES_JOB)
                    .bind(&e.sha256)
                    .bind(Ts(e.created_at))
                    .execute(&mut *tx)
                    .await?;
            }
            let new_evidence = sqlx::query(
                "INSERT INTO evidence (id, sha256, unit_code, uploader, media_type,
                        declared_media_type, file_name, size_bytes, capture, metadata, signals,
                        attestation, created_at, signal_kinds)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     ON CONFLICT (unit_code, sha256) DO NOTHING",
            )
            .bind(e.id)
            .bind(&e.sha256)
            .bind(&e.unit_code)
            .bind(&e.uploader)
            .bind(&e.media_type)
            .bind(&e.declared_media_type)
            .bind(&e.file_name)
            .bind(e.size_bytes)
            .bind(Json(&e.capture))
            .bind(Json(&e.metadata))
            .bind(Json(&e.signals))
            .bind(Json(&e.attestation))
            .bind(Ts(e.created_at))
            .bind(signals::kinds_text(&e.signals))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let changes = if new_evidence {
                vec![change.clone()]
            } else {
                vec![]
            };
            let sql = format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence_view WHERE unit_code = $1 AND sha256 = $2"
            );
            let row: EvidenceRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&e.unit_code)
                .bind(&e.sha256)
                .fetch_one(&mut *tx)
                .await?;
            let closed = sqlx::query(
                "UPDATE uploads SET evidence_id = $2, committed_offset = size_bytes
                     WHERE id = $1 AND evidence_id IS NULL AND committed_offset = $3",
            )
            .bind(upload)
            .bind(row.id)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if closed != 1 {
                return Ok(Wrote::Nothing(None));
            }
            sqlx::query("DELETE FROM upload_segments WHERE upload_id = $1")
                .bind(upload)
                .execute(&mut *tx)
                .await?;
            let linked = sqlx::query(LINK_EXPECTING_RECORDS)
                .bind(row.id)
                .bind(&row.uploader)
                .bind(Ts(e.created_at))
                .bind(&e.sha256)
                .bind(&e.unit_code)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Ok(Wrote::Changes(Some((Evidence::from(row), linked)), changes))
        })?;
        Ok(recorded)
    }

    /// Removes an upload and its segment records (their objects are the
    /// caller's to delete).
    pub async fn delete_upload(&self, id: Uuid) -> Result<()> {
        on_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                sqlx::query("DELETE FROM upload_segments WHERE upload_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM uploads WHERE id = $1 AND evidence_id IS NULL")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Unfinished uploads whose time ran out.
    pub async fn expired_uploads(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id FROM uploads WHERE evidence_id IS NULL AND expires_at <= $1
                 ORDER BY expires_at LIMIT $2",
            )
            .bind(Ts(now))
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// One page of evidence, newest first, after `cursor` when given.
    pub async fn list_evidence(
        &self,
        f: &EvidenceFilter,
        cursor: Option<EvidenceCursor>,
        limit: usize,
    ) -> Result<Vec<Evidence>> {
        let rows: Vec<EvidenceRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence_view WHERE TRUE"
            ));
            push_unit_filter!(q, &f.unit_codes);
            if let Some(u) = &f.uploader {
                q.push(" AND uploader = ").push_bind(u.clone());
            }
            if let Some(t) = f.created_from {
                q.push(" AND created_at >= ").push_bind(Ts(t));
            }
            if let Some(t) = f.created_before {
                q.push(" AND created_at < ").push_bind(Ts(t));
            }
            if let Some(r) = f.check_record {
                q.push(" AND id IN (SELECT evidence_id FROM evidence_links WHERE subject_kind = 'check_record' AND subject_id = ")
                    .push_bind(r)
                    .push(")");
            }
            if let Some(k) = &f.signal {
                q.push(" AND signal_kinds LIKE ")
                    .push_bind(format!("%,{k},%"));
            }
            if let Some(c) = cursor {
                q.push(" AND (created_at, id) < (")
                    .push_bind(Ts(c.created_at));
                q.push(", ").push_bind(c.id).push(")");
            }
            q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(limit as i64);
            q.build_query_as().fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(Evidence::from).collect())
    }

    /// What the derivatives of a content are made from: its media type and
    /// the metadata read from it.
    pub async fn derivative_source(&self, sha256: &str) -> Result<Option<(String, FileMetadata)>> {
        let row: Option<(String, Json<FileMetadata>)> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT b.media_type, e.metadata FROM blobs b JOIN evidence e ON e.sha256 = b.sha256
                 WHERE b.sha256 = $1 LIMIT 1",
            )
            .bind(sha256)
            .fetch_optional(p)
            .await
        })?;
        Ok(row.map(|(t, m)| (t, m.0)))
    }

    /// Records the outcome of a derivatives job and removes the job, in one
    /// transaction. The hash, when there is one, is indexed by band.
    pub async fn record_derivatives(
        &self,
        sha256: &str,
        d: &Derivatives,
        phash: Option<u64>,
        job: &ClaimedJob,
    ) -> Result<()> {
        on_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                sqlx::query("UPDATE blobs SET derivatives = $2, phash = $3 WHERE sha256 = $1")
                    .bind(sha256)
                    .bind(Json(d))
                    .bind(phash.map(|h| h as i64))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM phash_bands WHERE sha256 = $1")
                    .bind(sha256)
                    .execute(&mut *tx)
                    .await?;
                if let Some(hash) = phash {
                    sqlx::QueryBuilder::new("INSERT INTO phash_bands (sha256, band, value) ")
                        .push_values(derivative::phash_bands(hash), |mut row, (band, value)| {
                            row.push_bind(sha256).push_bind(band).push_bind(value);
                        })
                        .build()
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(FINISH)
                    .bind(DERIVATIVES_JOB)
                    .bind(sha256)
                    .bind(job.attempts)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Contents whose perceptual hash shares a band with `phash`, other
    /// than `sha256` itself, with their hashes.
    pub async fn phash_candidates(&self, sha256: &str, phash: u64) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT DISTINCT b.sha256, b.phash FROM phash_bands pb
                 JOIN blobs b ON b.sha256 = pb.sha256
                 WHERE b.phash IS NOT NULL AND pb.sha256 <> ",
            );
            q.push_bind(sha256.to_string()).push(" AND (");
            for (i, (band, value)) in derivative::phash_bands(phash).into_iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                q.push("(pb.band = ")
                    .push_bind(band)
                    .push(" AND pb.value = ")
                    .push_bind(value)
                    .push(")");
            }
            q.push(")");
            q.build_query_as().fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(|(s, h)| (s, h as u64)).collect())
    }

    /// The perceptual hash of a content, once its derivatives are made.
    pub async fn phash_of(&self, sha256: &str) -> Result<Option<u64>> {
        let row: Option<(Option<i64>,)> = on_pool!(self, |p| {
            sqlx::query_as("SELECT phash FROM blobs WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.and_then(|(h,)| h).map(|h| h as u64))
    }

    /// Whether the original of `sha256`, at `key`, is recorded as stored
    /// bytes or is a segment of an upload other than `except`.
    pub async fn original_in_use(&self, sha256: &str, key: &str, except: Uuid) -> Result<bool> {
        let row: Option<(i32,)> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT 1 FROM blobs WHERE sha256 = $1
                 UNION ALL
                 SELECT 1 FROM upload_segments WHERE object_key = $2 AND upload_id <> $3
                 LIMIT 1",
            )
            .bind(sha256)
            .bind(key)
            .bind(except)
            .fetch_optional(p)
            .await
        })?;
        Ok(row.is_some())
    }
}
