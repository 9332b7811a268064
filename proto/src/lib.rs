//! Generated code of the `ducha.v1` contract, shared by the server and the
//! SDK. Re-exports tonic and prost so that users build against the same
//! versions the code was generated for.

pub use prost;
pub use prost_types;
pub use tonic;

/// Package `ducha.v1`: messages, clients (`*_client`) and servers (`*_server`).
pub mod v1 {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("ducha.v1");
}

/// Encoded `FileDescriptorSet` of `ducha.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ducha_v1_descriptor");

/// When a call of a method may be sent again after it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The method changes state each time it runs.
    Never,
    /// Reads, and writes that have the same effect however often they run.
    Always,
    /// A create that is idempotent when its request carries a request id,
    /// the field with this number.
    WithRequestId(u32),
}

/// How a method may be called, as its options in the contract say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodRules {
    /// `/ducha.v1.Service/Method`, as in the HTTP/2 path of a call.
    pub path: &'static str,
    /// Needs no access token (the `ducha.v1.public` option).
    pub public: bool,
    pub retry: Retry,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

include!(concat!(env!("OUT_DIR"), "/ducha_v1_methods.rs"));

/// The rules of the method at `path`, if it is one of `ducha.v1`.
pub fn method_rules(path: &str) -> Option<&'static MethodRules> {
    METHODS.iter().find(|m| m.path == path)
}
