//! The one error type of the server. Every layer returns it; `api::status`
//! maps it to a gRPC status in one place.

use std::time::Duration;

/// One offending field of a request, named by its path in the request
/// message (e.g. `check_record.location.latitude`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent change won: the caller must re-read and retry.
    #[error("{0}")]
    Aborted(String),
    /// A chunk was sent past what the server holds of an upload.
    #[error("the server holds {committed} bytes of this upload; send from there")]
    UploadOffset { committed: i64 },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{message}")]
    ResourceExhausted {
        message: String,
        retry_after: Option<Duration>,
    },
    /// A request message over its method's limit.
    #[error("a request message of {bytes} bytes is over the limit of {limit} bytes")]
    MessageTooLarge { bytes: usize, limit: usize },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn describe(v: &[FieldViolation]) -> String {
    v.iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A single field violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{context}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
