//! Wiring of the `notary` role: the e-Notary service over the node's store and its ledger
//! `notary` log, B-LTA completion through the node's TSA and OCSP responders over HTTP,
//! delivery to the portal's wallets, and the office API and public verification routes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tamga_http::NodeBuilder;
use tamga_ledger::log::Log;
use tamga_notary::contracts::{Archiver, Extender, Notary, Wallet};
use tamga_pki::ParsedCert;
use tamga_portal::account::Accounts;
use tamga_store::Store;
use tamga_trust::TrustServices;

use crate::config::{Config, Role};
use crate::secrets::read_secret;

/// B-LTA through HTTP TSA and OCSP clients (the node's own, or any).
struct HttpExtender {
    http: reqwest::Client,
    tsa_url: String,
}

impl Extender for HttpExtender {
    fn extend_lta(&self, doc: &[u8]) -> Result<Vec<u8>, String> {
        let tsa = tamga_portal::remote_sign::http_tsa(self.http.clone(), self.tsa_url.clone());
        let ocsp = tamga_portal::remote_sign::http_ocsp(self.http.clone());
        let now = tamga_pki::builder::now();
        let lta = tamga_sign::extend::Target::Lta;
        if doc.starts_with(b"%PDF-") {
            tamga_sign::extend::extend_pdf(doc, lta, &tsa, &ocsp, now)
        } else {
            tamga_sign::extend::extend_asic(doc, lta, &tsa, &ocsp, now)
        }
        .map_err(|e| e.to_string())
    }
}

/// The portal's document wallets.
struct PortalWallet(Arc<Accounts>);

impl Wallet for PortalWallet {
    fn deliver<'a>(
        &'a self,
        owner: &'a str,
        title: &'a str,
        pdf: &'a [u8],
        register_number: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let owner = tamga_pki::identity::RegistrationNumber::parse(owner)
                .or_else(|_| tamga_pki::identity::RegistrationNumber::from_latin(owner))
                .map_err(|e| e.to_string())?
                .cyrillic();
            self.0
                .add_document(
                    &owner,
                    &format!("{title} (нотариатаар гэрчилсэн №{register_number})"),
                    &format!("{title} (notarised, No. {register_number})"),
                    tamga_notary::contracts::media_type(pdf),
                    &tamga_notary::contracts::act_file_name(register_number, pdf),
                    "Нотариат / Notary",
                    pdf,
                )
                .await
                .map(|_| ())
        })
    }
}

/// The electronic archive, keeping notarised contracts for the notarial retention period.
struct ToArchive(Arc<tamga_archive::service::Archive>);

/// Notarial acts are kept for 75 years.
const NOTARIAL_RETENTION_YEARS: i64 = 75;

impl Archiver for ToArchive {
    fn archive<'a>(
        &'a self,
        title: &'a str,
        register_number: &'a str,
        pdf: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        Box::pin(async move {
            let acks = self
                .0
                .ingest(vec![(
                    tamga_archive::service::Ingest {
                        file_name: format!(
                            "notarial-act-{}.pdf",
                            register_number.replace('/', "-")
                        ),
                        media_type: "application/pdf".into(),
                        title: format!("{title} (№{register_number})"),
                        creator: "Нотариат / Notary".into(),
                        classification: "Нотариатын үйлдэл / Notarial acts".into(),
                        retain_until: tamga_pki::builder::now()
                            + NOTARIAL_RETENTION_YEARS * 365 * 86400,
                    },
                    pdf.to_vec(),
                )])
                .await
                .map_err(|e| e.to_string())?;
            acks.into_iter()
                .next()
                .map(|a| a.document_id)
                .ok_or_else(|| "the archive acknowledged nothing".to_owned())
        })
    }
}

/// Starts e-Notary when the role is configured.
#[allow(clippy::too_many_arguments)]
pub fn wire(
    config: &Config,
    store: &Store,
    logs: &[Arc<Log>],
    trust: Option<&Arc<TrustServices>>,
    portal: Option<&Arc<Accounts>>,
    archive: Option<&Arc<tamga_archive::service::Archive>>,
    base_url: &str,
    builder: &mut NodeBuilder,
) -> anyhow::Result<Option<Arc<Notary>>> {
    if !config.roles.contains(&Role::Notary) {
        return Ok(None);
    }
    let log = logs
        .iter()
        .find(|l| l.name() == config.notary.log)
        .cloned()
        .ok_or_else(|| anyhow!("notary.log {:?} is not a ledger log", config.notary.log))?;
    let trust = trust
        .cloned()
        .ok_or_else(|| anyhow!("the notary role needs the trust role (anchors, TSA, OCSP)"))?;
    let anchors: tamga_sign::http::AnchorSource = Arc::new(move || {
        trust
            .root_certificates()
            .iter()
            .filter_map(|d| ParsedCert::from_der(d).ok())
            .collect()
    });
    let extender = Arc::new(HttpExtender {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?,
        tsa_url: config
            .notary
            .tsa_url
            .clone()
            .unwrap_or_else(|| format!("{base_url}/tsa")),
    });
    let mut notary = Notary::new(
        store.clone(),
        log,
        anchors,
        &config.notary.notaries,
        extender,
    )
    .map_err(|e| anyhow!("notary.notaries: {e}"))?;
    if let Some(p) = portal {
        notary.set_wallet(Arc::new(PortalWallet(Arc::clone(p))));
    }
    if let Some(a) = archive {
        notary.set_archiver(Arc::new(ToArchive(Arc::clone(a))));
    }
    let notary = Arc::new(notary);
    let token = match (
        &config.notary.token_file,
        std::env::var_os("TAMGA_NOTARY_TOKEN"),
    ) {
        (None, None) => None,
        (file, _) => Some(
            read_secret(file.as_deref(), "TAMGA_NOTARY_TOKEN", "notary office token")?.to_string(),
        ),
    };
    let (routes, api) = tamga_notary::http::routes(Arc::new(tamga_notary::http::NotaryHttp {
        notary: Arc::clone(&notary),
        token,
        base_url: base_url.to_owned(),
    }));
    *builder = std::mem::replace(
        builder,
        NodeBuilder::new("Tamga", env!("CARGO_PKG_VERSION")),
    )
    .merge(routes, api);
    Ok(Some(notary))
}
