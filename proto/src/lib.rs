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
