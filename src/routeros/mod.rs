//! The RouterOS API: the pure wire codec ([`wire`]), the pure part of the
//! legacy login ([`login`]), and the blocking client that speaks them over
//! a TCP socket ([`client`]).

pub mod client;
pub mod login;
pub mod wire;
