//! Revocation of the other gateway's signing certificate, checked with OCSP (RFC 6960) against
//! its issuer from the global configuration. Answers are cached for a short, configurable time
//! (a revoked gateway is refused within that time); no answer means no exchange (fail closed).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tamga_pki::ParsedCert;
use tamga_pki::crl::CrlStatus;

use crate::globalconf::sha256;

/// Cached verdicts: certificate hash → (verdict, valid until, Unix seconds).
type Cache = HashMap<[u8; 32], (Result<(), String>, i64)>;

/// The OCSP checker with its cache.
pub struct Revocation {
    http: reqwest::Client,
    cache_secs: i64,
    cache: Mutex<Cache>,
    enabled: bool,
}

impl Revocation {
    /// A checker caching answers for `cache_secs`.
    pub fn new(cache_secs: i64) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            cache_secs: cache_secs.max(0),
            cache: Mutex::new(HashMap::new()),
            enabled: true,
        }
    }

    /// A checker that accepts every certificate (tests of other layers only; the gateway never
    /// builds one from configuration).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new(0)
        }
    }

    /// `Ok` when an OCSP responder says `cert_der` is good; the reason otherwise.
    pub async fn check(&self, cert_der: &[u8], cas: &[Vec<u8>]) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        let key = sha256(cert_der);
        let now = tamga_store::now_ms() / 1000;
        if let Some((r, until)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            && now < *until
        {
            return r.clone();
        }
        let result = self.ask(cert_der, cas, now).await;
        // Transport failures are not cached: the next request asks again.
        if !matches!(&result, Err(e) if e.starts_with("OCSP responder unreachable")) {
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (result.clone(), now + self.cache_secs));
        }
        result
    }

    async fn ask(&self, cert_der: &[u8], cas: &[Vec<u8>], now: i64) -> Result<(), String> {
        let cert = ParsedCert::from_der(cert_der).map_err(|e| format!("certificate: {e}"))?;
        let issuer = cas
            .iter()
            .filter_map(|d| ParsedCert::from_der(d).ok())
            .find(|c| c.subject() == cert.issuer())
            .ok_or("the certificate's issuer is not among the configuration's CAs")?;
        let url = cert
            .ocsp_urls()
            .into_iter()
            .next()
            .ok_or("the certificate names no OCSP responder")?;
        let req = tamga_pki::ocsp::build_request(&issuer, cert.serial(), None)
            .map_err(|e| format!("OCSP request: {e}"))?;
        let resp = self
            .http
            .post(&url)
            .header("content-type", "application/ocsp-request")
            .body(req)
            .send()
            .await
            .map_err(|e| format!("OCSP responder unreachable: {e}"))?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("OCSP responder unreachable: {e}"))?;
        match tamga_pki::ocsp::check_response(
            &body,
            &cert,
            &issuer,
            now,
            tamga_pki::AlgorithmPolicy::Strict,
        )? {
            CrlStatus::Good => Ok(()),
            CrlStatus::Revoked { at, reason } => Err(format!(
                "the certificate was revoked at {} ({})",
                crate::tracker::rfc3339(at * 1000),
                reason.unwrap_or_else(|| "no reason given".into())
            )),
            CrlStatus::Stale(m) | CrlStatus::Unknown(m) => Err(m),
        }
    }
}
