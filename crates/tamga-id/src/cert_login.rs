//! Certificate sign-in (level high): a separate TLS listener that asks the browser for a client
//! certificate (RFC 8446 §4.3.2 CertificateRequest, naming the accepted CAs), then validates
//! what was presented as RFC 5280 requires — path to a configured anchor, keyUsage
//! digitalSignature, validity — and its revocation status by OCSP (RFC 6960) before the
//! citizen counts as signed in. The TLS layer itself only checks that the client holds the
//! key (the handshake signature); chain policy is the application's, so a refused certificate
//! gets a page that says why instead of a broken connection.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tamga_pki::crl::CrlSet;
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::{ParsedCert, Purpose, RevocationMode, ValidationInput};

use crate::provider::{BoxFuture, CertificateChecker, Profile};

/// Asks whether a certificate is revoked: `(certificate, candidate issuers)` → verdict.
pub type OcspCheck =
    Arc<dyn Fn(Vec<u8>, Vec<Vec<u8>>) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Validates ID-card authentication certificates against configured anchors.
pub struct PkiChecker {
    anchors: Vec<ParsedCert>,
    intermediates: Vec<ParsedCert>,
    ocsp: OcspCheck,
}

impl PkiChecker {
    /// A checker trusting `anchors` (roots), with known `intermediates`, asking `ocsp`.
    pub fn new(anchors: Vec<ParsedCert>, intermediates: Vec<ParsedCert>, ocsp: OcspCheck) -> Self {
        Self {
            anchors,
            intermediates,
            ocsp,
        }
    }

    /// The subjects browsers are told to pick certificates from.
    pub fn hints(&self) -> Vec<DistinguishedName> {
        self.anchors
            .iter()
            .chain(&self.intermediates)
            .filter_map(|c| {
                use der::Encode;
                c.subject().to_der().ok().map(DistinguishedName::from)
            })
            .collect()
    }

    async fn check_chain(&self, chain: &[Vec<u8>]) -> Result<(String, Profile), String> {
        let leaf_der = chain.first().ok_or("no certificate was presented")?;
        let leaf = ParsedCert::from_der(leaf_der).map_err(|e| format!("certificate: {e}"))?;
        let mut intermediates: Vec<ParsedCert> = chain[1..]
            .iter()
            .filter_map(|d| ParsedCert::from_der(d).ok())
            .collect();
        intermediates.extend(self.intermediates.iter().cloned());
        let crls = CrlSet::default();
        let out = tamga_pki::validate(&ValidationInput {
            target: &leaf,
            intermediates: &intermediates,
            anchors: &self.anchors,
            time: crate::provider::now(),
            purpose: Purpose::Auth,
            policy: Default::default(),
            algorithms: tamga_pki::AlgorithmPolicy::Strict,
            crls: &crls,
            ocsp_responses: &[],
            revocation: RevocationMode::Off,
            fixed_path: None,
        })
        .map_err(|e| e.to_string())?;
        let issuers: Vec<Vec<u8>> = out.path.iter().map(|c| c.der.clone()).collect();
        (self.ocsp)(leaf_der.clone(), issuers).await?;
        let serial = tamga_pki::name::attribute_texts(
            leaf.subject(),
            const_oid::ObjectIdentifier::new_unwrap("2.5.4.5"),
        );
        let reg = serial.iter().find_map(|s| s.strip_prefix("PNOMN-")).ok_or(
            "the certificate names no Mongolian registration number (serialNumber PNOMN-…)",
        )?;
        let reg = RegistrationNumber::from_latin(reg).map_err(|e| e.to_string())?;
        let text = |oid: &str| {
            tamga_pki::name::attribute_texts(
                leaf.subject(),
                const_oid::ObjectIdentifier::new_unwrap(oid),
            )
            .into_iter()
            .next()
            .unwrap_or_default()
        };
        Ok((
            reg.cyrillic(),
            Profile {
                given_name: text("2.5.4.42"),
                family_name: text("2.5.4.4"),
                birthdate: None,
            },
        ))
    }
}

impl CertificateChecker for PkiChecker {
    fn check<'a>(
        &'a self,
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<(String, Profile), String>> {
        Box::pin(self.check_chain(chain))
    }
}

/// The client certificate chain the TLS peer presented, leaf first (request extension).
#[derive(Debug, Clone, Default)]
pub struct PeerChain(pub Arc<Vec<Vec<u8>>>);

#[derive(Debug)]
struct AnyClientCert {
    hints: Vec<DistinguishedName>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Chain, purpose and revocation are validated by the application (see the module
        // docs); rustls still verifies the handshake signature with the leaf's key.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The listener's TLS configuration: server certificate `chain` (leaf first) and its PKCS#8
/// key; client certificates requested from the CAs in `hints`.
pub fn server_config(
    chain: Vec<Vec<u8>>,
    key_pkcs8: Vec<u8>,
    hints: Vec<DistinguishedName>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let algs = provider.signature_verification_algorithms;
    let mut c = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(Arc::new(AnyClientCert { hints, algs }))
        .with_single_cert(
            chain.into_iter().map(CertificateDer::from).collect(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8)),
        )?;
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(c)
}

/// Serves `router` over TLS until `stop` resolves; each request carries the [`PeerChain`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: axum::Router,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "certificate sign-in accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => return,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let chain = PeerChain(Arc::new(
                tls.get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.as_ref().to_vec()).collect())
                    .unwrap_or_default(),
            ));
            let service =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(chain.clone());
                    let router = router.clone();
                    async move {
                        use tower::ServiceExt;
                        router.oneshot(req.map(axum::body::Body::new)).await
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}
