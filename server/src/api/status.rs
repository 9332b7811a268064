//! The one place where the server's error becomes a gRPC status.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::Error;

/// The one ErrorInfo domain of the API.
pub const DOMAIN: &str = "ducha.v1";

fn info(reason: &str, metadata: impl IntoIterator<Item = (String, String)>) -> ErrorDetails {
    let metadata: std::collections::HashMap<String, String> = metadata.into_iter().collect();
    ErrorDetails::with_error_info(reason, DOMAIN, metadata)
}

fn with_info(code: Code, message: String, reason: &str) -> Status {
    Status::with_error_details(code, message, info(reason, []))
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::InvalidArgument(violations) => {
                let message = Error::InvalidArgument(violations.clone()).to_string();
                let mut details = info("INVALID_ARGUMENT", []);
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::NotFound(what) => Status::with_error_details(
                Code::NotFound,
                format!("{what} not found"),
                info("NOT_FOUND", [("resource".to_string(), what)]),
            ),
            Error::AlreadyExists(m) => with_info(Code::AlreadyExists, m, "ALREADY_EXISTS"),
            Error::FailedPrecondition(r) => refusal(Code::FailedPrecondition, r),
            Error::Aborted(r) => refusal(Code::Aborted, r),
            e @ Error::UploadOffset { committed } => {
                let details = info(
                    "UPLOAD_OFFSET_MISMATCH",
                    [("committed_offset".to_string(), committed.to_string())],
                );
                Status::with_error_details(Code::Aborted, e.to_string(), details)
            }
            Error::PermissionDenied(r) => refusal(Code::PermissionDenied, r),
            Error::Unauthenticated(m) => with_info(Code::Unauthenticated, m, "UNAUTHENTICATED"),
            Error::ResourceExhausted {
                message,
                retry_after,
            } => {
                let mut details = info("RATE_LIMITED", []);
                if let Some(d) = retry_after {
                    details.set_retry_info(Some(d));
                }
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            e @ Error::MessageTooLarge { bytes, limit } => {
                let details = info(
                    MESSAGE_TOO_LARGE,
                    [
                        ("limit_bytes".to_string(), limit.to_string()),
                        ("message_bytes".to_string(), bytes.to_string()),
                    ],
                );
                Status::with_error_details(Code::ResourceExhausted, e.to_string(), details)
            }
            Error::Unavailable(m) => with_info(Code::Unavailable, m, "UNAVAILABLE"),
            Error::Internal(e) => {
                // The cause goes to the log, not to the caller.
                tracing::error!(error = format!("{e:#}"), "internal error");
                with_info(
                    Code::Internal,
                    "internal error; the server log has the details".into(),
                    "INTERNAL",
                )
            }
        }
    }
}

/// A refused step: its reason and details as ErrorInfo.
fn refusal(code: Code, r: crate::error::Refusal) -> Status {
    let metadata = r.metadata.into_iter().map(|(k, v)| (k.to_string(), v));
    Status::with_error_details(code, r.message, info(r.reason.as_str(), metadata))
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
