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
            e @ Error::MessageTooLarge { bytes, limit } => {
                let details = ErrorDetails::with_error_info(
                    MESSAGE_TOO_LARGE,
                    "ducha.v1",
                    [
                        ("limit_bytes".to_string(), limit.to_string()),
                        ("message_bytes".to_string(), bytes.to_string()),
                    ],
                );
                Status::with_error_details(Code::ResourceExhausted, e.to_string(), details)
            }
            Error::Unavailable(m) => Status::unavailable(m),
            Error::Internal(e) => {
                // The cause goes to the log, not to the caller.
                tracing::error!(error = format!("{e:#}"), "internal error");
                Status::internal("internal error; the server log has the details")
            }
        }
    }
}

const MESSAGE_TOO_LARGE: &str = "MESSAGE_TOO_LARGE";

/// The error a request stream ended with: its own refusal when the
/// message limit ended it, otherwise a broken stream.
pub fn stream_error(s: &Status) -> Error {
    if let Some(info) = s.get_details_error_info()
        && info.reason == MESSAGE_TOO_LARGE
    {
        let number = |k: &str| {
            info.metadata
                .get(k)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        return Error::MessageTooLarge {
            bytes: number("message_bytes"),
            limit: number("limit_bytes"),
        };
    }
    Error::Unavailable(format!("the stream broke: {}", s.message()))
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
        Error::MessageTooLarge { .. } => S::PAYLOAD_TOO_LARGE,
        Error::Unavailable(_) => S::SERVICE_UNAVAILABLE,
        Error::Internal(_) => S::INTERNAL_SERVER_ERROR,
    }
}
