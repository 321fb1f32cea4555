//! sme-ledger: the continuing-education credit ledger of a certification program's exam
//! authors. See the README for the architecture map.

pub mod app;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod downloads;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod idempotency;
pub mod ledger;
pub mod mail;
pub mod metrics;
pub mod params;
pub mod private_files;
pub mod reports;
pub mod seed;
pub mod sources;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;

pub use startup::Application;
