//! PKCS#12 files (RFC 7292) holding one private key and its certificate chain, in the profile
//! OpenSSL 3 writes by default: the key in a pkcs8ShroudedKeyBag encrypted with PBES2
//! (PBKDF2-HMAC-SHA-256, AES-256-CBC), certificates in certBags, and an HMAC-SHA-256 integrity
//! MAC whose key comes from the PKCS#12 key-derivation function (RFC 7292 Appendix B).

use aws_lc_rs::{digest, hmac, rand};
use der::asn1::{BmpString, ContextSpecific, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, TagMode, TagNumber, ValueOrd};

use crate::{KeyError, encrypt_pkcs8};

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Iterations of the MAC's key derivation (OpenSSL 3's default is 2048).
const MAC_ITERATIONS: u32 = 2048;

#[derive(Sequence, ValueOrd)]
struct Attribute {
    oid: ObjectIdentifier,
    values: SetOfVec<Any>,
}

#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    bag_value: ContextSpecific<Any>,
    attributes: Option<SetOfVec<Attribute>>,
}

#[derive(Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    cert_value: ContextSpecific<OctetString>,
}

#[derive(Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    content: ContextSpecific<OctetString>,
}

#[derive(Sequence)]
struct AlgorithmIdentifier {
    oid: ObjectIdentifier,
    params: Option<der::asn1::Null>,
}

#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifier,
    digest: OctetString,
}

#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    salt: OctetString,
    iterations: u32,
}

#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
    mac_data: MacData,
}

fn explicit<T>(value: T) -> ContextSpecific<T> {
    ContextSpecific {
        tag_number: TagNumber::N0,
        tag_mode: TagMode::Explicit,
        value,
    }
}

fn der_err(e: der::Error) -> KeyError {
    KeyError::Pkcs8(format!("PKCS#12 encoding: {e}"))
}

fn data_info(content: Vec<u8>) -> Result<ContentInfo, KeyError> {
    Ok(ContentInfo {
        content_type: ID_DATA,
        content: explicit(OctetString::new(content).map_err(der_err)?),
    })
}

/// RFC 7292 Appendix B.2 with SHA-256 (u = 32, v = 64).
fn pkcs12_kdf(password: &str, salt: &[u8], id: u8, iterations: u32, len: usize) -> Vec<u8> {
    const U: usize = 32;
    const V: usize = 64;
    let mut pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    pw.extend([0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let n = V * src.len().div_ceil(V);
        src.iter().copied().cycle().take(n).collect()
    };
    let mut i_block = fill(salt);
    i_block.extend(fill(&pw));
    let d = [id; V];
    let mut out = Vec::with_capacity(len + U);
    while out.len() < len {
        let mut a = {
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&d);
            ctx.update(&i_block);
            ctx.finish().as_ref().to_vec()
        };
        for _ in 1..iterations {
            a = digest::digest(&digest::SHA256, &a).as_ref().to_vec();
        }
        out.extend_from_slice(&a);
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for chunk in i_block.chunks_mut(V) {
            // chunk = (chunk + b + 1) mod 2^(8v)
            let mut carry = 1u16;
            for k in (0..V).rev() {
                let sum = u16::from(chunk[k]) + u16::from(b[k]) + carry;
                chunk[k] = (sum & 0xff) as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

/// Builds a password-protected PKCS#12 file with the DER `PrivateKeyInfo` `key_pkcs8`, its
/// certificate `cert` and the rest of the chain `chain` (issuer first); the key is encrypted
/// with `kdf_iterations` rounds of PBKDF2.
pub fn build_pkcs12(
    key_pkcs8: &[u8],
    cert: &[u8],
    chain: &[Vec<u8>],
    password: &str,
    friendly_name: &str,
    kdf_iterations: u32,
) -> Result<Vec<u8>, KeyError> {
    if password.is_empty() {
        return Err(KeyError::EmptyPassphrase);
    }
    let local_key_id = digest::digest(&digest::SHA256, cert).as_ref()[..20].to_vec();
    let attrs = || -> Result<SetOfVec<Attribute>, KeyError> {
        let mut set = SetOfVec::new();
        let mut name = SetOfVec::new();
        name.insert(
            Any::encode_from(&BmpString::from_utf8(friendly_name).map_err(der_err)?)
                .map_err(der_err)?,
        )
        .map_err(der_err)?;
        set.insert(Attribute {
            oid: FRIENDLY_NAME,
            values: name,
        })
        .map_err(der_err)?;
        let mut id = SetOfVec::new();
        id.insert(
            Any::encode_from(&OctetString::new(local_key_id.clone()).map_err(der_err)?)
                .map_err(der_err)?,
        )
        .map_err(der_err)?;
        set.insert(Attribute {
            oid: LOCAL_KEY_ID,
            values: id,
        })
        .map_err(der_err)?;
        Ok(set)
    };
    let cert_bag = |der: &[u8], with_attrs: bool| -> Result<SafeBag, KeyError> {
        let bag = CertBag {
            cert_id: X509_CERTIFICATE,
            cert_value: explicit(OctetString::new(der).map_err(der_err)?),
        };
        Ok(SafeBag {
            bag_id: CERT_BAG,
            bag_value: explicit(Any::encode_from(&bag).map_err(der_err)?),
            attributes: if with_attrs { Some(attrs()?) } else { None },
        })
    };
    let mut certs = vec![cert_bag(cert, true)?];
    for c in chain {
        certs.push(cert_bag(c, false)?);
    }
    let encrypted_key = encrypt_pkcs8(key_pkcs8, password.as_bytes(), kdf_iterations)?;
    let key_bag = SafeBag {
        bag_id: SHROUDED_KEY_BAG,
        bag_value: explicit(Any::from_der(&encrypted_key).map_err(der_err)?),
        attributes: Some(attrs()?),
    };
    let auth_safe = vec![
        data_info(certs.to_der().map_err(der_err)?)?,
        data_info(vec![key_bag].to_der().map_err(der_err)?)?,
    ]
    .to_der()
    .map_err(der_err)?;
    let mut salt = [0u8; 16];
    rand::fill(&mut salt).map_err(|_| KeyError::Crypto("random salt"))?;
    let mac_key = pkcs12_kdf(password, &salt, 3, MAC_ITERATIONS, 32);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &mac_key), &auth_safe);
    Pfx {
        version: 3,
        auth_safe: data_info(auth_safe)?,
        mac_data: MacData {
            mac: DigestInfo {
                algorithm: AlgorithmIdentifier {
                    oid: SHA256,
                    params: Some(der::asn1::Null),
                },
                digest: OctetString::new(tag.as_ref()).map_err(der_err)?,
            },
            salt: OctetString::new(salt.to_vec()).map_err(der_err)?,
            iterations: MAC_ITERATIONS,
        },
    }
    .to_der()
    .map_err(der_err)
}

const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");

#[derive(Sequence)]
struct AnyContentInfo {
    content_type: ObjectIdentifier,
    content: Option<ContextSpecific<Any>>,
}

#[derive(Sequence)]
struct AnyAlgorithm {
    oid: ObjectIdentifier,
    params: Option<Any>,
}

#[derive(Sequence)]
struct ReadMac {
    mac: AnyDigestInfo,
    salt: OctetString,
    iterations: Option<u32>,
}

#[derive(Sequence)]
struct AnyDigestInfo {
    algorithm: AnyAlgorithm,
    digest: OctetString,
}

#[derive(Sequence)]
struct ReadPfx {
    version: u8,
    auth_safe: AnyContentInfo,
    mac_data: Option<ReadMac>,
}

/// What a PKCS#12 file holds: the key (DER `PrivateKeyInfo`), the certificate that goes with it
/// and the other certificates.
pub struct Pkcs12Contents {
    /// DER PrivateKeyInfo.
    pub key_pkcs8: zeroize::Zeroizing<Vec<u8>>,
    /// Every certificate in the file (DER), in file order.
    pub certificates: Vec<Vec<u8>>,
}

/// Opens a password-protected PKCS#12 file as OpenSSL 3, pyHanko and Tamga write them: the MAC
/// (HMAC-SHA-256) is checked first, so a wrong password or a changed file is told apart from
/// a malformed one; shrouded key bags and encrypted certificate safes use PBES2 with AES.
/// Legacy RC2/3DES files are refused by name (re-export them with `openssl pkcs12 -export`).
pub fn read_pkcs12(der: &[u8], password: &str) -> Result<Pkcs12Contents, KeyError> {
    let bad = |what: String| KeyError::Pkcs8(format!("PKCS#12: {what}"));
    let pfx = ReadPfx::from_der(der).map_err(|e| bad(format!("not a PKCS#12 file: {e}")))?;
    if pfx.version != 3 {
        return Err(bad(format!("version {} (expected 3)", pfx.version)));
    }
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(bad("public-key integrity mode is not supported".into()));
    }
    let auth_safe = pfx
        .auth_safe
        .content
        .ok_or_else(|| bad("no content".into()))?
        .value
        .decode_as::<OctetString>()
        .map_err(|e| bad(e.to_string()))?
        .into_bytes();
    if let Some(mac) = &pfx.mac_data {
        if mac.mac.algorithm.oid != SHA256 {
            return Err(bad(format!(
                "MAC algorithm {} is not supported (HMAC-SHA-256 is)",
                mac.mac.algorithm.oid
            )));
        }
        let iterations = mac.iterations.unwrap_or(1);
        if iterations > 10_000_000 {
            return Err(bad("MAC iteration count too large".into()));
        }
        let key = pkcs12_kdf(password, mac.salt.as_bytes(), 3, iterations, 32);
        hmac::verify(
            &hmac::Key::new(hmac::HMAC_SHA256, &key),
            &auth_safe,
            mac.mac.digest.as_bytes(),
        )
        .map_err(|_| KeyError::WrongPassphrase {
            path: Default::default(),
        })?;
    }
    let safes: Vec<AnyContentInfo> =
        Vec::from_der(&auth_safe).map_err(|e| bad(format!("AuthenticatedSafe: {e}")))?;
    let mut key = None;
    let mut certificates = Vec::new();
    for safe in safes {
        let content = safe
            .content
            .ok_or_else(|| bad("empty SafeContents".into()))?
            .value;
        let plain: zeroize::Zeroizing<Vec<u8>> = match safe.content_type {
            ID_DATA => zeroize::Zeroizing::new(
                content
                    .decode_as::<OctetString>()
                    .map_err(|e| bad(e.to_string()))?
                    .into_bytes(),
            ),
            ID_ENCRYPTED_DATA => {
                // EncryptedData { version, EncryptedContentInfo { type, alg, [0] IMPLICIT data } }
                let enc = content.to_der().map_err(der_err)?;
                decrypt_encrypted_data(&enc, password).map_err(|e| match e {
                    KeyError::WrongPassphrase { .. } => e,
                    other => bad(other.to_string()),
                })?
            }
            other => return Err(bad(format!("unsupported safe type {other}"))),
        };
        let bags: Vec<SafeBag> =
            Vec::from_der(&plain).map_err(|e| bad(format!("SafeContents: {e}")))?;
        for bag in bags {
            match bag.bag_id {
                CERT_BAG => {
                    let cb: CertBag = bag
                        .bag_value
                        .value
                        .decode_as()
                        .map_err(|e| bad(format!("CertBag: {e}")))?;
                    if cb.cert_id == X509_CERTIFICATE {
                        certificates.push(cb.cert_value.value.into_bytes());
                    }
                }
                SHROUDED_KEY_BAG if key.is_none() => {
                    let enc = bag.bag_value.value.to_der().map_err(der_err)?;
                    key = Some(crate::decrypt_pkcs8(&enc, password.as_bytes())?);
                }
                KEY_BAG if key.is_none() => {
                    key = Some(zeroize::Zeroizing::new(
                        bag.bag_value.value.to_der().map_err(der_err)?,
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(Pkcs12Contents {
        key_pkcs8: key.ok_or_else(|| bad("the file holds no private key".into()))?,
        certificates,
    })
}

fn decrypt_encrypted_data(
    der: &[u8],
    password: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
    #[derive(Sequence)]
    struct EncryptedContentInfo {
        content_type: ObjectIdentifier,
        alg: Any,
        #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
        data: Option<OctetString>,
    }
    #[derive(Sequence)]
    struct EncryptedData {
        version: u8,
        info: EncryptedContentInfo,
    }
    let ed = EncryptedData::from_der(der).map_err(der_err)?;
    let _ = (ed.version, ed.info.content_type);
    let alg_der = ed.info.alg.to_der().map_err(der_err)?;
    let scheme = pkcs8::pkcs5::EncryptionScheme::from_der(&alg_der).map_err(|_| {
        KeyError::Pkcs8(
            "legacy PKCS#12 encryption (RC2/3DES) is not supported; re-export with AES".into(),
        )
    })?;
    let data = ed
        .info
        .data
        .ok_or_else(|| KeyError::Pkcs8("EncryptedData without content".into()))?;
    crate::pkcs8_encryption::pbes2_decrypt(&scheme, data.as_bytes(), password.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdf_is_deterministic_length_exact_and_id_separated() {
        // The interoperability proof (openssl opens our files) is in tests/software.rs.
        let a = pkcs12_kdf("pass", b"saltsalt", 3, 10, 32);
        let b = pkcs12_kdf("pass", b"saltsalt", 3, 10, 32);
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert_ne!(a, pkcs12_kdf("pass", b"saltsalt", 1, 10, 32));
        assert_eq!(pkcs12_kdf("pass", b"salt", 1, 1, 70).len(), 70);
    }
}
