//! Decoding of SASL client responses (RFC 5034 §4) for the PLAIN (RFC 4616)
//! and LOGIN mechanisms.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Secret;

/// The base64 challenge `Username:` of the LOGIN mechanism.
pub(crate) const LOGIN_USERNAME_CHALLENGE: &str = "VXNlcm5hbWU6";
/// The base64 challenge `Password:` of the LOGIN mechanism.
pub(crate) const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

/// Why a client response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaslError {
    /// The line was `*` (RFC 5034 §4: the client cancels).
    Cancelled,
    /// Not base64, not UTF-8, or not the mechanism's format.
    Malformed,
}

/// Decodes one base64 client response; `=` is the empty response (RFC 5034
/// §4, initial response).
pub(crate) fn decode_response(line: &[u8]) -> Result<Vec<u8>, SaslError> {
    match line {
        b"*" => Err(SaslError::Cancelled),
        b"=" => Ok(Vec::new()),
        _ => STANDARD.decode(line).map_err(|_| SaslError::Malformed),
    }
}

/// Credentials carried by a PLAIN response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PlainCredentials {
    pub(crate) authzid: Option<String>,
    pub(crate) authcid: String,
    pub(crate) password: Secret<String>,
}

/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd` (RFC 4616 §2).
pub(crate) fn decode_plain(decoded: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut parts = decoded.split(|b| *b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    if authcid.is_empty() {
        return Err(SaslError::Malformed);
    }
    let utf8 = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| SaslError::Malformed);
    Ok(PlainCredentials {
        authzid: if authzid.is_empty() {
            None
        } else {
            Some(utf8(authzid)?)
        },
        authcid: utf8(authcid)?,
        password: Secret::new(utf8(password)?),
    })
}

/// A LOGIN user name or password: UTF-8 without NUL.
pub(crate) fn decode_login_field(decoded: Vec<u8>) -> Result<String, SaslError> {
    if decoded.contains(&0) {
        return Err(SaslError::Malformed);
    }
    String::from_utf8(decoded).map_err(|_| SaslError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_known_answers() {
        // RFC 5034 §6 example: "test\0test\0test".
        let decoded = decode_response(b"dGVzdAB0ZXN0AHRlc3Q=").unwrap();
        assert_eq!(
            decode_plain(&decoded),
            Ok(PlainCredentials {
                authzid: Some("test".into()),
                authcid: "test".into(),
                password: Secret::new("test".into()),
            })
        );
        assert_eq!(
            decode_plain(b"\0alice\0pw"),
            Ok(PlainCredentials {
                authzid: None,
                authcid: "alice".into(),
                password: Secret::new("pw".into()),
            })
        );
        for bad in [&b"alice\0pw"[..], b"\0\0pw", b"a\0b\0c\0d", b"\0\xff\0pw"] {
            assert_eq!(decode_plain(bad), Err(SaslError::Malformed));
        }
    }

    #[test]
    fn responses() {
        assert_eq!(decode_response(b"*"), Err(SaslError::Cancelled));
        assert_eq!(decode_response(b"="), Ok(Vec::new()));
        assert_eq!(decode_response(b"!!"), Err(SaslError::Malformed));
        assert_eq!(
            decode_response(LOGIN_USERNAME_CHALLENGE.as_bytes()),
            Ok(b"Username:".to_vec())
        );
        assert_eq!(
            decode_response(LOGIN_PASSWORD_CHALLENGE.as_bytes()),
            Ok(b"Password:".to_vec())
        );
        assert_eq!(
            decode_login_field(b"a\0".to_vec()),
            Err(SaslError::Malformed)
        );
    }
}
