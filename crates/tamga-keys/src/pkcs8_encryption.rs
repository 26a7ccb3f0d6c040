//! PKCS#8 `EncryptedPrivateKeyInfo` (RFC 5958 §3) with PBES2 (RFC 8018 §6.2).
//!
//! Written as PBKDF2-HMAC-SHA-256 + AES-256-CBC, the profile OpenSSL 3 uses by default, so an
//! operator can inspect or re-wrap a Tamga key with `openssl pkcs8`. Read: PBKDF2 with
//! HMAC-SHA-1/256/384/512 and AES-128/192/256-CBC; scrypt and PBES1 are refused by name.
//! The crypto is aws-lc-rs; RustCrypto's `pkcs5` supplies only the ASN.1 types.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::{pbkdf2, rand};
use der::{Decode, Encode};
use pkcs8::EncryptedPrivateKeyInfo;
use pkcs8::pkcs5::EncryptionScheme;
use pkcs8::pkcs5::pbes2::{self, Pbkdf2Prf};
use zeroize::Zeroizing;

use crate::KeyError;

/// PBKDF2 iterations for new key files (OWASP 2023 guidance for PBKDF2-HMAC-SHA-256).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;

/// More iterations than this in a file we are asked to read is a denial-of-service attempt.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Encrypts a DER `PrivateKeyInfo` into a DER `EncryptedPrivateKeyInfo`.
pub fn encrypt_pkcs8(
    private_key_info: &[u8],
    passphrase: &[u8],
    iterations: u32,
) -> Result<Vec<u8>, KeyError> {
    if passphrase.is_empty() {
        return Err(KeyError::EmptyPassphrase);
    }
    let iterations =
        NonZeroU32::new(iterations).ok_or(KeyError::Crypto("zero PBKDF2 iterations"))?;
    let mut salt = [0u8; 16];
    rand::fill(&mut salt).map_err(|_| KeyError::Crypto("random salt"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        passphrase,
        key.as_mut(),
    );
    let cipher = UnboundCipherKey::new(&AES_256, key.as_ref())
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| KeyError::Crypto("AES-256-CBC key"))?;
    let mut data = private_key_info.to_vec();
    let context = cipher
        .encrypt(&mut data)
        .map_err(|_| KeyError::Crypto("AES-256-CBC encryption"))?;
    let iv: &[u8] = (&context)
        .try_into()
        .map_err(|_| KeyError::Crypto("AES-256-CBC IV"))?;
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| KeyError::Crypto("AES-256-CBC IV"))?;

    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(iterations.get(), &salt, &iv)
        .map_err(|e| KeyError::Pkcs8(e.to_string()))?;
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: EncryptionScheme::Pbes2(params),
        encrypted_data: &data,
    };
    info.to_der().map_err(|e| KeyError::Pkcs8(e.to_string()))
}

/// Decrypts a DER `EncryptedPrivateKeyInfo` into a DER `PrivateKeyInfo`.
///
/// A wrong passphrase gives [`KeyError::WrongPassphrase`] with an empty path; callers that read
/// files put the path in.
pub fn decrypt_pkcs8(encrypted: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let info = EncryptedPrivateKeyInfo::from_der(encrypted)
        .map_err(|e| KeyError::Pkcs8(format!("not an EncryptedPrivateKeyInfo: {e}")))?;
    let data = pbes2_decrypt(&info.encryption_algorithm, info.encrypted_data, passphrase)?;
    // CBC padding passes by chance about once in 256 wrong passphrases; the DER check catches it.
    pkcs8::PrivateKeyInfo::from_der(&data).map_err(|_| wrong_passphrase())?;
    Ok(data)
}

/// Decrypts PBES2 (PBKDF2 + AES-CBC) ciphertext: PKCS#8 keys and PKCS#12 EncryptedData.
pub(crate) fn pbes2_decrypt(
    scheme: &EncryptionScheme<'_>,
    ciphertext: &[u8],
    passphrase: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let params = match scheme {
        EncryptionScheme::Pbes2(p) => p,
        _ => {
            return Err(KeyError::Pkcs8(
                "PBES1 encryption is obsolete and not supported; re-wrap with PBES2".into(),
            ));
        }
    };
    let pbkdf2_params = params.kdf.pbkdf2().ok_or_else(|| {
        KeyError::Pkcs8(format!("unsupported key derivation {}", params.kdf.oid()))
    })?;
    let prf = match pbkdf2_params.prf {
        Pbkdf2Prf::HmacWithSha1 => pbkdf2::PBKDF2_HMAC_SHA1,
        Pbkdf2Prf::HmacWithSha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        Pbkdf2Prf::HmacWithSha384 => pbkdf2::PBKDF2_HMAC_SHA384,
        Pbkdf2Prf::HmacWithSha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        other => {
            return Err(KeyError::Pkcs8(format!(
                "unsupported PBKDF2 PRF {}",
                other.oid()
            )));
        }
    };
    if pbkdf2_params.iteration_count > MAX_PBKDF2_ITERATIONS {
        return Err(KeyError::Pkcs8(format!(
            "PBKDF2 iteration count {} exceeds the limit {MAX_PBKDF2_ITERATIONS}",
            pbkdf2_params.iteration_count
        )));
    }
    let iterations = NonZeroU32::new(pbkdf2_params.iteration_count)
        .ok_or_else(|| KeyError::Pkcs8("PBKDF2 iteration count is zero".into()))?;
    let (algorithm, key_len, iv) = match params.encryption {
        pbes2::EncryptionScheme::Aes128Cbc { iv } => (&AES_128, 16, iv),
        pbes2::EncryptionScheme::Aes192Cbc { iv } => (&AES_192, 24, iv),
        pbes2::EncryptionScheme::Aes256Cbc { iv } => (&AES_256, 32, iv),
        #[allow(unreachable_patterns)]
        _ => {
            return Err(KeyError::Pkcs8(format!(
                "unsupported cipher {}",
                params.encryption.oid()
            )));
        }
    };
    if let Some(declared) = pbkdf2_params.key_length
        && usize::from(declared) != key_len
    {
        return Err(KeyError::Pkcs8(format!(
            "PBKDF2 key length {declared} does not match the cipher's {key_len}"
        )));
    }
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    pbkdf2::derive(prf, iterations, pbkdf2_params.salt, passphrase, &mut key);
    let cipher = UnboundCipherKey::new(algorithm, &key)
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| KeyError::Crypto("AES-CBC key"))?;
    let mut data = Zeroizing::new(ciphertext.to_vec());
    let plain_len = cipher
        .decrypt(&mut data, DecryptionContext::Iv128((*iv).into()))
        .map_err(|_| wrong_passphrase())?
        .len();
    data.truncate(plain_len);
    Ok(data)
}

fn wrong_passphrase() -> KeyError {
    KeyError::WrongPassphrase {
        path: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_key() -> Vec<u8> {
        let kp = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        )
        .unwrap();
        kp.to_pkcs8v1().unwrap().as_ref().to_vec()
    }

    #[test]
    fn round_trip() {
        let key = sample_key();
        let enc = encrypt_pkcs8(&key, b"correct horse", 1000).unwrap();
        assert_ne!(enc, key);
        let dec = decrypt_pkcs8(&enc, b"correct horse").unwrap();
        assert_eq!(&dec[..], &key[..]);
    }

    #[test]
    fn wrong_passphrase_is_named() {
        let enc = encrypt_pkcs8(&sample_key(), b"right", 1000).unwrap();
        // Try many wrong passphrases so the 1-in-256 lucky padding case is exercised too.
        for i in 0..64 {
            let err = decrypt_pkcs8(&enc, format!("wrong-{i}").as_bytes()).unwrap_err();
            assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err}");
        }
    }

    #[test]
    fn empty_passphrase_refused() {
        assert!(matches!(
            encrypt_pkcs8(&sample_key(), b"", 1000),
            Err(KeyError::EmptyPassphrase)
        ));
    }

    #[test]
    fn garbage_is_a_pkcs8_error_not_a_panic() {
        for input in [&b""[..], b"\x30\x03\x02\x01\x00", &[0xff; 40]] {
            assert!(matches!(
                decrypt_pkcs8(input, b"x"),
                Err(KeyError::Pkcs8(_))
            ));
        }
    }

    #[test]
    fn absurd_iteration_count_refused() {
        let (salt, iv) = ([1u8; 16], [2u8; 16]);
        let params =
            pbes2::Parameters::pbkdf2_sha256_aes256cbc(MAX_PBKDF2_ITERATIONS + 1, &salt, &iv)
                .unwrap();
        let forged = EncryptedPrivateKeyInfo {
            encryption_algorithm: EncryptionScheme::Pbes2(params),
            encrypted_data: &[0u8; 32],
        }
        .to_der()
        .unwrap();
        let err = decrypt_pkcs8(&forged, b"pw").unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
    }
}
