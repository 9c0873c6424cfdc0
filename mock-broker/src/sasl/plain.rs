//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL password`, checked against the users.

use super::credentials::Credentials;

/// How a PLAIN token fails, as Kafka's `PlainSaslServer` tells the two kinds apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PlainRefusal {
    /// A token that is not PLAIN, or lacks a name or password: the client gets
    /// Kafka's general "invalid credentials" message; the detail is for the log.
    Malformed(String),
    /// Kafka tells the client this exact message.
    Told(&'static str, String),
}

/// The user `token` authenticates, if it does.
pub(crate) fn authenticate(
    token: &[u8],
    credentials: &Credentials,
) -> Result<String, PlainRefusal> {
    let text = String::from_utf8_lossy(token);
    let parts: Vec<&str> = text.splitn(3, '\0').collect();
    let [authzid, user, password] = parts[..] else {
        return Err(PlainRefusal::Malformed(format!(
            "invalid SASL/PLAIN response: expected 3 tokens, got {}",
            parts.len()
        )));
    };
    if user.is_empty() {
        return Err(PlainRefusal::Malformed(
            "authentication failed: username not specified".into(),
        ));
    }
    if password.is_empty() {
        return Err(PlainRefusal::Malformed(
            "authentication failed: password not specified".into(),
        ));
    }
    if !credentials.password_matches(user, password) {
        return Err(PlainRefusal::Told(
            "Authentication failed: Invalid username or password",
            format!("wrong password for user {user:?}, or no such user"),
        ));
    }
    if !authzid.is_empty() && authzid != user {
        return Err(PlainRefusal::Told(
            "Authentication failed: Client requested an authorization id that is different from username",
            format!("user {user:?} asked to act as {authzid:?}"),
        ));
    }
    Ok(user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Credentials {
        Credentials::load(&["alice:secret".into()], None).unwrap()
    }

    #[test]
    fn the_right_password_authenticates_the_user() {
        assert_eq!(authenticate(b"\0alice\0secret", &users()).unwrap(), "alice");
        assert_eq!(
            authenticate(b"alice\0alice\0secret", &users()).unwrap(),
            "alice"
        );
    }

    #[test]
    fn a_wrong_password_gets_kafkas_message() {
        match authenticate(b"\0alice\0guess", &users()) {
            Err(PlainRefusal::Told(message, _)) => {
                assert_eq!(
                    message,
                    "Authentication failed: Invalid username or password"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            authenticate(b"\0mallory\0secret", &users()),
            Err(PlainRefusal::Told(..))
        ));
        assert!(matches!(
            authenticate(b"bob\0alice\0secret", &users()),
            Err(PlainRefusal::Told(..))
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        for token in [
            &b""[..],
            b"alice",
            b"\0alice",
            b"\0\0secret",
            b"\0alice\0",
            b"\xff\xfe\0",
        ] {
            assert!(
                matches!(
                    authenticate(token, &users()),
                    Err(PlainRefusal::Malformed(_))
                ),
                "{token:?}"
            );
        }
    }
}
