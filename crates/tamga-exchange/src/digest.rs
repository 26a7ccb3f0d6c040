//! RFC 9530 `Content-Digest`: the hash of a message's content, so that a signature over the
//! header covers the body. Tamga sends `sha-256`; it verifies `sha-256` and `sha-512` and ignores
//! algorithms it does not know only if a known one is also present (§5: a recipient checks the
//! ones it supports), never accepting a field with none it can check.

use aws_lc_rs::digest;

use crate::sfv::{self, Bare, Member};

/// A `Content-Digest` problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The field does not parse.
    #[error("Content-Digest is malformed: {0}")]
    Malformed(String),
    /// No algorithm Tamga supports is present.
    #[error("Content-Digest has no sha-256 or sha-512 value")]
    NoSupportedAlgorithm,
    /// A value does not match the content.
    #[error("Content-Digest {0} does not match the content")]
    Mismatch(&'static str),
}

/// The `Content-Digest` value for `body` (`sha-256=:…:`).
pub fn content_digest(body: &[u8]) -> String {
    let mut out = String::from("sha-256=");
    sfv::serialize_bare(
        &Bare::Bytes(digest::digest(&digest::SHA256, body).as_ref().to_vec()),
        &mut out,
    );
    out
}

/// Checks a `Content-Digest` field value against `body`: every supported algorithm present must
/// match, and at least one must be present.
pub fn verify_content_digest(field: &str, body: &[u8]) -> Result<(), DigestError> {
    let dict = sfv::parse_dictionary(field).map_err(|e| DigestError::Malformed(e.to_string()))?;
    let mut checked = false;
    for (alg, member) in &dict {
        let (name, algorithm): (&'static str, &'static digest::Algorithm) = match alg.as_str() {
            "sha-256" => ("sha-256", &digest::SHA256),
            "sha-512" => ("sha-512", &digest::SHA512),
            _ => continue,
        };
        let Member::Item(item) = member else {
            return Err(DigestError::Malformed(format!(
                "{alg} is not a byte sequence"
            )));
        };
        let Bare::Bytes(value) = &item.bare else {
            return Err(DigestError::Malformed(format!(
                "{alg} is not a byte sequence"
            )));
        };
        if digest::digest(algorithm, body).as_ref() != value.as_slice() {
            return Err(DigestError::Mismatch(name));
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(DigestError::NoSupportedAlgorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9530_examples() {
        // RFC 9530 §B.1 / RFC 9421 test-request body.
        let body = br#"{"hello": "world"}"#;
        verify_content_digest(
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            body,
        )
        .expect("sha-512 matches");
        assert_eq!(
            content_digest(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            verify_content_digest(&content_digest(b"other"), body),
            Err(DigestError::Mismatch("sha-256"))
        );
        assert_eq!(
            verify_content_digest("md5=:AAAA:", body),
            Err(DigestError::NoSupportedAlgorithm)
        );
        assert!(matches!(
            verify_content_digest("sha-256=1", body),
            Err(DigestError::Malformed(_))
        ));
    }
}
