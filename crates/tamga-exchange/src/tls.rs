//! Mutual TLS between gateways (TLS 1.3, aws-lc-rs), with certificates pinned by the global
//! configuration instead of chained to a web PKI: a provider accepts a client certificate only
//! if its SHA-256 is a member's registered TLS client certificate; a consumer accepts a server
//! certificate only if it is the registered TLS server certificate of a gateway at the host it
//! dialled. Both also check the pinned certificate's validity period. The handshake signatures
//! are verified by rustls as usual.
//!
//! The provider's accept loop hands each request the peer's certificate pin ([`PeerPin`]) so the
//! gateway can bind the message signer to the TLS peer.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::globalconf::{ConfIndex, sha256};

/// The current global configuration, shared by the TLS verifiers and the gateway.
#[derive(Clone, Default)]
pub struct ConfHandle(Arc<RwLock<Option<Arc<ConfIndex>>>>);

impl std::fmt::Debug for ConfHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfHandle")
    }
}

impl ConfHandle {
    /// The configuration held, if any.
    pub fn get(&self) -> Option<Arc<ConfIndex>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Replaces it.
    pub fn set(&self, c: Arc<ConfIndex>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(c);
    }
}

/// The SHA-256 of the TLS peer's certificate, attached to each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerPin(pub [u8; 32]);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

fn check_period(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let parsed = tamga_pki::ParsedCert::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let t = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if t > parsed.not_after {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    if t < parsed.not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    Ok(())
}

fn unknown() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
}

/// The handshake-signature part of both verifiers: rustls's own checks with aws-lc-rs.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algs.supported_schemes()
        }
    };
}

/// Consumer side: the server certificate must be pinned for the host dialled.
#[derive(Debug)]
struct PinnedServer {
    conf: ConfHandle,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let conf = self.conf.get().ok_or_else(unknown)?;
        let member = conf
            .tls_server_member(&sha256(end_entity.as_ref()))
            .ok_or_else(unknown)?;
        let gw = conf.gateway(member).ok_or_else(unknown)?;
        let host = gw
            .address
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_owned))
            .ok_or_else(unknown)?;
        let dialled = match server_name {
            ServerName::DnsName(d) => d.as_ref().to_owned(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            _ => return Err(unknown()),
        };
        if !host.eq_ignore_ascii_case(&dialled) {
            return Err(unknown());
        }
        check_period(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Provider side: the client certificate must be some member's pinned TLS client certificate.
#[derive(Debug)]
struct PinnedClient {
    conf: ConfHandle,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let conf = self.conf.get().ok_or_else(unknown)?;
        conf.tls_client_member(&sha256(end_entity.as_ref()))
            .ok_or_else(unknown)?;
        check_period(end_entity, now)?;
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// A certificate chain and its PKCS#8 key.
pub struct TlsIdentity {
    /// Leaf first.
    pub chain: Vec<Vec<u8>>,
    /// DER PrivateKeyInfo.
    pub key_pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

impl TlsIdentity {
    fn parts(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (
            self.chain
                .iter()
                .map(|c| CertificateDer::from(c.clone()))
                .collect(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.to_vec())),
        )
    }
}

/// The consumer side's client configuration.
pub fn client_config(
    conf: ConfHandle,
    me: &TlsIdentity,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let (chain, key) = me.parts();
    let mut c = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer {
            conf,
            algs: algorithms(),
        }))
        .with_client_auth_cert(chain, key)?;
    // ALPN is set by the HTTPS connector from the protocols it enables.
    c.alpn_protocols = vec![];
    Ok(c)
}

/// The provider side's server configuration.
pub fn server_config(
    conf: ConfHandle,
    me: &TlsIdentity,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let (chain, key) = me.parts();
    let mut c = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(PinnedClient {
            conf,
            algs: algorithms(),
        }))
        .with_single_cert(chain, key)?;
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(c)
}

/// Serves `router` over TLS on `listener` until `stop` resolves; each request carries the
/// peer's [`PeerPin`]. Handshakes that take longer than 10 s are dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: axum::Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "gateway accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => return,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::info!(error = %e, "gateway TLS handshake refused");
                        return;
                    }
                    Err(_) => return,
                };
            let pin = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| PeerPin(sha256(c.as_ref())));
            let service =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    if let Some(p) = pin {
                        req.extensions_mut().insert(p);
                    }
                    let router = router.clone();
                    async move {
                        use tower::ServiceExt;
                        router.oneshot(req.map(axum::body::Body::new)).await
                    }
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "gateway connection ended");
            }
        });
    }
}
