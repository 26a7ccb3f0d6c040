//! A small national PKI for signature tests: Tamga's own trust services in-process on SQLite
//! (root, citizen CA with OCSP, a TSA), and citizens with signing certificates.

#![allow(dead_code)]

use std::sync::Arc;

use tamga_keys::{KeyAlgorithm, KeyStore, Signer, SoftwareKeyStore, SoftwareSigner};
use tamga_pki::ParsedCert;
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::issue::{Profile, citizen_name};
use tamga_store::{Store, StoreOptions};
use tamga_testkit::TestDatabase;
use tamga_trust::{CaSpec, IssueSpec, TrustServices};

pub struct Pki {
    /// `http://127.0.0.1:<port>`: the trust services over HTTP (OCSP, CRLs, TSA at `/tsa`).
    pub base: String,
    pub trust: Arc<TrustServices>,
    pub root: ParsedCert,
    pub ca: ParsedCert,
    pub tsa: ParsedCert,
    _db: TestDatabase,
    _keys: tempfile::TempDir,
}

pub struct Citizen {
    pub key: Arc<dyn Signer>,
    pub cert: ParsedCert,
    pub serial: String,
}

impl Pki {
    pub async fn new(tag: &str) -> Pki {
        Self::with_root_algorithm(tag, KeyAlgorithm::EcP384).await
    }

    /// A PKI whose root uses `root_alg` (benchmarks use P-256 throughout).
    pub async fn with_root_algorithm(tag: &str, root_alg: KeyAlgorithm) -> Pki {
        let db = TestDatabase::sqlite();
        let store = Store::open(&db.url, &StoreOptions::default())
            .await
            .unwrap();
        let keys_dir = tempfile::tempdir().unwrap();
        let keys: Arc<dyn KeyStore> = Arc::new(
            SoftwareKeyStore::open(keys_dir.path(), b"pw")
                .unwrap()
                .with_pbkdf2_iterations(1000),
        );
        let node_key = keys.open_or_generate("node", KeyAlgorithm::EcP256).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let trust = Arc::new(
            TrustServices::open(store, Arc::clone(&keys), node_key, &base)
                .await
                .unwrap(),
        );
        let policy = "1.3.6.1.4.1.99999.2.1".parse().unwrap();
        for (name, parent, alg) in [
            (format!("{tag}-root"), None, root_alg),
            (
                format!("{tag}-ca"),
                Some(format!("{tag}-root")),
                KeyAlgorithm::EcP256,
            ),
        ] {
            trust
                .create_ca(
                    &CaSpec {
                        name: name.clone(),
                        display_name: format!("{tag} {name}"),
                        organisation: "Tamga test".into(),
                        parent,
                        key_algorithm: alg,
                        policy,
                        validity_years: 10,
                    },
                    "test",
                )
                .await
                .unwrap();
        }
        trust
            .create_tsa(
                &format!("{tag}-tsa"),
                &format!("{tag}-ca"),
                "1.3.6.1.4.1.99999.3.7".parse().unwrap(),
                "test",
            )
            .await
            .unwrap();
        let (routes, api) = tamga_trust::http::routes(Arc::clone(&trust), None);
        let node = tamga_http::NodeBuilder::new("test", "0")
            .merge(routes, api)
            .build()
            .serve(listener)
            .unwrap();
        tokio::spawn(node.wait());
        let cert = |name: &str| ParsedCert::from_der(&trust.ca_certificate(name).unwrap()).unwrap();
        Pki {
            base,
            root: cert(&format!("{tag}-root")),
            ca: cert(&format!("{tag}-ca")),
            tsa: ParsedCert::from_der(&trust.tsa_certificate().unwrap()).unwrap(),
            trust,
            _db: db,
            _keys: keys_dir,
        }
    }

    pub fn ca_name(&self) -> String {
        self.ca.subject_string()
    }

    pub async fn citizen(
        &self,
        ca: &str,
        given: &str,
        surname: &str,
        reg: &str,
        alg: KeyAlgorithm,
    ) -> Citizen {
        let key: Arc<dyn Signer> = Arc::new(SoftwareSigner::generate("c", alg).unwrap());
        let id = RegistrationNumber::parse(reg).unwrap();
        let (der, serial) = self
            .trust
            .issue(
                ca,
                IssueSpec {
                    profile: Profile::CitizenSign,
                    subject: citizen_name(given, surname, &id).unwrap(),
                    spki_der: key.public_key_der().to_vec(),
                    alt_names: vec![],
                    validity_days: 365,
                },
                "test",
                "test",
            )
            .await
            .unwrap();
        Citizen {
            key,
            cert: ParsedCert::from_der(&der).unwrap(),
            serial,
        }
    }

    /// The TSA as a client callback (in-process, no HTTP).
    pub fn tsa_fn(&self) -> impl Fn(&[u8]) -> Result<Vec<u8>, String> + '_ {
        move |req: &[u8]| Ok(self.trust.timestamp(req))
    }

    /// OCSP by URL `…/pki/{ca}/ocsp`, answered in-process.
    pub fn ocsp_fn(&self) -> impl Fn(&str, &[u8]) -> Result<Vec<u8>, String> + '_ {
        move |url: &str, req: &[u8]| {
            let ca = url
                .trim_end_matches("/ocsp")
                .rsplit('/')
                .next()
                .ok_or("bad OCSP URL")?
                .to_string();
            let trust = Arc::clone(&self.trust);
            let req = req.to_vec();
            Ok(tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(async move { trust.ocsp(&ca, &req).await })
            }))
        }
    }
}

/// A one-page PDF with some text, as an office would produce it.
pub fn sample_pdf(text: &str, pad_to: usize) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n");
    let mut content = content.into_bytes();
    // Page content padding (a comment line repeated) to reach a target size.
    while content.len() < pad_to {
        content
            .extend_from_slice(b"% Tamga test padding line to make the document larger ......\n");
    }
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content,
            b"\nendstream".to_vec(),
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = vec![];
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(o);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).into_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n\r\n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .into_bytes(),
    );
    out
}
