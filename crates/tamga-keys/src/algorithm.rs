//! Key and signature algorithms Tamga signs with (the set EN 319 412 / ETSI TS 119 312 accept).

use std::fmt;
use std::str::FromStr;

use crate::KeyError;

/// `Display` and `FromStr` through the stable `name()`.
macro_rules! named {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $t {
            type Err = KeyError;
            fn from_str(s: &str) -> Result<Self, KeyError> {
                Self::ALL
                    .into_iter()
                    .find(|a| a.name() == s)
                    .ok_or_else(|| KeyError::UnknownAlgorithm(s.to_owned()))
            }
        }
    };
}

/// The kind of a key pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (secp256r1).
    EcP256,
    /// ECDSA on NIST P-384 (secp384r1).
    EcP384,
    /// EdDSA on edwards25519 (RFC 8032).
    Ed25519,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
}

impl KeyAlgorithm {
    /// Every supported key algorithm.
    pub const ALL: [KeyAlgorithm; 6] = [
        Self::EcP256,
        Self::EcP384,
        Self::Ed25519,
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
    ];

    /// The stable name used in config files and CLI flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
            Self::Ed25519 => "ed25519",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
        }
    }

    /// The signature algorithm a key of this kind uses unless told otherwise.
    pub fn default_signature(self) -> SignatureAlgorithm {
        match self {
            Self::EcP256 => SignatureAlgorithm::EcdsaP256Sha256,
            Self::EcP384 => SignatureAlgorithm::EcdsaP384Sha384,
            Self::Ed25519 => SignatureAlgorithm::Ed25519,
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => SignatureAlgorithm::RsaPkcs1Sha256,
        }
    }

    /// RSA modulus size in bits, if this is an RSA key.
    pub fn rsa_bits(self) -> Option<u32> {
        match self {
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    pub(crate) fn from_rsa_bits(bits: usize) -> Option<Self> {
        match bits {
            2048 => Some(Self::Rsa2048),
            3072 => Some(Self::Rsa3072),
            4096 => Some(Self::Rsa4096),
            _ => None,
        }
    }
}

named!(KeyAlgorithm);

/// A signature scheme: key kind, padding and hash together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// ECDSA P-256 with SHA-256, DER `Ecdsa-Sig-Value`.
    EcdsaP256Sha256,
    /// ECDSA P-384 with SHA-384, DER `Ecdsa-Sig-Value`.
    EcdsaP384Sha384,
    /// Pure Ed25519.
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2).
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt (RFC 8017 §8.1).
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, 48-byte salt.
    RsaPssSha384,
}

/// The hash an ECDSA signature algorithm signs with (for signing digests).
pub(crate) fn ecdsa_hash(
    algorithm: SignatureAlgorithm,
) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => Some(&aws_lc_rs::digest::SHA256),
        SignatureAlgorithm::EcdsaP384Sha384 => Some(&aws_lc_rs::digest::SHA384),
        _ => None,
    }
}

impl SignatureAlgorithm {
    /// Every supported signature algorithm.
    pub const ALL: [SignatureAlgorithm; 7] = [
        Self::EcdsaP256Sha256,
        Self::EcdsaP384Sha384,
        Self::Ed25519,
        Self::RsaPkcs1Sha256,
        Self::RsaPkcs1Sha384,
        Self::RsaPssSha256,
        Self::RsaPssSha384,
    ];

    /// The stable name used in config files, CLI flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Self::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            Self::Ed25519 => "ed25519",
            Self::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            Self::RsaPkcs1Sha384 => "rsa-pkcs1-sha384",
            Self::RsaPssSha256 => "rsa-pss-sha256",
            Self::RsaPssSha384 => "rsa-pss-sha384",
        }
    }

    /// Whether a key of kind `key` can make this signature.
    pub fn fits(self, key: KeyAlgorithm) -> bool {
        match self {
            Self::EcdsaP256Sha256 => key == KeyAlgorithm::EcP256,
            Self::EcdsaP384Sha384 => key == KeyAlgorithm::EcP384,
            Self::Ed25519 => key == KeyAlgorithm::Ed25519,
            Self::RsaPkcs1Sha256
            | Self::RsaPkcs1Sha384
            | Self::RsaPssSha256
            | Self::RsaPssSha384 => key.rsa_bits().is_some(),
        }
    }

    pub(crate) fn check_fits(self, key: KeyAlgorithm) -> Result<(), KeyError> {
        if self.fits(key) {
            Ok(())
        } else {
            Err(KeyError::AlgorithmMismatch {
                key,
                requested: self,
            })
        }
    }
}

named!(SignatureAlgorithm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(a.to_string().parse::<KeyAlgorithm>().unwrap(), a);
            assert!(a.default_signature().fits(a));
        }
        for s in SignatureAlgorithm::ALL {
            assert_eq!(s.name().parse::<SignatureAlgorithm>().unwrap(), s);
        }
        assert!(matches!(
            "dsa".parse::<KeyAlgorithm>(),
            Err(KeyError::UnknownAlgorithm(_))
        ));
        assert!(!SignatureAlgorithm::EcdsaP256Sha256.fits(KeyAlgorithm::EcP384));
        assert!(SignatureAlgorithm::RsaPssSha384.fits(KeyAlgorithm::Rsa2048));
    }
}
