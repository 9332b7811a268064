//! Types, rules and validation of the inspection programme. No I/O here, and
//! nothing of gRPC or SQL: the api layer converts to and from these types.

mod text_enum;

pub mod access;
pub mod accountability;
pub mod assessment;
pub mod attestation;
pub mod audit;
pub mod calendar;
pub mod campaign;
pub mod capture;
pub mod check;
pub mod credit_code;
pub mod derivative;
pub mod download;
pub mod enterprise;
pub mod etag;
pub mod event;
pub mod evidence;
pub mod feedback;
pub mod finding;
pub mod geo;
pub mod id;
pub mod masking;
pub mod page;
pub mod petition;
pub mod rectification;
pub mod signals;
pub mod statistics;
pub mod supervision;
pub mod unit;
pub mod validate;
pub mod verification;
pub mod webhook;
pub mod workflow;
