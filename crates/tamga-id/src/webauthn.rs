//! Passkeys (W3C Web Authentication Level 2): registration with `none` attestation and
//! sign-in assertions, for ES256 (COSE alg -7) credentials. The relying party checks what
//! §7.1 and §7.2 require: the client data's type, challenge and origin; the RP ID hash; user
//! presence and user verification; the signature over `authenticatorData ||
//! SHA-256(clientDataJSON)`; and a signature counter that only grows (a cloned authenticator is
//! refused). The CBOR reader (RFC 8949) is bounded and decodes only what these structures use.

use aws_lc_rs::signature::{self, UnparsedPublicKey};

use crate::credentials::sha256;
use crate::jose::unb64;

/// A WebAuthn failure, precise enough to log.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WebAuthnError {
    /// The client data is not what was asked for.
    #[error("client data: {0}")]
    ClientData(&'static str),
    /// Malformed CBOR or authenticator data.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The RP ID hash, flags or algorithm are wrong.
    #[error("authenticator data: {0}")]
    AuthenticatorData(&'static str),
    /// The signature does not verify.
    #[error("the assertion signature does not verify")]
    Signature,
    /// The counter went backwards: a cloned authenticator.
    #[error("signature counter did not increase (cloned authenticator?)")]
    Counter,
}

/// A CBOR value (the subset WebAuthn needs).
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    /// Unsigned or negative integer.
    Int(i128),
    /// Byte string.
    Bytes(Vec<u8>),
    /// Text string.
    Text(String),
    /// Array.
    Array(Vec<Cbor>),
    /// Map, in encoded order.
    Map(Vec<(Cbor, Cbor)>),
    /// true/false.
    Bool(bool),
    /// null/undefined.
    Null,
}

impl Cbor {
    /// The value under an integer or text key of a map.
    pub fn get(&self, key: &Cbor) -> Option<&Cbor> {
        match self {
            Cbor::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Decodes one CBOR item from the start of `input`; returns it and the rest.
pub fn cbor_decode(input: &[u8]) -> Result<(Cbor, &[u8]), WebAuthnError> {
    decode(input, 0)
}

fn decode(input: &[u8], depth: usize) -> Result<(Cbor, &[u8]), WebAuthnError> {
    let bad = WebAuthnError::Malformed("CBOR");
    if depth > 16 {
        return Err(bad);
    }
    let (&first, rest) = input.split_first().ok_or(bad.clone())?;
    let major = first >> 5;
    let info = first & 0x1f;
    let (arg, rest): (u64, &[u8]) = match info {
        0..=23 => (u64::from(info), rest),
        24..=27 => {
            let n = 1usize << (info - 24);
            if rest.len() < n {
                return Err(bad);
            }
            let mut v = 0u64;
            for b in &rest[..n] {
                v = (v << 8) | u64::from(*b);
            }
            (v, &rest[n..])
        }
        // Indefinite lengths and reserved values do not occur in WebAuthn's canonical CBOR.
        _ => return Err(bad),
    };
    let len = |rest: &[u8]| -> Result<usize, WebAuthnError> {
        usize::try_from(arg)
            .ok()
            .filter(|n| *n <= rest.len())
            .ok_or(WebAuthnError::Malformed("CBOR length"))
    };
    match major {
        0 => Ok((Cbor::Int(i128::from(arg)), rest)),
        1 => Ok((Cbor::Int(-1 - i128::from(arg)), rest)),
        2 => {
            let n = len(rest)?;
            Ok((Cbor::Bytes(rest[..n].to_vec()), &rest[n..]))
        }
        3 => {
            let n = len(rest)?;
            let s = std::str::from_utf8(&rest[..n]).map_err(|_| bad.clone())?;
            Ok((Cbor::Text(s.to_owned()), &rest[n..]))
        }
        4 => {
            // Each item takes at least one byte: a count beyond the input is malformed.
            let n = len(rest)?;
            let mut items = Vec::with_capacity(n);
            let mut rest = rest;
            for _ in 0..n {
                let (v, r) = decode(rest, depth + 1)?;
                items.push(v);
                rest = r;
            }
            Ok((Cbor::Array(items), rest))
        }
        5 => {
            let n = len(rest)?;
            let mut items = Vec::with_capacity(n);
            let mut rest = rest;
            for _ in 0..n {
                let (k, r) = decode(rest, depth + 1)?;
                let (v, r) = decode(r, depth + 1)?;
                items.push((k, v));
                rest = r;
            }
            Ok((Cbor::Map(items), rest))
        }
        7 => match info {
            20 => Ok((Cbor::Bool(false), rest)),
            21 => Ok((Cbor::Bool(true), rest)),
            22 | 23 => Ok((Cbor::Null, rest)),
            _ => Err(bad),
        },
        // Tags (6) are not used by WebAuthn's structures.
        _ => Err(bad),
    }
}

/// Flags (WebAuthn §6.1).
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flags.
    pub flags: u8,
    /// Signature counter.
    pub sign_count: u32,
    /// Credential id and public key (registration).
    pub attested: Option<(Vec<u8>, Cbor)>,
}

/// Parses authenticator data (WebAuthn §6.1).
pub fn parse_authenticator_data(data: &[u8]) -> Result<AuthenticatorData, WebAuthnError> {
    let bad = WebAuthnError::Malformed("authenticator data");
    if data.len() < 37 {
        return Err(bad);
    }
    let mut rp_id_hash = [0u8; 32];
    rp_id_hash.copy_from_slice(&data[..32]);
    let flags = data[32];
    let sign_count = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
    let attested = if flags & AT != 0 {
        let rest = &data[37..];
        if rest.len() < 18 {
            return Err(bad);
        }
        let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        let rest = &rest[18..];
        if rest.len() < id_len || id_len == 0 || id_len > 1023 {
            return Err(bad);
        }
        let (id, rest) = rest.split_at(id_len);
        let (key, _extensions) = cbor_decode(rest)?;
        Some((id.to_vec(), key))
    } else {
        None
    };
    Ok(AuthenticatorData {
        rp_id_hash,
        flags,
        sign_count,
        attested,
    })
}

/// The uncompressed P-256 point of a COSE_Key (RFC 9053 §7.1.1: kty 2, alg -7, crv 1).
pub fn cose_es256_point(key: &Cbor) -> Result<Vec<u8>, WebAuthnError> {
    let int = |k: i128| key.get(&Cbor::Int(k));
    let bad = WebAuthnError::AuthenticatorData;
    if int(1) != Some(&Cbor::Int(2)) || int(3) != Some(&Cbor::Int(-7)) {
        return Err(bad("only ES256 (COSE alg -7, EC2) passkeys are accepted"));
    }
    if int(-1) != Some(&Cbor::Int(1)) {
        return Err(bad("EC2 key is not on P-256"));
    }
    match (int(-2), int(-3)) {
        (Some(Cbor::Bytes(x)), Some(Cbor::Bytes(y))) if x.len() == 32 && y.len() == 32 => {
            let mut p = Vec::with_capacity(65);
            p.push(4);
            p.extend_from_slice(x);
            p.extend_from_slice(y);
            Ok(p)
        }
        _ => Err(bad("EC2 coordinates missing or not 32 bytes")),
    }
}

fn check_client_data(
    client_data_json: &[u8],
    typ: &str,
    challenge: &[u8],
    origin: &str,
) -> Result<(), WebAuthnError> {
    let v: serde_json::Value = serde_json::from_slice(client_data_json)
        .map_err(|_| WebAuthnError::ClientData("not JSON"))?;
    if v["type"].as_str() != Some(typ) {
        return Err(WebAuthnError::ClientData("wrong type"));
    }
    let got = v["challenge"].as_str().and_then(unb64).unwrap_or_default();
    if !crate::credentials::same(&got, challenge) {
        return Err(WebAuthnError::ClientData("wrong challenge"));
    }
    if v["origin"].as_str() != Some(origin) {
        return Err(WebAuthnError::ClientData("wrong origin"));
    }
    if v["crossOrigin"].as_bool() == Some(true) {
        return Err(WebAuthnError::ClientData("cross-origin use"));
    }
    Ok(())
}

fn check_flags(auth: &AuthenticatorData, rp_id: &str) -> Result<(), WebAuthnError> {
    if auth.rp_id_hash != sha256(rp_id.as_bytes()) {
        return Err(WebAuthnError::AuthenticatorData("RP ID hash"));
    }
    if auth.flags & UP == 0 || auth.flags & UV == 0 {
        return Err(WebAuthnError::AuthenticatorData(
            "user presence and verification are required",
        ));
    }
    Ok(())
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// Credential id.
    pub credential_id: Vec<u8>,
    /// Uncompressed P-256 public key.
    pub public_key: Vec<u8>,
    /// Initial counter.
    pub sign_count: u32,
}

/// Verifies a registration (WebAuthn §7.1) with `none` attestation.
pub fn verify_registration(
    client_data_json: &[u8],
    attestation_object: &[u8],
    challenge: &[u8],
    origin: &str,
    rp_id: &str,
) -> Result<Registered, WebAuthnError> {
    check_client_data(client_data_json, "webauthn.create", challenge, origin)?;
    let (att, _) = cbor_decode(attestation_object)?;
    let text = |s: &str| Cbor::Text(s.into());
    // Attestation statements are not verified (privacy-preserving "none" is requested); the
    // key is trusted because the citizen registered it right after an ID-card sign-in.
    let Some(Cbor::Bytes(auth_data)) = att.get(&text("authData")) else {
        return Err(WebAuthnError::Malformed("attestation object"));
    };
    let auth = parse_authenticator_data(auth_data)?;
    check_flags(&auth, rp_id)?;
    let (credential_id, key) = auth
        .attested
        .ok_or(WebAuthnError::AuthenticatorData("no attested credential"))?;
    let public_key = cose_es256_point(&key)?;
    Ok(Registered {
        credential_id,
        public_key,
        sign_count: auth.sign_count,
    })
}

/// Verifies an assertion (WebAuthn §7.2); returns the new counter.
#[allow(clippy::too_many_arguments)]
pub fn verify_assertion(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature_der: &[u8],
    challenge: &[u8],
    origin: &str,
    rp_id: &str,
    public_key: &[u8],
    stored_count: u32,
) -> Result<u32, WebAuthnError> {
    check_client_data(client_data_json, "webauthn.get", challenge, origin)?;
    let auth = parse_authenticator_data(authenticator_data)?;
    check_flags(&auth, rp_id)?;
    let mut signed = authenticator_data.to_vec();
    signed.extend_from_slice(&sha256(client_data_json));
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public_key)
        .verify(&signed, signature_der)
        .map_err(|_| WebAuthnError::Signature)?;
    if (auth.sign_count != 0 || stored_count != 0) && auth.sign_count <= stored_count {
        return Err(WebAuthnError::Counter);
    }
    Ok(auth.sign_count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    fn cbor_bytes(b: &[u8]) -> Vec<u8> {
        let mut v = vec![0x58, b.len() as u8];
        v.extend_from_slice(b);
        v
    }

    /// An authenticator in a few lines: registration and assertion data as a browser sends.
    fn authenticator() -> (EcdsaKeyPair, Vec<u8>) {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref()).unwrap();
        let point = key.public_key().as_ref().to_vec();
        // COSE_Key {1: 2, 3: -7, -1: 1, -2: x, -3: y}
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cose.extend(cbor_bytes(&point[1..33]));
        cose.push(0x22);
        cose.extend(cbor_bytes(&point[33..65]));
        (key, cose)
    }

    fn auth_data(rp: &str, flags: u8, count: u32, attested: Option<(&[u8], &[u8])>) -> Vec<u8> {
        let mut d = sha256(rp.as_bytes()).to_vec();
        d.push(flags);
        d.extend_from_slice(&count.to_be_bytes());
        if let Some((id, cose)) = attested {
            d.extend_from_slice(&[0u8; 16]);
            d.extend_from_slice(&(id.len() as u16).to_be_bytes());
            d.extend_from_slice(id);
            d.extend_from_slice(cose);
        }
        d
    }

    fn client_data(typ: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        serde_json::json!({"type": typ, "challenge": crate::jose::b64(challenge), "origin": origin})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn register_then_assert() {
        let (key, cose) = authenticator();
        let origin = "http://localhost:8080";
        let ad = auth_data("localhost", UP | UV | AT, 0, Some((b"cred-1", &cose)));
        // {"fmt": "none", "attStmt": {}, "authData": ad}
        let mut att = vec![0xa3, 0x63];
        att.extend_from_slice(b"fmt");
        att.push(0x64);
        att.extend_from_slice(b"none");
        att.push(0x67);
        att.extend_from_slice(b"attStmt");
        att.push(0xa0);
        att.push(0x68);
        att.extend_from_slice(b"authData");
        att.extend_from_slice(&[0x59, (ad.len() >> 8) as u8, ad.len() as u8]);
        att.extend_from_slice(&ad);
        let cd = client_data("webauthn.create", b"challenge-1", origin);
        let reg = verify_registration(&cd, &att, b"challenge-1", origin, "localhost").unwrap();
        assert_eq!(reg.credential_id, b"cred-1");
        assert_eq!(
            verify_registration(&cd, &att, b"other", origin, "localhost"),
            Err(WebAuthnError::ClientData("wrong challenge"))
        );
        assert!(verify_registration(&cd, &att, b"challenge-1", origin, "example.mn").is_err());

        let sign = |count: u32, challenge: &[u8], origin: &str| {
            let ad = auth_data("localhost", UP | UV, count, None);
            let cd = client_data("webauthn.get", challenge, origin);
            let mut msg = ad.clone();
            msg.extend_from_slice(&sha256(&cd));
            let sig = key.sign(&SystemRandom::new(), &msg).unwrap();
            (cd, ad, sig.as_ref().to_vec())
        };
        let (cd, ad, sig) = sign(5, b"c2", origin);
        let n = verify_assertion(
            &cd,
            &ad,
            &sig,
            b"c2",
            origin,
            "localhost",
            &reg.public_key,
            0,
        )
        .unwrap();
        assert_eq!(n, 5);
        // Replayed counter: a cloned authenticator.
        assert_eq!(
            verify_assertion(
                &cd,
                &ad,
                &sig,
                b"c2",
                origin,
                "localhost",
                &reg.public_key,
                5
            ),
            Err(WebAuthnError::Counter)
        );
        // Another origin (phishing site) is refused.
        let (cd, ad, sig) = sign(6, b"c3", "http://evil.example");
        assert!(
            verify_assertion(
                &cd,
                &ad,
                &sig,
                b"c3",
                origin,
                "localhost",
                &reg.public_key,
                5
            )
            .is_err()
        );
        // A tampered authenticator data breaks the signature.
        let (cd, mut ad, sig) = sign(7, b"c4", origin);
        ad[33] ^= 1;
        assert_eq!(
            verify_assertion(
                &cd,
                &ad,
                &sig,
                b"c4",
                origin,
                "localhost",
                &reg.public_key,
                5
            ),
            Err(WebAuthnError::Signature)
        );
        // Without user verification: refused.
        let ad = auth_data("localhost", UP, 9, None);
        let cd = client_data("webauthn.get", b"c5", origin);
        assert!(
            verify_assertion(
                &cd,
                &ad,
                &[],
                b"c5",
                origin,
                "localhost",
                &reg.public_key,
                5
            )
            .is_err()
        );
    }

    #[test]
    fn cbor_refuses_bad_lengths_and_depth() {
        assert!(cbor_decode(&[0x5a, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(cbor_decode(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(cbor_decode(&[0x81; 40]).is_err());
        assert_eq!(cbor_decode(&[0x20]).unwrap().0, Cbor::Int(-1));
    }
}
