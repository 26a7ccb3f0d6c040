//! Name constraints (RFC 5280 §4.2.1.10; processing §6.1.3 (b)–(c) and §6.1.4 (g)).
//!
//! Supported forms: directoryName, rfc822Name (mailbox, host, `.domain`), dNSName and the host
//! of uniformResourceIdentifier. E-mail addresses in the subject DN (`emailAddress`) count as
//! rfc822 names. Each CA's permitted set is kept separately and a name must satisfy all of them
//! (the intersection of §6.1.4 (g)(1)); excluded subtrees accumulate (the union of (g)(2)).

use const_oid::db::rfc3280::EMAIL_ADDRESS;
use x509_cert::ext::pkix::NameConstraints;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::cert::ParsedCert;
use crate::name::{attribute_texts, name_within};

/// The constraint state carried along a path.
#[derive(Default, Debug, Clone)]
pub struct ConstraintState {
    permitted: Vec<Vec<GeneralName>>,
    excluded: Vec<GeneralName>,
}

enum Kind<'a> {
    Dn(&'a Name),
    Email(&'a str),
    Dns(&'a str),
    Uri(&'a str),
    Ip(&'a [u8]),
}

fn ip_matches(addr: &[u8], constraint: &[u8]) -> bool {
    if constraint.len() != addr.len() * 2 {
        return false;
    }
    let (net, mask) = constraint.split_at(addr.len());
    addr.iter()
        .zip(net)
        .zip(mask)
        .all(|((a, n), m)| a & m == n & m)
}

/// A constraint in a form RFC 5280 defines: DNS names without wildcards, IP address and
/// contiguous mask (8 or 32 octets).
fn check_constraint(c: &GeneralName) -> Result<(), String> {
    match c {
        GeneralName::DnsName(d) => {
            let d = d.as_str().trim_start_matches('.');
            if d.is_empty() || crate::profile::valid_dns_name(d, false) {
                Ok(())
            } else {
                Err(format!("malformed dNSName constraint {d:?}"))
            }
        }
        GeneralName::IpAddress(ip) => {
            let b = ip.as_bytes();
            if b.len() != 8 && b.len() != 32 {
                return Err("iPAddress constraint must be 8 or 32 octets".into());
            }
            let mask = &b[b.len() / 2..];
            let bits: Vec<bool> = mask
                .iter()
                .flat_map(|m| (0..8).rev().map(move |i| m >> i & 1 == 1))
                .collect();
            if bits.windows(2).any(|w| !w[0] && w[1]) {
                return Err("iPAddress constraint mask is not contiguous".into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn email_matches(email: &str, constraint: &str) -> bool {
    let (email, c) = (lower(email), lower(constraint));
    if c.contains('@') {
        return email == c;
    }
    let Some((_, host)) = email.rsplit_once('@') else {
        return false;
    };
    if c.starts_with('.') {
        host.ends_with(&c)
    } else {
        host == c
    }
}

fn dns_matches(name: &str, constraint: &str) -> bool {
    let (name, c) = (lower(name), lower(constraint));
    if c.is_empty() {
        return true;
    }
    if c.starts_with('.') {
        return name.ends_with(&c);
    }
    name == c || name.ends_with(&format!(".{c}"))
}

fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://").map(|(_, r)| r)?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

fn uri_matches(uri: &str, constraint: &str) -> bool {
    let Some(host) = uri_host(uri) else {
        return false;
    };
    let (host, c) = (lower(host), lower(constraint));
    if c.starts_with('.') {
        host.ends_with(&c)
    } else {
        host == c
    }
}

/// `Some(result)` when `constraint` is of the same form as `name`.
fn matches(name: &Kind<'_>, constraint: &GeneralName) -> Option<bool> {
    match (name, constraint) {
        (Kind::Dn(n), GeneralName::DirectoryName(c)) => Some(name_within(n, c)),
        (Kind::Email(n), GeneralName::Rfc822Name(c)) => Some(email_matches(n, c.as_str())),
        (Kind::Dns(n), GeneralName::DnsName(c)) => Some(dns_matches(n, c.as_str())),
        (Kind::Uri(n), GeneralName::UniformResourceIdentifier(c)) => {
            Some(uri_matches(n, c.as_str()))
        }
        (Kind::Ip(n), GeneralName::IpAddress(c)) => Some(ip_matches(n, c.as_bytes())),
        _ => None,
    }
}

fn names_of(cert: &ParsedCert) -> (Vec<Kind<'_>>, Vec<String>) {
    let emails = attribute_texts(cert.subject(), EMAIL_ADDRESS);
    let mut kinds = Vec::new();
    if !cert.subject().0.is_empty() {
        kinds.push(Kind::Dn(cert.subject()));
    }
    if let Some(san) = &cert.subject_alt_name {
        for gn in &san.0 {
            match gn {
                GeneralName::DirectoryName(n) => kinds.push(Kind::Dn(n)),
                GeneralName::Rfc822Name(s) => kinds.push(Kind::Email(s.as_str())),
                GeneralName::DnsName(s) => kinds.push(Kind::Dns(s.as_str())),
                GeneralName::UniformResourceIdentifier(s) => kinds.push(Kind::Uri(s.as_str())),
                GeneralName::IpAddress(ip) => kinds.push(Kind::Ip(ip.as_bytes())),
                _ => {}
            }
        }
    }
    (kinds, emails)
}

impl ConstraintState {
    /// Checks `cert`'s subject and subjectAltName against the state; `Err` names the name.
    pub fn check(&self, cert: &ParsedCert) -> Result<(), String> {
        let (mut kinds, emails) = names_of(cert);
        kinds.extend(emails.iter().map(|e| Kind::Email(e)));
        for name in &kinds {
            for set in &self.permitted {
                let verdicts: Vec<bool> = set.iter().filter_map(|c| matches(name, c)).collect();
                if !verdicts.is_empty() && !verdicts.contains(&true) {
                    return Err(format!(
                        "{} is outside the permitted subtrees",
                        describe(name)
                    ));
                }
            }
            if self.excluded.iter().any(|c| matches(name, c) == Some(true)) {
                return Err(format!("{} is within an excluded subtree", describe(name)));
            }
        }
        Ok(())
    }

    /// Adds a CA certificate's nameConstraints; malformed constraints are an error.
    pub fn update(&mut self, nc: &NameConstraints) -> Result<(), String> {
        for s in nc
            .permitted_subtrees
            .iter()
            .chain(&nc.excluded_subtrees)
            .flatten()
        {
            check_constraint(&s.base)?;
            if s.minimum != 0 || s.maximum.is_some() {
                return Err("minimum/maximum in a GeneralSubtree (§4.2.1.10 forbids them)".into());
            }
        }
        if let Some(p) = &nc.permitted_subtrees {
            self.permitted
                .push(p.iter().map(|s| s.base.clone()).collect());
        }
        if let Some(e) = &nc.excluded_subtrees {
            self.excluded.extend(e.iter().map(|s| s.base.clone()));
        }
        Ok(())
    }
}

fn describe(name: &Kind<'_>) -> String {
    match name {
        Kind::Dn(n) => format!("directory name {n}"),
        Kind::Email(e) => format!("e-mail {e}"),
        Kind::Dns(d) => format!("DNS name {d}"),
        Kind::Uri(u) => format!("URI {u}"),
        Kind::Ip(ip) => format!("IP address {ip:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_match_per_rfc5280() {
        assert!(email_matches("a@Example.com", "example.com"));
        assert!(!email_matches("a@host.example.com", "example.com"));
        assert!(email_matches("a@host.example.com", ".example.com"));
        assert!(email_matches("A@example.com", "a@example.com"));
        assert!(dns_matches("www.example.com", "example.com"));
        assert!(!dns_matches("wwwexample.com", "example.com"));
        assert!(uri_matches(
            "http://user@host.example.com:80/x",
            ".example.com"
        ));
        assert!(!uri_matches("http://example.com/", ".example.com"));
    }
}
