//! TLS for the SSL and SASL_SSL listeners, through rustls: the server's certificate
//! (`certificate.rs`: from PEM files, or a CA and a certificate made at startup) and the
//! handshake on each accepted socket (`accept.rs`), after which the connection code sees
//! just another byte stream.

mod accept;
mod certificate;

pub(crate) use accept::accept;
pub use certificate::TlsError;
pub(crate) use certificate::setup;
