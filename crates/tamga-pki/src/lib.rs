//! Tamga's public-key infrastructure.
//!
//! So far: the RFC 5280 §6 certification path validator every Tamga role relies on
//! ([`validate`]), with the parsed certificate view it works on ([`cert`]), DN matching (§7.1),
//! name constraints (§4.2.1.10, §6.1.4), the certificate-policy tree (§6.1.2–§6.1.5), signature
//! verification under an algorithm policy, and CRL-based revocation checking (§6.3). Issuance,
//! OCSP, CRL publication and the trusted list build on this.

pub mod builder;
pub mod cert;
pub mod cms;
pub mod crl;
pub mod crl_issue;
pub mod csr;
pub mod identity;
pub mod issue;
pub mod name;
pub mod name_constraints;
pub mod ocsp;
pub mod policy;
pub mod profile;
pub mod signature;
pub mod time;
pub mod validate;

pub use cert::{CertError, ParsedCert};
pub use signature::AlgorithmPolicy;
pub use validate::{
    Purpose, Reason, RevocationMode, ValidationError, ValidationInput, ValidationOutput,
    matches_dns_name, validate,
};
