//! The web side of mt-trafmon. Today only [`acl`], the allow-list and the
//! client address it applies to; the server (`tiny_http` on a fixed pool of
//! threads), the routing table and the compiled-in pages are the web issue's
//! work (see `ARCHITECTURE.md`, planned modules).

pub mod acl;
