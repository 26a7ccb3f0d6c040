//! Wiring of the `identity` role: the OpenID provider with its keys (from the node's key
//! store), admin token, routes, and the certificate sign-in listener (configured with a
//! PKCS#12 and anchor files, or started by the demo with certificates from its own PKI).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tamga_exchange::revocation::Revocation;
use tamga_http::NodeBuilder;
use tamga_id::cert_login::{self, OcspCheck, PkiChecker};
use tamga_id::{Provider, ProviderConfig};
use tamga_keys::KeyStore;
use tamga_pki::ParsedCert;
use tamga_store::Store;

use crate::config::{Config, Role};
use crate::secrets::read_secret;

/// Opens the provider (when the role runs) and adds its routes.
pub async fn wire(
    config: &Config,
    store: &Store,
    keys: &Arc<dyn KeyStore>,
    base_url: &str,
    builder: &mut NodeBuilder,
) -> anyhow::Result<Option<Arc<Provider>>> {
    if !config.roles.contains(&Role::Identity) {
        return Ok(None);
    }
    let c = &config.identity;
    let issuer = match (&c.issuer, &c.issuer_host) {
        (Some(i), _) => i.clone(),
        (None, host) => {
            let mut url = url::Url::parse(base_url).context("base URL")?;
            if let Some(h) = host {
                url.set_host(Some(h))
                    .map_err(|e| anyhow!("identity.issuer_host: {e}"))?;
            }
            format!("{}/id", url.as_str().trim_end_matches('/'))
        }
    };
    if !issuer.trim_end_matches('/').ends_with("/id") {
        anyhow::bail!("identity.issuer must end in /id (the provider's routes are there)");
    }
    let mut pc = ProviderConfig::new(&issuer);
    pc.access_token_secs = c.access_token_secs.max(30);
    pc.refresh_token_secs = c.refresh_token_secs.max(60);
    pc.session_secs = c.session_secs.max(60);
    let provider = Arc::new(
        Provider::open(store.clone(), Arc::clone(keys), pc)
            .await
            .map_err(|e| anyhow!("identity provider: {e}"))?,
    );
    let token = match (
        &c.admin_token_file,
        std::env::var_os("TAMGA_ID_ADMIN_TOKEN"),
    ) {
        (None, None) => None,
        (file, _) => Some(
            read_secret(
                file.as_deref(),
                "TAMGA_ID_ADMIN_TOKEN",
                "identity admin token",
            )?
            .to_string(),
        ),
    };
    let (routes, api) = tamga_id::http::routes(Arc::clone(&provider), token);
    *builder = std::mem::replace(builder, NodeBuilder::new("", "")).merge(routes, api);
    if let Some(cl) = &c.certificate_login {
        let password = read_secret(
            cl.p12_password_file.as_deref(),
            "TAMGA_P12_PASSWORD",
            "PKCS#12 password",
        )?;
        let id = crate::exchange_role::read_p12(&cl.tls_p12, &password)?;
        let read_certs = |p: &std::path::Path| -> anyhow::Result<Vec<ParsedCert>> {
            let data = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            ParsedCert::all_from_pem_or_der(&data).map_err(|e| anyhow!("{}: {e}", p.display()))
        };
        let anchors = read_certs(&cl.anchors_file)?;
        let intermediates = match &cl.intermediates_file {
            Some(p) => read_certs(p)?,
            None => vec![],
        };
        let listener = tokio::net::TcpListener::bind(cl.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cl.listen))?;
        let url = cl
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", cl.listen));
        start_certificate_login(
            &provider,
            listener,
            &url,
            (id.chain, id.key_pkcs8.to_vec()),
            anchors,
            intermediates,
            cl.ocsp_cache_secs,
        )?;
    }
    if let Some(rs) = &c.remote_signing {
        let level = match rs.min_level.as_str() {
            "low" => tamga_id::model::Loa::Low,
            "substantial" => tamga_id::model::Loa::Substantial,
            "high" => tamga_id::model::Loa::High,
            other => anyhow::bail!(
                "identity.remote_signing.min_level {other:?}: low, substantial or high"
            ),
        };
        let pin = read_secret(
            rs.pin_file.as_deref(),
            "TAMGA_SIGNING_PIN",
            "signing token PIN",
        )?;
        let store = tamga_keys::Pkcs11KeyStore::open(&tamga_keys::Pkcs11Config {
            module: rs.module.clone(),
            token_label: rs.token_label.clone(),
            pin,
        })
        .context("identity.remote_signing")?;
        provider.enable_remote_signing(Arc::new(store), level);
    }
    Ok(Some(provider))
}

/// Starts the certificate sign-in listener on `listener`, reachable at `url`.
pub fn start_certificate_login(
    provider: &Arc<Provider>,
    listener: tokio::net::TcpListener,
    url: &str,
    (chain, key_pkcs8): (Vec<Vec<u8>>, Vec<u8>),
    anchors: Vec<ParsedCert>,
    intermediates: Vec<ParsedCert>,
    ocsp_cache_secs: i64,
) -> anyhow::Result<SocketAddr> {
    let revocation = Arc::new(Revocation::new(ocsp_cache_secs));
    let ocsp: OcspCheck = Arc::new(move |cert, issuers| {
        let r = Arc::clone(&revocation);
        Box::pin(async move { r.check(&cert, &issuers).await })
    });
    let checker = PkiChecker::new(anchors, intermediates, ocsp);
    let tls = cert_login::server_config(chain, key_pkcs8, checker.hints())
        .map_err(|e| anyhow!("certificate sign-in TLS: {e}"))?;
    let addr = listener.local_addr()?;
    provider.enable_certificate_login(url, Arc::new(checker));
    tokio::spawn(cert_login::serve(
        listener,
        Arc::new(tls),
        tamga_id::http::certificate_router(Arc::clone(provider)),
        std::future::pending(),
    ));
    tracing::info!(listen = %addr, url, "certificate sign-in listening");
    Ok(addr)
}
