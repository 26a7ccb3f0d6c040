//! RFC 5280 §4 rules a conforming certificate obeys, checked for every certificate of a path.
//!
//! These are the "MUST"s of the certificate profile that §6 does not itself test: positive
//! serial numbers (§4.1.2.2), a non-empty issuer (§4.1.2.4), a subject or a critical
//! subjectAltName (§4.1.2.6, §4.2.1.6), authority and subject key identifiers present and not
//! critical (§4.2.1.1, §4.2.1.2), basicConstraints critical in CA certificates and keyCertSign
//! only with cA (§4.2.1.3, §4.2.1.9), nameConstraints critical and only in CA certificates
//! (§4.2.1.10), and well-formed DNS names and IP addresses in subjectAltName.

use const_oid::db::rfc5280 as oids;
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::ext::pkix::name::GeneralName;

use crate::cert::ParsedCert;

fn critical(cert: &ParsedCert, oid: const_oid::ObjectIdentifier) -> Option<bool> {
    cert.cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.critical)
}

/// Whether `name` is a host name in preferred syntax (RFC 1034 §3.5, RFC 5280 §4.2.1.6), with
/// an optional left-most `*` label when `wildcard` is allowed.
pub fn valid_dns_name(name: &str, wildcard: bool) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').enumerate().all(|(i, label)| {
        (wildcard && i == 0 && label == "*")
            || (!label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    })
}

/// Checks `cert` against the profile; `self_signed` marks a trust anchor's own certificate.
pub fn check(cert: &ParsedCert, self_signed: bool) -> Result<(), String> {
    let serial = cert.serial();
    if serial.first().is_some_and(|b| b & 0x80 != 0) || serial.iter().all(|b| *b == 0) {
        return Err("serial number must be positive (§4.1.2.2)".into());
    }
    if cert.issuer().0.is_empty() {
        return Err("issuer name is empty (§4.1.2.4)".into());
    }
    if cert.subject().0.is_empty() {
        if cert.is_ca() {
            return Err("a CA certificate must have a subject name (§4.1.2.6)".into());
        }
        if critical(cert, oids::ID_CE_SUBJECT_ALT_NAME) != Some(true) {
            return Err(
                "with an empty subject, subjectAltName must be present and critical (§4.2.1.6)"
                    .into(),
            );
        }
    }
    match critical(cert, oids::ID_CE_AUTHORITY_KEY_IDENTIFIER) {
        Some(true) => return Err("authorityKeyIdentifier must not be critical (§4.2.1.1)".into()),
        None if !self_signed => return Err("authorityKeyIdentifier is missing (§4.2.1.1)".into()),
        _ => {}
    }
    match critical(cert, oids::ID_CE_SUBJECT_KEY_IDENTIFIER) {
        Some(true) => return Err("subjectKeyIdentifier must not be critical (§4.2.1.2)".into()),
        None if cert.is_ca() => {
            return Err("a CA certificate needs a subjectKeyIdentifier (§4.2.1.2)".into());
        }
        _ => {}
    }
    // §4.2.1.9 asks CAs to mark basicConstraints critical; §6 validation accepts a non-critical
    // one in intermediates (PKITS 4.6.4), so the rule is enforced for trust anchors only.
    if self_signed && critical(cert, oids::ID_CE_BASIC_CONSTRAINTS) != Some(true) {
        return Err(
            "a trust anchor's basicConstraints must be present and critical (§4.2.1.9)".into(),
        );
    }
    if cert
        .key_usage
        .as_ref()
        .is_some_and(|k| k.0.contains(KeyUsages::KeyCertSign))
        && !cert.is_ca()
    {
        return Err("keyCertSign without basicConstraints cA (§4.2.1.3)".into());
    }
    if let Some(c) = critical(cert, oids::ID_CE_NAME_CONSTRAINTS) {
        if !cert.is_ca() {
            return Err("nameConstraints in a certificate that is not a CA (§4.2.1.10)".into());
        }
        if !c {
            return Err("nameConstraints must be critical (§4.2.1.10)".into());
        }
    }
    if let Some(san) = &cert.subject_alt_name {
        for gn in &san.0 {
            match gn {
                GeneralName::DnsName(d) if !valid_dns_name(d.as_str(), true) => {
                    return Err(format!(
                        "malformed dNSName {:?} in subjectAltName",
                        d.as_str()
                    ));
                }
                GeneralName::IpAddress(ip) if ![4, 16].contains(&ip.as_bytes().len()) => {
                    return Err("malformed iPAddress in subjectAltName".into());
                }
                _ => {}
            }
        }
    }
    Ok(())
}
