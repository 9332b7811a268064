//! End-to-end tests: a real server on a loopback port, driven through the
//! SDK, on SQLite, and on PostgreSQL when DUCHA_TEST_DATABASE_URL is set.

mod accountability;
mod auth;
mod blob;
mod broken_uploads;
mod campaigns;
mod checks;
mod cli;
mod corpus;
mod derivatives;
mod enterprises;
mod events;
mod evidence;
mod evidence_links;
mod ledger;
mod lossy_link;
mod object_checksums;
mod outages;
mod petitions;
mod rectification;
mod refusals;
mod schema_parity;
mod sdk;
mod server;
mod supervision;
mod support;
mod units;
