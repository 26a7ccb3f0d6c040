//! DER building blocks for keys that live on a token: `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7,
//! RFC 5480 for EC, RFC 8410 for Ed25519, RFC 8017 A.1.1 for RSA) and ECDSA signature values
//! (RFC 3279 §2.2.3), which PKCS#11 returns as raw `r || s`.

use der::asn1::{AnyRef, BitString, Null, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Any, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{KeyAlgorithm, KeyError};

pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

fn der_err(e: der::Error) -> KeyError {
    KeyError::MalformedPublicKey(e.to_string())
}

fn encode_spki(
    oid: ObjectIdentifier,
    parameters: Option<Any>,
    key_bits: &[u8],
) -> Result<Vec<u8>, KeyError> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned { oid, parameters },
        subject_public_key: BitString::from_bytes(key_bits).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}

/// The DER `ECParameters` a PKCS#11 token wants in `CKA_EC_PARAMS` for this key kind.
pub(crate) fn curve_params_der(algorithm: KeyAlgorithm) -> Option<Vec<u8>> {
    let oid = match algorithm {
        KeyAlgorithm::EcP256 => SECP256R1,
        KeyAlgorithm::EcP384 => SECP384R1,
        KeyAlgorithm::Ed25519 => ID_ED25519,
        _ => return None,
    };
    oid.to_der().ok()
}

/// Which key kind `CKA_EC_PARAMS` names.
pub(crate) fn curve_from_params_der(params: &[u8]) -> Option<KeyAlgorithm> {
    if let Ok(oid) = ObjectIdentifier::from_der(params) {
        return match oid {
            SECP256R1 => Some(KeyAlgorithm::EcP256),
            SECP384R1 => Some(KeyAlgorithm::EcP384),
            ID_ED25519 => Some(KeyAlgorithm::Ed25519),
            _ => None,
        };
    }
    // PKCS#11 3.0 also allows a PrintableString curve name for Edwards curves.
    let any = AnyRef::from_der(params).ok()?;
    match any.value() {
        b"edwards25519" => Some(KeyAlgorithm::Ed25519),
        _ => None,
    }
}

/// `CKA_EC_POINT` is a DER OCTET STRING around the point; some modules return the bare point.
fn unwrap_ec_point(ec_point: &[u8], bare_len: usize) -> Result<&[u8], KeyError> {
    if ec_point.len() == bare_len {
        return Ok(ec_point);
    }
    let inner = OctetStringRef::from_der(ec_point).map_err(der_err)?;
    if inner.as_bytes().len() != bare_len {
        return Err(KeyError::MalformedPublicKey(format!(
            "EC point of {} bytes, expected {bare_len}",
            inner.as_bytes().len()
        )));
    }
    Ok(inner.as_bytes())
}

/// Builds the SPKI of an EC or Ed25519 key from its PKCS#11 `CKA_EC_POINT`.
pub(crate) fn spki_from_ec_point(
    algorithm: KeyAlgorithm,
    ec_point: &[u8],
) -> Result<Vec<u8>, KeyError> {
    match algorithm {
        KeyAlgorithm::EcP256 => encode_spki(
            ID_EC_PUBLIC_KEY,
            Some(Any::encode_from(&SECP256R1).map_err(der_err)?),
            unwrap_ec_point(ec_point, 65)?,
        ),
        KeyAlgorithm::EcP384 => encode_spki(
            ID_EC_PUBLIC_KEY,
            Some(Any::encode_from(&SECP384R1).map_err(der_err)?),
            unwrap_ec_point(ec_point, 97)?,
        ),
        KeyAlgorithm::Ed25519 => encode_spki(ID_ED25519, None, unwrap_ec_point(ec_point, 32)?),
        other => Err(KeyError::MalformedPublicKey(format!(
            "{other} is not an elliptic-curve key"
        ))),
    }
}

/// Builds the SPKI of an RSA key from its modulus and public exponent (big-endian).
pub(crate) fn spki_from_rsa(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, KeyError> {
    let rsa = RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(der_err)?,
        public_exponent: UintRef::new(exponent).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)?;
    encode_spki(RSA_ENCRYPTION, Some(Any::from(Null)), &rsa)
}

/// What kind of key a DER `SubjectPublicKeyInfo` holds.
pub(crate) fn algorithm_of_spki(spki_der: &[u8]) -> Result<KeyAlgorithm, String> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| e.to_string())?;
    match spki.algorithm.oid {
        ID_EC_PUBLIC_KEY => match spki.algorithm.parameters_oid().map_err(|e| e.to_string())? {
            SECP256R1 => Ok(KeyAlgorithm::EcP256),
            SECP384R1 => Ok(KeyAlgorithm::EcP384),
            other => Err(format!("unsupported EC curve {other}")),
        },
        ID_ED25519 => Ok(KeyAlgorithm::Ed25519),
        RSA_ENCRYPTION => {
            let bits = spki
                .subject_public_key
                .as_bytes()
                .and_then(|b| RsaPublicKey::from_der(b).ok())
                .and_then(|k| {
                    let m = k.modulus.as_bytes();
                    let lead = *m.first()?;
                    Some((m.len() - 1) * 8 + (8 - lead.leading_zeros() as usize))
                })
                .ok_or_else(|| "malformed RSA public key".to_owned())?;
            KeyAlgorithm::from_rsa_bits(bits).ok_or_else(|| format!("unsupported RSA-{bits} key"))
        }
        other => Err(format!("unsupported key algorithm {other}")),
    }
}

/// Converts a raw `r || s` ECDSA signature to DER `Ecdsa-Sig-Value`.
pub(crate) fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, KeyError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(KeyError::Crypto(
            "token returned a malformed ECDSA signature",
        ));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    EcdsaSigValue {
        r: UintRef::new(r).map_err(|_| KeyError::Crypto("ECDSA r"))?,
        s: UintRef::new(s).map_err(|_| KeyError::Crypto("ECDSA s"))?,
    }
    .to_der()
    .map_err(|_| KeyError::Crypto("ECDSA signature encoding"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPublicKeyUncompressedBin, PublicKeyX509Der};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    #[test]
    fn ec_spki_matches_aws_lc() {
        let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let point: EcPublicKeyUncompressedBin = kp.public_key().as_be_bytes().unwrap();
        let expected: PublicKeyX509Der = kp.public_key().as_der().unwrap();
        // Both the bare point and the DER-wrapped one give the same SPKI.
        let bare = spki_from_ec_point(KeyAlgorithm::EcP256, point.as_ref()).unwrap();
        let wrapped_point = OctetStringRef::new(point.as_ref())
            .unwrap()
            .to_der()
            .unwrap();
        let wrapped = spki_from_ec_point(KeyAlgorithm::EcP256, &wrapped_point).unwrap();
        assert_eq!(bare, expected.as_ref());
        assert_eq!(wrapped, expected.as_ref());
    }

    #[test]
    fn wrong_point_length_is_an_error() {
        assert!(spki_from_ec_point(KeyAlgorithm::EcP384, &[4u8; 65]).is_err());
    }

    #[test]
    fn curve_params_round_trip() {
        for alg in [
            KeyAlgorithm::EcP256,
            KeyAlgorithm::EcP384,
            KeyAlgorithm::Ed25519,
        ] {
            let der = curve_params_der(alg).unwrap();
            assert_eq!(curve_from_params_der(&der), Some(alg));
        }
        assert_eq!(
            curve_from_params_der(b"\x13\x0cedwards25519"),
            Some(KeyAlgorithm::Ed25519)
        );
        assert_eq!(curve_from_params_der(b"\x05\x00"), None);
    }

    #[test]
    fn ecdsa_raw_to_der_strips_leading_zeros() {
        let mut raw = vec![0u8; 64];
        raw[31] = 1;
        raw[32] = 0x80;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        // SEQUENCE { INTEGER 1, INTEGER 0x0080..00 (33 bytes with sign pad) }
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x01, 0x01]);
        assert_eq!(&der[5..8], &[0x02, 0x21, 0x00]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
    }
}
