//! SCRAM (RFC 5802, with SHA-256 per RFC 7677 and SHA-512 as Kafka has it), the server's
//! side: the stored credential, the messages, and the proofs.
//!
//! As Kafka's `ScramSaslServer`: the final nonce must end with the server-first nonce
//! (librdkafka repeats its own nonce in front), no channel binding (the GS2 header is `n,,` or
//! `n,a=NAME,`), the authorization id, if any, must be the user name, and extensions
//! other than `tokenauth` are ignored (delegation tokens are not served).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    pub(super) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    pub(super) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with HMAC of this hash.
    pub(super) fn salted_password(self, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password.as_bytes(), salt, iterations)
                    .to_vec()
            }
            ScramHash::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password.as_bytes(), salt, iterations)
                    .to_vec()
            }
        }
    }
}

/// What the server keeps of a password for SCRAM: never the password itself.
#[derive(Clone)]
pub(crate) struct ScramCredential {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl ScramCredential {
    /// The credential of `password` salted with `salt` over `iterations`.
    pub(crate) fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> Self {
        let salted = hash.salted_password(password, salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }
}

/// Why a SCRAM message was refused: for the log, never for the client.
pub(crate) type Refusal = String;

/// The client's first message, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFirst {
    /// The GS2 header, as sent (`n,,` or `n,a=NAME,`): the final message's `c=` repeats it.
    gs2_header: String,
    /// The authorization id, empty when none.
    pub(crate) authzid: String,
    /// The user name, with `=2C` and `=3D` decoded.
    pub(crate) user: String,
    client_nonce: String,
    /// The message after the GS2 header: part of the signed AuthMessage.
    bare: String,
    /// Whether the client asked for delegation-token authentication (`tokenauth=true`).
    pub(crate) token_auth: bool,
}

impl ClientFirst {
    /// Parses `gs2-header client-first-bare`.
    pub(crate) fn parse(message: &[u8]) -> Result<ClientFirst, Refusal> {
        let text = std::str::from_utf8(message)
            .map_err(|_| "the client-first message is not UTF-8".to_string())?;
        let Some(after_flag) = text.strip_prefix("n,") else {
            return Err(format!(
                "the client-first message {text:?} does not start with \"n,\" (channel binding is not supported)"
            ));
        };
        let (authzid_part, bare) = after_flag
            .split_once(',')
            .ok_or_else(|| format!("the client-first message {text:?} has no GS2 header"))?;
        let authzid = match authzid_part {
            "" => String::new(),
            part => match part.strip_prefix("a=") {
                Some(name) => decode_sasl_name(name)?,
                None => return Err(format!("bad authorization id field {part:?}")),
            },
        };
        let gs2_header = format!("n,{authzid_part},");
        let mut fields = bare.split(',');
        let user = match fields.next().and_then(|f| f.strip_prefix("n=")) {
            Some(name) if !name.is_empty() => decode_sasl_name(name)?,
            _ => {
                return Err(format!(
                    "the client-first message {text:?} has no user (n=)"
                ));
            }
        };
        let client_nonce = match fields.next().and_then(|f| f.strip_prefix("r=")) {
            Some(nonce) if valid_nonce(nonce) => nonce.to_string(),
            _ => {
                return Err(format!(
                    "the client-first message {text:?} has no valid nonce (r=)"
                ));
            }
        };
        let token_auth = fields.any(|f| f == "tokenauth=true");
        Ok(ClientFirst {
            gs2_header,
            authzid,
            user,
            client_nonce,
            bare: bare.to_string(),
            token_auth,
        })
    }
}

/// The server's first message, and what the final step needs to remember.
#[derive(Debug, Clone)]
pub(crate) struct ServerFirst {
    client_first: ClientFirst,
    /// Client nonce then server nonce: the final message must carry exactly this.
    nonce: String,
    message: String,
}

impl ServerFirst {
    /// The server-first message for `client_first`, with the server's part of the nonce.
    pub(crate) fn new(
        client_first: ClientFirst,
        server_nonce: &str,
        credential: &ScramCredential,
    ) -> ServerFirst {
        let nonce = format!("{}{server_nonce}", client_first.client_nonce);
        let message = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        ServerFirst {
            client_first,
            nonce,
            message,
        }
    }

    /// The bytes sent to the client.
    pub(crate) fn message(&self) -> &[u8] {
        self.message.as_bytes()
    }

    /// The user the exchange is for.
    pub(crate) fn user(&self) -> &str {
        &self.client_first.user
    }

    /// Checks the client's final message against `credential`; the server-final message
    /// (`v=` the server signature) when the proof holds.
    pub(crate) fn finish(
        &self,
        hash: ScramHash,
        credential: &ScramCredential,
        message: &[u8],
    ) -> Result<Vec<u8>, Refusal> {
        let text = std::str::from_utf8(message)
            .map_err(|_| "the client-final message is not UTF-8".to_string())?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| format!("the client-final message {text:?} has no proof (p=)"))?;
        let mut fields = without_proof.split(',');
        let binding = fields
            .next()
            .and_then(|f| f.strip_prefix("c="))
            .ok_or_else(|| {
                format!("the client-final message {text:?} has no channel binding (c=)")
            })?;
        if BASE64.decode(binding).ok().as_deref() != Some(self.client_first.gs2_header.as_bytes()) {
            return Err(format!(
                "the channel binding c={binding} is not the client-first message's GS2 header {:?}",
                self.client_first.gs2_header
            ));
        }
        let nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .ok_or_else(|| format!("the client-final message {text:?} has no nonce (r=)"))?;
        // Kafka long accepted any nonce that ends with the server-first nonce, and
        // librdkafka (kcat, confluent-kafka) relies on it: it sends its own nonce again
        // in front of the combined one. Anything else is refused.
        if !nonce.ends_with(&self.nonce) {
            return Err(format!(
                "invalid client nonce in the final client message: {nonce:?} does not end with the server-first message's {:?}",
                self.nonce
            ));
        }
        let proof = BASE64
            .decode(proof)
            .map_err(|_| format!("the client proof {proof:?} is not base64"))?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first.bare, self.message
        );
        let client_signature = hash.hmac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(format!(
                "the client proof has {} bytes; {} expected",
                proof.len(),
                client_signature.len()
            ));
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        if !same_bytes(&hash.hash(&client_key), &credential.stored_key) {
            return Err(format!(
                "invalid client credentials: the proof does not match user {:?}'s password",
                self.client_first.user
            ));
        }
        let server_signature = hash.hmac(&credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", BASE64.encode(server_signature)).into_bytes())
    }
}

/// Compares without stopping at the first difference, so the time taken says nothing
/// about how much of a secret matched.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 5802's saslname: `=2C` is `,` and `=3D` is `=`; any other `=` is malformed.
fn decode_sasl_name(name: &str) -> Result<String, Refusal> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3);
        match escape {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => {
                return Err(format!(
                    "the name {name:?} has a bad escape (only =2C and =3D)"
                ));
            }
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Printable ASCII except `,`, as RFC 5802 says of a nonce.
fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7677_example_exchange() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential = ScramCredential::derive(ScramHash::Sha256, "pencil", &salt, 4096);
        let first = ClientFirst::parse(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        let server_first = ServerFirst::new(first, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", &credential);
        assert_eq!(
            std::str::from_utf8(server_first.message()).unwrap(),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let server_final = server_first
            .finish(
                ScramHash::Sha256,
                &credential,
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&server_final).unwrap(),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn client_first_messages_are_parsed_as_rfc_5802_has_them() {
        let first =
            ClientFirst::parse(b"n,a=al=3Dice,n=al=3Dice=2Cx,r=n0nce,tokenauth=true").unwrap();
        assert_eq!(first.authzid, "al=ice");
        assert_eq!(first.user, "al=ice,x");
        assert!(first.token_auth);
        for bad in [
            &b"y,,n=a,r=x"[..],
            b"p=tls-unique,,n=a,r=x",
            b"n,,n=,r=x",
            b"n,,n=a",
            b"n,,n=a=,r=x",
            b"n,,r=x,n=a",
            b"\xff",
            b"",
        ] {
            assert!(ClientFirst::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn garbage_final_messages_are_refused_not_panicked_on() {
        let credential = ScramCredential::derive(ScramHash::Sha256, "pw", b"salt", 4096);
        let first = ClientFirst::parse(b"n,,n=u,r=abc").unwrap();
        let server_first = ServerFirst::new(first, "S", &credential);
        for bad in [
            &b""[..],
            b"p=",
            b"c=biws,p=AAAA",
            b"c=biws,r=abcS,p=not base64!",
            b"c=biws,r=abcS,p=AAAA",
            b"r=abcS,c=biws,p=AAAA",
            b"\xff\xfe",
        ] {
            assert!(
                server_first
                    .finish(ScramHash::Sha256, &credential, bad)
                    .is_err(),
                "{bad:?}"
            );
        }
    }
}
