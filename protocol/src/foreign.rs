//! Recognising a peer that speaks another protocol, from the first bytes it sent, so that a
//! client pointed at the wrong port (or a TLS client at a plaintext listener) hears what is wrong
//! instead of a size that makes no sense.
//!
//! Only consulted once the bytes already fail to be ours (a size out of bounds, a bad frame
//! magic), so valid traffic is never second-guessed.

use std::fmt;

/// A protocol recognised at the start of a peer's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Foreign {
    /// HTTP: a request (`GET /…`) or a response (`HTTP/1.1 …`).
    Http,
    /// A TLS record: a client hello, a server's handshake or an alert.
    Tls,
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Foreign::Http => "HTTP",
            Foreign::Tls => "TLS",
        })
    }
}

/// HTTP methods and the response's version, as their first bytes.
const HTTP_STARTS: [&[u8]; 9] = [
    b"HTTP/",
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
];

/// The protocol `first` (a peer's first bytes, at least four to tell) starts with, if it is one
/// of those recognised.
pub fn recognise(first: &[u8]) -> Option<Foreign> {
    if HTTP_STARTS
        .iter()
        .any(|start| first.len() >= 4 && start.starts_with(&first[..first.len().min(start.len())]))
    {
        return Some(Foreign::Http);
    }
    // A TLS record: content type (change cipher spec, alert, handshake, application data),
    // then the major version 3 and a minor version up to 4.
    if let [0x14..=0x17, 0x03, 0..=0x04, ..] = *first {
        return Some(Foreign::Tls);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_tls_are_told_from_their_first_bytes() {
        assert_eq!(
            recognise(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(Foreign::Http)
        );
        assert_eq!(recognise(b"GET /stats HTTP/1.1\r\n"), Some(Foreign::Http));
        assert_eq!(recognise(b"POST"), Some(Foreign::Http));
        // A TLS 1.2 client hello and a TLS alert.
        assert_eq!(
            recognise(&[0x16, 0x03, 0x01, 0x02, 0x00]),
            Some(Foreign::Tls)
        );
        assert_eq!(
            recognise(&[0x15, 0x03, 0x03, 0x00, 0x02]),
            Some(Foreign::Tls)
        );
    }

    #[test]
    fn our_own_bytes_and_too_few_are_not_foreign() {
        assert_eq!(recognise(b"KFRM\x01"), None);
        assert_eq!(recognise(&[0, 0, 0, 42, 0, 18]), None);
        assert_eq!(recognise(b"GE"), None, "two bytes do not tell");
        assert_eq!(recognise(&[0x16, 0x05, 0, 0]), None, "no TLS version 5");
    }
}
