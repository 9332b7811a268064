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

/// The refusal of a step that must be refused with `code`, saying `says`
/// and naming its reason in the API's domain.
pub fn refused<T: std::fmt::Debug>(
    r: Result<T, tonic::Status>,
    code: Code,
    says: &str,
) -> tonic::Status {
    let e = r.expect_err("the step should be refused");
    assert_eq!(e.code(), code, "{e:?}");
    assert!(
        e.message().contains(says),
        "{:?} does not say {says:?}",
        e.message()
    );
    // Every refusal names its reason for programs, in the API's domain.
    let info = e.get_details_error_info().expect("a reason (ErrorInfo)");
    assert_eq!(info.domain, "ducha.v1");
    assert!(!info.reason.is_empty());
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
