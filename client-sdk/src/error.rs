use std::time::Duration;

use tonic::Status;
use tonic_types::StatusExt;

/// What can go wrong when connecting or calling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(String),
    #[error("cannot connect: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The server's answer, with its details (field violations, retry info).
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] Status),
    #[error("not signed in: call login first, or build the client with a token")]
    NotSignedIn,
    #[error("reading or writing a local file: {0}")]
    Io(std::io::Error),
}

impl Error {
    /// The gRPC status, if the server answered.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Status(s) => Some(s),
            _ => None,
        }
    }

    /// The server's stable reason (google.rpc.ErrorInfo), e.g.
    /// `STATE_DOES_NOT_ALLOW` or `ETAG_MISMATCH`: what a program decides
    /// by, where the message is for people.
    pub fn reason(&self) -> Option<String> {
        self.status().and_then(reason)
    }
}

/// The stable reason of a status, when the server gave one.
pub fn reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|i| i.reason)
}

/// The details of a status's reason (e.g. `state`, `current_etag`).
pub fn reason_metadata(status: &Status) -> std::collections::HashMap<String, String> {
    status
        .get_details_error_info()
        .map(|i| i.metadata)
        .unwrap_or_default()
}

/// One offending request field, as reported in an INVALID_ARGUMENT answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// The field violations (google.rpc.BadRequest) carried by a status.
pub fn field_violations(status: &Status) -> Vec<FieldViolation> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How long the server asks the caller to wait (google.rpc.RetryInfo).
pub fn retry_after(status: &Status) -> Option<Duration> {
    status.get_details_retry_info().and_then(|r| r.retry_delay)
}

/// Whether a failed call is worth trying again once the connection is
/// back: the server was unavailable or the connection broke (which the
/// channel reports as UNAVAILABLE). INTERNAL, UNKNOWN and CANCELLED are
/// answers, not outages, and are not retried.
pub(crate) fn transient(s: &Status) -> bool {
    s.code() == tonic::Code::Unavailable
}
