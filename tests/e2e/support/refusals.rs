//! What a refused call says: the fields an INVALID_ARGUMENT names, and the
//! reason every refusal gives programs.

use tonic::Code;
use tonic_types::StatusExt;

/// The field names of an INVALID_ARGUMENT answer.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    ducha_sdk::field_violations(status)
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The refusal of a call that must be refused with `code` for `reason`,
/// the stable name a program decides by (its ErrorInfo, in the API's
/// domain); the message is for people and is not what a test checks.
pub fn refused<T: std::fmt::Debug>(
    r: Result<T, tonic::Status>,
    code: Code,
    reason: &str,
) -> tonic::Status {
    let e = r.expect_err("the call should be refused");
    assert_eq!(e.code(), code, "{e:?}");
    let info = e.get_details_error_info().expect("a reason (ErrorInfo)");
    assert_eq!(info.domain, "ducha.v1");
    assert_eq!(info.reason, reason, "{e:?}");
    e
}

/// `refused`, with the detail `key` of the refusal being `value` (the
/// current state, the caller's role, the current etag).
pub fn refused_with<T: std::fmt::Debug>(
    r: Result<T, tonic::Status>,
    code: Code,
    reason: &str,
    key: &str,
    value: &str,
) -> tonic::Status {
    let e = refused(r, code, reason);
    assert_eq!(reason_of(&e, key).1, value, "{key} of {e:?}");
    e
}

/// The reason a refusal gives, and one of its details.
pub fn reason_of(e: &tonic::Status, key: &str) -> (String, String) {
    (
        ducha_sdk::reason(e).unwrap_or_default(),
        ducha_sdk::reason_metadata(e)
            .remove(key)
            .unwrap_or_default(),
    )
}
