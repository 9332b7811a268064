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

/// The duration of a `grpc-timeout` header value (at most 8 digits and a
/// unit, PROTOCOL-HTTP2.md); None when it is malformed, which gRPC peers
/// treat as no deadline.
pub fn parse_grpc_timeout(value: &str) -> Option<std::time::Duration> {
    use std::time::Duration;
    if !(2..=9).contains(&value.len()) {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn grpc_timeouts_are_read_as_the_protocol_writes_them() {
        let cases = [
            ("5S", Some(Duration::from_secs(5))),
            ("250m", Some(Duration::from_millis(250))),
            ("2H", Some(Duration::from_secs(7200))),
            ("99999999u", Some(Duration::from_micros(99_999_999))),
            ("100n", Some(Duration::from_nanos(100))),
            ("1M", Some(Duration::from_secs(60))),
            ("123456789S", None),
            ("5", None),
            ("5s", None),
            ("xS", None),
            ("+5S", None),
        ];
        for (header, want) in cases {
            assert_eq!(parse_grpc_timeout(header), want, "{header}");
        }
    }

    #[test]
    fn each_method_has_its_rules() {
        let login = method_rules("/ducha.v1.AuthService/Login").unwrap();
        assert!(login.public);
        let write = method_rules("/ducha.v1.EvidenceService/WriteUpload").unwrap();
        assert!(write.client_streaming && !write.public);
        assert_eq!(write.retry, Retry::Never);
        assert!(method_rules("/ducha.v1.AuthService/Nothing").is_none());
    }
}
