//! RFC 9421 Appendix B: every signature base is rebuilt byte for byte from the signed message,
//! every signature verifies with the RFC's key, a changed byte makes it fail, and the
//! deterministic algorithms (HMAC, Ed25519) reproduce the RFC's signature exactly.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use tamga_exchange::digest::verify_content_digest;
use tamga_exchange::httpsig::{self, Algorithm, Message};

fn dir() -> Option<PathBuf> {
    let d =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/rfc9421/appendix-b");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("skipped: {} is absent", d.display());
        None
    }
}

/// A message file: start line, fields, body.
struct Parsed {
    start: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn parse(text: &str) -> Parsed {
    let (head, rest) = text.split_once("\n\n").expect("blank line");
    let mut lines = head.lines();
    let start = lines.next().expect("start line").to_owned();
    let mut headers = HeaderMap::new();
    for l in lines {
        let (k, v) = l.split_once(':').expect("field");
        headers.append(
            HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes()).expect("name"),
            HeaderValue::from_str(v.trim()).expect("value"),
        );
    }
    let len: usize = headers
        .get("content-length")
        .map_or(0, |v| v.to_str().expect("ascii").parse().expect("number"));
    Parsed {
        start,
        headers,
        body: rest.as_bytes()[..len].to_vec(),
    }
}

fn pem_der(text: &str) -> Vec<u8> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).expect("base64")
}

fn check(d: &Path, name: &str, label: &str, alg: Algorithm, key_file: &str) -> (String, Vec<u8>) {
    let signed =
        parse(&std::fs::read_to_string(d.join(format!("{name}_signed.txt"))).expect("read"));
    let expected = std::fs::read_to_string(d.join(format!("{name}_sigbase.txt"))).expect("read");
    let (params, signature) = httpsig::find(&signed.headers, label).expect("signature found");
    let target;
    let msg = if let Some(rest) = signed.start.strip_prefix("HTTP/1.1 ") {
        Message::Response {
            status: rest[..3].parse().expect("status"),
            headers: &signed.headers,
        }
    } else {
        let mut parts = signed.start.split(' ');
        let method = parts.next().expect("method");
        let path = parts.next().expect("target");
        let host = signed.headers["host"].to_str().expect("host");
        target = format!("https://{host}{path}");
        Message::Request {
            method,
            target_uri: &target,
            headers: &signed.headers,
        }
    };
    let base = httpsig::signature_base(&params, &msg, None).expect("base");
    assert_eq!(base, expected, "{name}: signature base");
    let key = if alg == Algorithm::HmacSha256 {
        STANDARD
            .decode(
                std::fs::read_to_string(d.join(key_file))
                    .expect("secret")
                    .trim(),
            )
            .expect("base64")
    } else {
        pem_der(&std::fs::read_to_string(d.join(key_file)).expect("key"))
    };
    httpsig::verify(alg, &key, base.as_bytes(), &signature).expect("verifies");
    let mut tampered = base.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    assert_eq!(
        httpsig::verify(alg, &key, &tampered, &signature),
        Err(httpsig::SigError::BadSignature),
        "{name}: tampered base must fail"
    );
    if let Some(cd) = signed.headers.get("content-digest") {
        verify_content_digest(cd.to_str().expect("ascii"), &signed.body).expect("digest");
    }
    (base, signature)
}

#[test]
fn appendix_b_signature_bases_and_signatures() {
    let Some(d) = dir() else { return };
    check(
        &d,
        "b21_request",
        "sig-b21",
        Algorithm::RsaPssSha512,
        "test-key-rsa-pss.pub",
    );
    check(
        &d,
        "b22_request",
        "sig-b22",
        Algorithm::RsaPssSha512,
        "test-key-rsa-pss.pub",
    );
    check(
        &d,
        "b23_request",
        "sig-b23",
        Algorithm::RsaPssSha512,
        "test-key-rsa-pss.pub",
    );
    check(
        &d,
        "b24_response",
        "sig-b24",
        Algorithm::EcdsaP256Sha256,
        "test-key-ecc-p256.pub",
    );
    check(
        &d,
        "b25_request",
        "sig-b25",
        Algorithm::HmacSha256,
        "test-shared-secret",
    );
    check(
        &d,
        "b26_request",
        "sig-b26",
        Algorithm::Ed25519,
        "test-key-ed25519.pub",
    );
}

#[test]
fn deterministic_signatures_are_reproduced() {
    let Some(d) = dir() else { return };
    // B.2.5: HMAC-SHA-256.
    let (base, expected) = check(
        &d,
        "b25_request",
        "sig-b25",
        Algorithm::HmacSha256,
        "test-shared-secret",
    );
    let secret = STANDARD
        .decode(
            std::fs::read_to_string(d.join("test-shared-secret"))
                .expect("secret")
                .trim(),
        )
        .expect("base64");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
    assert_eq!(
        aws_lc_rs::hmac::sign(&key, base.as_bytes()).as_ref(),
        expected.as_slice()
    );
    // B.2.6: Ed25519 through a Tamga signer.
    let (base, expected) = check(
        &d,
        "b26_request",
        "sig-b26",
        Algorithm::Ed25519,
        "test-key-ed25519.pub",
    );
    let pkcs8 = pem_der(&std::fs::read_to_string(d.join("test-key-ed25519.key")).expect("key"));
    let signer = tamga_keys::SoftwareSigner::from_pkcs8("rfc", &pkcs8).expect("ed25519 key");
    assert_eq!(
        httpsig::sign(&signer, base.as_bytes()).expect("signs"),
        expected
    );
}

#[test]
fn ecdsa_signatures_from_tamga_keys_verify_in_fixed_form() {
    let signer =
        tamga_keys::SoftwareSigner::generate("gw", tamga_keys::KeyAlgorithm::EcP256).expect("key");
    use tamga_keys::Signer;
    let sig = httpsig::sign(&signer, b"base").expect("signs");
    assert_eq!(sig.len(), 64);
    httpsig::verify(
        Algorithm::EcdsaP256Sha256,
        signer.public_key_der(),
        b"base",
        &sig,
    )
    .expect("verifies");
    assert_eq!(
        httpsig::verify(Algorithm::Ed25519, signer.public_key_der(), b"base", &sig),
        Err(httpsig::SigError::KeyMismatch("ed25519"))
    );
}
