//! The client's side of SCRAM (RFC 5802), written from the RFC independently of the
//! server's code in `scram.rs`: what a client that knows a password sends as its
//! client-final message. For the unit tests and the SASL fuzz target, which check the
//! server against it; the broker itself never plays the client.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::scram::ScramHash;

/// The client-final message (`c=biws,r=NONCE,p=PROOF`) a client knowing `password` sends
/// after its `client_first_bare` (`n=USER,r=NONCE`) was answered with `server_first`
/// (`r=NONCE,s=SALT,i=ITERATIONS`), or `None` if `server_first` is not one.
pub(crate) fn client_final(
    hash: ScramHash,
    password: &str,
    client_first_bare: &str,
    server_first: &str,
) -> Option<String> {
    let mut fields = server_first.split(',');
    let nonce = fields.next()?.strip_prefix("r=")?;
    let salt = BASE64.decode(fields.next()?.strip_prefix("s=")?).ok()?;
    let iterations: u32 = fields.next()?.strip_prefix("i=")?.parse().ok()?;
    let salted = hash.salted_password(password, &salt, iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let stored_key = hash.hash(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hash.hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    Some(format!("{without_proof},p={}", BASE64.encode(proof)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::scram::{ClientFirst, ScramCredential, ServerFirst};

    #[test]
    fn a_wrong_password_or_nonce_or_binding_is_refused() {
        let credential = ScramCredential::derive(ScramHash::Sha512, "right", b"salt", 4096);
        let first = ClientFirst::parse(b"n,,n=alice,r=abc").unwrap();
        let server_first = ServerFirst::new(first, "XYZ", &credential);
        let sent = std::str::from_utf8(server_first.message())
            .unwrap()
            .to_string();
        let good = client_final(ScramHash::Sha512, "right", "n=alice,r=abc", &sent).unwrap();
        assert!(
            server_first
                .finish(ScramHash::Sha512, &credential, good.as_bytes())
                .is_ok()
        );
        let wrong = client_final(ScramHash::Sha512, "wrong", "n=alice,r=abc", &sent).unwrap();
        let refusal = server_first
            .finish(ScramHash::Sha512, &credential, wrong.as_bytes())
            .unwrap_err();
        assert!(refusal.contains("invalid client credentials"), "{refusal}");
        let repeated = good.replace("r=abcXYZ", "r=abcabcXYZ");
        let refusal = server_first.finish(ScramHash::Sha512, &credential, repeated.as_bytes());
        assert!(refusal.unwrap_err().contains("invalid client credentials"));
        let other_nonce = good.replace("r=abcXYZ", "r=abcXY");
        let refusal = server_first
            .finish(ScramHash::Sha512, &credential, other_nonce.as_bytes())
            .unwrap_err();
        assert!(refusal.contains("nonce"), "{refusal}");
        let other_binding = good.replace("c=biws", "c=eSws");
        let refusal = server_first
            .finish(ScramHash::Sha512, &credential, other_binding.as_bytes())
            .unwrap_err();
        assert!(refusal.contains("channel binding"), "{refusal}");
    }
}
