//! Types, rules and validation of the inspection programme. No I/O here, and
//! nothing of gRPC or SQL: the api layer converts to and from these types.

pub mod access;
pub mod attestation;
pub mod check;
pub mod credit_code;
pub mod derivative;
pub mod download;
pub mod evidence;
pub mod geo;
pub mod page;
pub mod signals;
pub mod unit;
pub mod validate;
