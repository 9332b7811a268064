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
    /// A step the record's state or rules do not allow now.
    #[error("{}", .0.message)]
    FailedPrecondition(Refusal),
    /// A concurrent change won: the caller must re-read and retry.
    #[error("{}", .0.message)]
    Aborted(Refusal),
    /// A chunk was sent past what the server holds of an upload.
    #[error("the server holds {committed} bytes of this upload; send from there")]
    UploadOffset { committed: i64 },
    /// The caller's role or units do not allow it.
    #[error("{}", .0.message)]
    PermissionDenied(Refusal),
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

/// Why a step was refused: a stable reason a client can act on, its
/// details, and a sentence for people. Sent as `google.rpc.ErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub message: String,
    pub metadata: Vec<(&'static str, String)>,
}

/// The reasons a step is refused (FAILED_PRECONDITION) or must be taken
/// again (ABORTED); their names are the API's, listed in common.proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The record's state does not allow the step (`state` in metadata).
    StateDoesNotAllow,
    /// The etag sent is not the record's (`current_etag`, `sent_etag`).
    EtagMismatch,
    /// Another change was committed first: read the record again.
    ChangedMeanwhile,
    UnitDeactivated,
    /// Evidence and record belong to different units.
    UnitMismatch,
    AlreadyOnPublicList,
    NoMajorAccident,
    AlreadyConfirmed,
    ExtensionPending,
    NoExtensionPending,
    NotAnAccident,
    /// 四不放过: conditions still open (`missing` in metadata).
    AccidentConditionsOpen,
    DerivativesNotReady,
    MergeTargetNotOpen,
    MergeTargetHasMerges,
    UploadFinished,
    UploadIncomplete,
    UploadChanged,
    CallEnded,
    ObjectChanged,
    CampaignClosed,
    NoFurtherStage,
    AnonymousPetition,
    SiteVisitRequired,
    FeedbackRequired,
    NotAKeyPetition,
    AlreadySpotChecked,
    PetitionNotDispatched,
    /// PERMISSION_DENIED: the caller's role may not do this.
    RoleNotAllowed,
    /// PERMISSION_DENIED: the unit named is outside the caller's units.
    UnitOutOfScope,
    /// PERMISSION_DENIED: who entered a record does not confirm it.
    SamePerson,
    /// PERMISSION_DENIED: a record is confirmed by the other group.
    SameGroup,
    /// PERMISSION_DENIED: a download link's signature does not hold.
    LinkInvalid,
    /// PERMISSION_DENIED: a download link has expired.
    LinkExpired,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            StateDoesNotAllow => "STATE_DOES_NOT_ALLOW",
            EtagMismatch => "ETAG_MISMATCH",
            ChangedMeanwhile => "CHANGED_MEANWHILE",
            UnitDeactivated => "UNIT_DEACTIVATED",
            UnitMismatch => "UNIT_MISMATCH",
            AlreadyOnPublicList => "ALREADY_ON_PUBLIC_LIST",
            NoMajorAccident => "NO_MAJOR_ACCIDENT",
            AlreadyConfirmed => "ALREADY_CONFIRMED",
            ExtensionPending => "EXTENSION_PENDING",
            NoExtensionPending => "NO_EXTENSION_PENDING",
            NotAnAccident => "NOT_AN_ACCIDENT",
            AccidentConditionsOpen => "ACCIDENT_CONDITIONS_OPEN",
            DerivativesNotReady => "DERIVATIVES_NOT_READY",
            MergeTargetNotOpen => "MERGE_TARGET_NOT_OPEN",
            MergeTargetHasMerges => "MERGE_TARGET_HAS_MERGES",
            UploadFinished => "UPLOAD_FINISHED",
            UploadIncomplete => "UPLOAD_INCOMPLETE",
            UploadChanged => "UPLOAD_CHANGED",
            CallEnded => "CALL_ENDED",
            ObjectChanged => "OBJECT_CHANGED",
            CampaignClosed => "CAMPAIGN_CLOSED",
            NoFurtherStage => "NO_FURTHER_STAGE",
            AnonymousPetition => "ANONYMOUS_PETITION",
            SiteVisitRequired => "SITE_VISIT_REQUIRED",
            FeedbackRequired => "FEEDBACK_REQUIRED",
            NotAKeyPetition => "NOT_A_KEY_PETITION",
            AlreadySpotChecked => "ALREADY_SPOT_CHECKED",
            PetitionNotDispatched => "PETITION_NOT_DISPATCHED",
            RoleNotAllowed => "ROLE_NOT_ALLOWED",
            UnitOutOfScope => "UNIT_OUT_OF_SCOPE",
            SamePerson => "SAME_PERSON",
            SameGroup => "SAME_GROUP",
            LinkInvalid => "LINK_INVALID",
            LinkExpired => "LINK_EXPIRED",
        }
    }
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

    /// A step refused by a rule (FAILED_PRECONDITION).
    pub fn refused(reason: Reason, message: impl Into<String>) -> Self {
        Error::FailedPrecondition(Refusal {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        })
    }

    /// Not for this caller (PERMISSION_DENIED).
    pub fn denied(reason: Reason, message: impl Into<String>) -> Self {
        Error::PermissionDenied(Refusal {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        })
    }

    /// A step to take again after reading anew (ABORTED).
    pub fn conflict(reason: Reason, message: impl Into<String>) -> Self {
        Error::Aborted(Refusal {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        })
    }

    /// A version-checked write that lost to a change committed first.
    pub fn changed_meanwhile(what: impl std::fmt::Display) -> Self {
        Error::conflict(
            Reason::ChangedMeanwhile,
            format!("{what} was changed by someone else meanwhile; read it again"),
        )
    }

    /// Adds a detail to a refusal; other errors are left as they are.
    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        if let Error::FailedPrecondition(r) | Error::Aborted(r) | Error::PermissionDenied(r) =
            &mut self
        {
            r.metadata.push((key, value.to_string()));
        }
        self
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{context}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
