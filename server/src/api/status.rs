//! The one place where the server's error becomes a gRPC status.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::Error;

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::InvalidArgument(violations) => {
                let message = Error::InvalidArgument(violations.clone()).to_string();
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::NotFound(what) => Status::not_found(format!("{what} not found")),
            Error::AlreadyExists(m) => Status::already_exists(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::Aborted(m) => Status::aborted(m),
            e @ Error::UploadOffset { committed } => {
                let details = ErrorDetails::with_error_info(
                    "UPLOAD_OFFSET_MISMATCH",
                    "ducha.v1",
                    [("committed_offset".to_string(), committed.to_string())],
                );
                Status::with_error_details(Code::Aborted, e.to_string(), details)
            }
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::Unauthenticated(m) => Status::unauthenticated(m),
            Error::ResourceExhausted {
                message,
                retry_after,
            } => match retry_after {
                Some(d) => Status::with_error_details(
                    Code::ResourceExhausted,
                    message,
                    ErrorDetails::with_retry_info(Some(d)),
                ),
                None => Status::resource_exhausted(message),
            },
            Error::Unavailable(m) => Status::unavailable(m),
            Error::Internal(e) => {
                // The cause goes to the log, not to the caller.
                tracing::error!(error = format!("{e:#}"), "internal error");
                Status::internal("internal error; the server log has the details")
            }
        }
    }
}

/// The same mapping for the plain HTTP answers of download links.
pub fn http_status(e: &Error) -> http::StatusCode {
    use http::StatusCode as S;
    match e {
        Error::InvalidArgument(_) => S::BAD_REQUEST,
        Error::NotFound(_) => S::NOT_FOUND,
        Error::AlreadyExists(_) | Error::Aborted(_) | Error::UploadOffset { .. } => S::CONFLICT,
        Error::FailedPrecondition(_) => S::CONFLICT,
        Error::PermissionDenied(_) => S::FORBIDDEN,
        Error::Unauthenticated(_) => S::UNAUTHORIZED,
        Error::ResourceExhausted { .. } => S::TOO_MANY_REQUESTS,
        Error::Unavailable(_) => S::SERVICE_UNAVAILABLE,
        Error::Internal(_) => S::INTERNAL_SERVER_ERROR,
    }
}
