//! The JOSE subset an OpenID provider needs: JWS compact serialisation (RFC 7515 §7.1) signed
//! with ES256 (RFC 7518 §3.4, the fixed-width `R || S` signature, not DER), and verified with
//! ES256, RS256 or PS256 against a JWK (RFC 7517) — the algorithms clients use for
//! `private_key_jwt` (OIDC Core §9). `alg: none` and HMAC algorithms are refused outright.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamga_keys::{SignatureAlgorithm, Signer};

/// A JOSE failure, precise enough to log and to tell a client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    /// Not three base64url parts, or a part does not decode.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm Tamga does not accept.
    #[error("JWS algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// No key in the set matches the header's `kid`/`alg`.
    #[error("no key matches the JWS header")]
    NoKey,
    /// The signature does not verify.
    #[error("JWS signature does not verify")]
    Signature,
    /// A key could not be used.
    #[error("key: {0}")]
    Key(String),
}

/// base64url without padding (RFC 7515 §2).
pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url without padding.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A JSON Web Key (public part only; private members are never serialised).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    /// `EC` or `RSA`.
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Algorithm the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// EC curve (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1, BIT STRING).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl Jwk {
    /// The JWK of a P-256 public key given as DER SubjectPublicKeyInfo.
    pub fn from_p256_spki(spki: &[u8], kid: &str) -> Result<Self, JoseError> {
        let point = spki
            .strip_prefix(&P256_SPKI_PREFIX[..])
            .filter(|p| p.len() == 65 && p[0] == 4)
            .ok_or_else(|| JoseError::Key("not an uncompressed P-256 public key".into()))?;
        Ok(Self {
            kty: "EC".into(),
            kid: Some(kid.into()),
            use_: Some("sig".into()),
            alg: Some("ES256".into()),
            crv: Some("P-256".into()),
            x: Some(b64(&point[1..33])),
            y: Some(b64(&point[33..65])),
            n: None,
            e: None,
        })
    }

    fn coordinate(v: &Option<String>, what: &str) -> Result<Vec<u8>, JoseError> {
        v.as_deref()
            .and_then(unb64)
            .ok_or_else(|| JoseError::Key(format!("{what} missing or not base64url")))
    }

    /// Verifies `sig` over `message` with this key under `alg`.
    pub fn verify(&self, alg: &str, message: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        if let Some(a) = &self.alg
            && a != alg
        {
            return Err(JoseError::NoKey);
        }
        match (self.kty.as_str(), alg) {
            ("EC", "ES256") => {
                if self.crv.as_deref() != Some("P-256") {
                    return Err(JoseError::Key("ES256 needs a P-256 key".into()));
                }
                let x = Self::coordinate(&self.x, "x")?;
                let y = Self::coordinate(&self.y, "y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::Key("P-256 coordinates are 32 bytes".into()));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .map_err(|_| JoseError::Signature)
            }
            ("RSA", "RS256" | "PS256") => {
                let n = Self::coordinate(&self.n, "n")?;
                let e = Self::coordinate(&self.e, "e")?;
                let params = if alg == "RS256" {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                signature::RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(params, message, sig)
                    .map_err(|_| JoseError::Signature)
            }
            ("EC" | "RSA", other) => Err(JoseError::Algorithm(other.into())),
            (kty, _) => Err(JoseError::Key(format!("key type {kty:?} is not supported"))),
        }
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// Converts a DER `Ecdsa-Sig-Value` to the 64-byte `R || S` form JWS uses.
pub fn ecdsa_der_to_fixed(der: &[u8]) -> Result<[u8; 64], JoseError> {
    fn int(input: &[u8]) -> Option<(&[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&len, rest) = rest.split_first()?;
        if tag != 0x02 || len as usize > rest.len() || len > 33 {
            return None;
        }
        Some(rest.split_at(len as usize))
    }
    let bad = || JoseError::Key("malformed ECDSA signature".into());
    let body = match der {
        [0x30, len, rest @ ..] if *len as usize == rest.len() => rest,
        _ => return Err(bad()),
    };
    let (r, rest) = int(body).ok_or_else(bad)?;
    let (s, rest) = int(rest).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(bad());
    }
    let mut out = [0u8; 64];
    for (i, v) in [r, s].into_iter().enumerate() {
        let v = match v {
            [0, tail @ ..] if v.len() == 33 => tail,
            _ if v.len() <= 32 => v,
            _ => return Err(bad()),
        };
        out[i * 32 + 32 - v.len()..(i + 1) * 32].copy_from_slice(v);
    }
    Ok(out)
}

/// Signs `claims` as an ES256 JWS with header `{alg, typ, kid}`.
pub fn sign_es256(
    signer: &dyn Signer,
    kid: &str,
    typ: &str,
    claims: &Value,
) -> Result<String, JoseError> {
    let header = serde_json::json!({ "alg": "ES256", "typ": typ, "kid": kid });
    let mut input = b64(header.to_string().as_bytes());
    input.push('.');
    input.push_str(&b64(claims.to_string().as_bytes()));
    let der = signer
        .sign(SignatureAlgorithm::EcdsaP256Sha256, input.as_bytes())
        .map_err(|e| JoseError::Key(e.to_string()))?;
    let fixed = ecdsa_der_to_fixed(&der)?;
    input.push('.');
    input.push_str(&b64(&fixed));
    Ok(input)
}

/// A JWS split and decoded, not yet verified.
#[derive(Debug)]
pub struct Unverified {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload as JSON.
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// The algorithms accepted from clients.
pub const ACCEPTED_ALGS: [&str; 3] = ["ES256", "RS256", "PS256"];

impl Unverified {
    /// Splits and decodes a compact JWS whose payload is a JSON object.
    pub fn parse(jws: &str) -> Result<Self, JoseError> {
        if jws.len() > 16 * 1024 {
            return Err(JoseError::Malformed("longer than 16 KiB"));
        }
        let mut parts = jws.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("not three parts"));
        };
        let object = |part: &str, what: &'static str| -> Result<Map<String, Value>, JoseError> {
            let bytes = unb64(part).ok_or(JoseError::Malformed(what))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(JoseError::Malformed(what)),
            }
        };
        let header = object(h, "header is not a base64url JSON object")?;
        let claims = object(p, "payload is not a base64url JSON object")?;
        let signature = unb64(s).ok_or(JoseError::Malformed("signature is not base64url"))?;
        Ok(Self {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// The header's `alg`, if accepted.
    pub fn alg(&self) -> Result<&str, JoseError> {
        let alg = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::Malformed("header has no alg"))?;
        if ACCEPTED_ALGS.contains(&alg) {
            Ok(alg)
        } else {
            Err(JoseError::Algorithm(alg.into()))
        }
    }

    /// Verifies with the first key of `set` that matches `kid` (if given) and verifies.
    pub fn verify(self, set: &JwkSet) -> Result<Map<String, Value>, JoseError> {
        let alg = self.alg()?.to_owned();
        if self.header.contains_key("crit") {
            return Err(JoseError::Malformed(
                "crit header parameters are not supported",
            ));
        }
        let kid = self.header.get("kid").and_then(Value::as_str);
        let mut last = JoseError::NoKey;
        for key in set
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        {
            match key.verify(&alg, self.signing_input.as_bytes(), &self.signature) {
                Ok(()) => return Ok(self.claims),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tamga_keys::{KeyAlgorithm, SoftwareSigner};

    #[test]
    fn es256_round_trip_and_tamper() {
        let key = SoftwareSigner::generate("t", KeyAlgorithm::EcP256).unwrap();
        let jwk = Jwk::from_p256_spki(key.public_key_der(), "k1").unwrap();
        let set = JwkSet { keys: vec![jwk] };
        let jws = sign_es256(&key, "k1", "JWT", &serde_json::json!({"sub": "a"})).unwrap();
        let claims = Unverified::parse(&jws).unwrap().verify(&set).unwrap();
        assert_eq!(claims["sub"], "a");
        // Another payload under the same signature.
        let mut parts: Vec<&str> = jws.split('.').collect();
        let forged = b64(br#"{"sub":"b"}"#);
        parts[1] = &forged;
        assert_eq!(
            Unverified::parse(&parts.join(".")).unwrap().verify(&set),
            Err(JoseError::Signature)
        );
    }

    #[test]
    fn refuses_none_and_hmac() {
        for alg in ["none", "HS256"] {
            let h = b64(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
            let jws = format!("{h}.{}.", b64(b"{}"));
            assert_eq!(
                Unverified::parse(&jws).unwrap().verify(&JwkSet::default()),
                Err(JoseError::Algorithm(alg.into()))
            );
        }
    }

    #[test]
    fn der_to_fixed_pads_and_strips() {
        // r = 1 (one byte), s = 0x80.. (33 bytes with a leading zero).
        let mut der = vec![0x30, 3 + 35, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00];
        der.extend(std::iter::repeat_n(0x80, 32));
        let fixed = ecdsa_der_to_fixed(&der).unwrap();
        assert_eq!(fixed[31], 1);
        assert!(fixed[..31].iter().all(|b| *b == 0));
        assert!(fixed[32..].iter().all(|b| *b == 0x80));
        assert!(ecdsa_der_to_fixed(&der[..10]).is_err());
    }
}
