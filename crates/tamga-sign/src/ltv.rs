//! Gathering validation data for B-LT (EN 319 142-1 §5.4.2, EN 319 122-1 §5.5): every
//! certificate of the signer's and the time-stamp authority's chains, and a fresh OCSP response
//! for each certificate that has a responder, checked before it is embedded.

use tamga_pki::ParsedCert;

use crate::pades::ValidationData;

/// An OCSP client: responder URL and DER OCSPRequest in, DER OCSPResponse out.
pub type OcspFetch<'a> = &'a dyn Fn(&str, &[u8]) -> Result<Vec<u8>, String>;

/// Collects certificates and OCSP responses for `certs` (each with its issuer among `certs`):
/// a certificate whose issuer names an OCSP responder must get a "good" answer, or the
/// extension fails, rather than producing a B-LT signature that cannot be validated later.
pub fn collect(
    certs: &[ParsedCert],
    fetch: OcspFetch<'_>,
    now: i64,
) -> Result<ValidationData, String> {
    let mut data = ValidationData::default();
    for c in certs {
        if !data.certs.contains(&c.der) {
            data.certs.push(c.der.clone());
        }
    }
    for c in certs {
        if c.is_self_issued() {
            continue;
        }
        let Some(issuer) = certs
            .iter()
            .find(|i| tamga_pki::name::names_match(i.subject(), c.issuer()) && i.der != c.der)
        else {
            continue;
        };
        let Some(url) = c.ocsp_urls().into_iter().next() else {
            continue;
        };
        let req = tamga_pki::ocsp::build_request(issuer, c.serial(), None)
            .map_err(|e| format!("OCSP request for {}: {e}", c.subject_string()))?;
        let resp = fetch(&url, &req).map_err(|e| format!("OCSP {url}: {e}"))?;
        let parsed = tamga_pki::ocsp::ParsedResponse::from_der(&resp)
            .map_err(|e| format!("OCSP {url}: {e}"))?;
        match parsed.status_for(c, issuer, now, tamga_pki::AlgorithmPolicy::Strict, &[]) {
            Ok(tamga_pki::crl::CrlStatus::Good) => {}
            Ok(other) => {
                return Err(format!(
                    "OCSP {url}: {} is not good: {other:?}",
                    c.subject_string()
                ));
            }
            Err(e) => return Err(format!("OCSP {url}: {e}")),
        }
        for rc in parsed.certificates() {
            if !data.certs.contains(&rc.der) {
                data.certs.push(rc.der.clone());
            }
        }
        data.ocsps.push(resp);
    }
    Ok(data)
}

/// The TSA certificate inside a DER time-stamp token (for adding its chain to B-LT data).
pub fn token_signer(token: &[u8]) -> Option<ParsedCert> {
    let sd = crate::cms_read::parse_signed_data(crate::validate::trim_der(token)).ok()?;
    let si = sd.signers.first()?;
    let pool: Vec<ParsedCert> = sd
        .certificates
        .iter()
        .filter_map(|c| ParsedCert::from_der(c).ok())
        .collect();
    crate::validate::find_signer(&si.sid, &pool)
}

/// The certificates carried by the signature time-stamp tokens of a CMS signature (B-LT data
/// must cover the time-stamp authority's chain too).
pub fn timestamp_certificates(cms_der: &[u8]) -> Vec<ParsedCert> {
    let Ok(sd) = crate::cms_read::parse_signed_data(crate::validate::trim_der(cms_der)) else {
        return vec![];
    };
    let mut out: Vec<ParsedCert> = Vec::new();
    for si in &sd.signers {
        for tok in si.unsigned(crate::ID_AA_SIGNATURE_TIME_STAMP_TOKEN) {
            let Ok(ts) = crate::cms_read::parse_signed_data(tok) else {
                continue;
            };
            for c in ts.certificates {
                if let Ok(p) = ParsedCert::from_der(&c)
                    && !out.iter().any(|o| o.der == p.der)
                {
                    out.push(p);
                }
            }
        }
    }
    out
}
