//! Ducha (督查): the evidence and case system of a city's ecological-
//! environment inspection programme.
//!
//! Layers, each depending only on those below it:
//! `api` (gRPC) → `app` (use cases) → `domain` (rules, no I/O), with
//! `store` (SQL), `blob` (object storage) and `auth` (tokens, passwords)
//! beneath `app`.

pub mod api;
pub mod app;
pub mod auth;
pub mod blob;
#[cfg(test)]
mod boundaries;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod health;
pub mod media;
pub mod server;
pub mod store;
pub mod telemetry;
