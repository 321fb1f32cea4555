//! Black-box tests through HTTP. Each test starts its own service on its own database: a
//! temporary SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used)]

mod access;
mod as_of;
mod audit;
mod auth;
mod bodies;
mod cli;
mod concurrency;
mod errors;
mod export_memory;
mod health;
mod helpers;
mod idempotency;
mod invitations;
mod items;
mod ledger;
mod mail;
mod model;
mod openapi;
mod operations;
mod password_reset;
mod rates;
mod recertification;
mod reminders;
mod reports;
mod resilience;
mod secrets;
mod separation;
mod smtp_sink;
mod sources;
mod tokens;
mod upgrade;
mod users;
mod web;
mod web_access;
mod web_account;
mod web_certifications;
mod web_client;
mod web_counts;
mod web_downloads;
mod web_filters;
mod web_items;
mod web_reports;
mod workshops;
