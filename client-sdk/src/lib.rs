//! Client SDK for the Ducha gRPC API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ducha_sdk::Error> {
//! let client = ducha_sdk::Client::connect("http://127.0.0.1:50051").await?;
//! client.login("alice", "correct horse battery").await?;
//! let units = client.units().list_units(ducha_sdk::pb::ListUnitsRequest::default()).await?;
//! # Ok(()) }
//! ```
//!
//! After `login`, every call carries a valid access token: the client
//! refreshes it shortly before it expires, without the caller noticing.
//! Errors are `tonic::Status` values with their details intact; see
//! [`field_violations`] and [`retry_after`]. Each unary call has an overall
//! deadline, and one that failed with UNAVAILABLE is sent again when the
//! contract marks it safe to repeat; see [`CallPolicy`].

mod channel;
mod client;
mod error;
mod events;
mod upload;

pub use channel::{AuthChannel, CallPolicy};
pub use client::{Client, ClientBuilder};
pub use error::{Error, FieldViolation, field_violations, reason, reason_metadata, retry_after};
pub use upload::{Progress, UploadMetadata, UploadOptions, attestation_payload};

pub use ducha_proto::v1 as pb;
pub use ducha_proto::{prost_types, tonic};
