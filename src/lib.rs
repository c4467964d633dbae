//! mt-trafmon as a library: the modules behind the `mt-trafmon` binary,
//! public so that the integration tests and the `routeros-sim` binary can use
//! the RouterOS codec, client and simulator. No API stability is promised.

pub mod acl;
pub mod auth;
pub mod cli;
pub mod collector;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod files;
pub mod graph;
pub mod health;
pub mod import_ini;
pub mod logger;
pub mod order;
pub mod query;
pub mod routeros;
pub mod rrd;
pub mod secret;
pub mod sim;
pub mod stop;
pub mod store;
pub mod text;
pub mod tz;
pub mod web;
pub mod wizard;
