//! Signing an application with the citizen's remote signing certificate, through the identity
//! role's Cloud Signature Consortium API v2 (CSC API v2.0 §8.3, §11.4, §11.9):
//!
//! 1. an OAuth authorization with scope `service` at level high gives the portal a token to
//!    list the citizen's credentials and read the certificate (`credentials/list`, `info`);
//! 2. the portal lays out the PAdES signature (ETSI EN 319 142-1) and computes the hash of the
//!    signed attributes — the signing time is fixed, so a second layout is byte-identical;
//! 3. an OAuth authorization with scope `credential` names that credential and that one hash;
//!    the citizen sees and confirms it on the identity role's page; the token is the SAD;
//! 4. `signatures/signHash` returns the signature; the portal puts it into the second layout,
//!    adds a signature time-stamp from the TSA (B-T), and the application goes the same way as
//!    an uploaded one (raised to B-LTA, checked, then delivered over the exchange).
//!
//! The flow's state is kept in memory, bound to a cookie, for ten minutes.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use serde_json::{Value, json};
use tamga_id::credentials::{b64_hash, random_token, sha256};
use tamga_keys::{KeyAlgorithm, KeyError, SignatureAlgorithm, Signer};
use tamga_pki::ParsedCert;
use tamga_sign::pades::{PdfSignOptions, sign_pdf};

use crate::account::Citizen;
use crate::applications::{Applications, Refusal};

const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_SHA256_OID: &str = "1.2.840.10045.4.3.2";
const FIELD: &str = "Applicant";

/// Where the CSC API and the TSA are.
#[derive(Debug, Clone)]
pub struct RemoteSigningSettings {
    /// `…/csc/v2`.
    pub csc_api: String,
    /// RFC 3161 time-stamping (`…/tsa`).
    pub tsa_url: String,
    /// The portal's redirect for these authorizations (`…/portal/remote-sign/callback`).
    pub redirect_uri: String,
}

enum Stage {
    Service,
    Credential {
        service_token: String,
        credential: String,
        cert: Box<ParsedCert>,
        chain: Vec<ParsedCert>,
        hash: [u8; 32],
    },
}

struct Flow {
    application: String,
    citizen: String,
    state: String,
    verifier: String,
    time: i64,
    created: i64,
    stage: Stage,
}

/// Remote-signing flows in progress.
#[derive(Default)]
pub struct RemoteSigning {
    settings: std::sync::RwLock<Option<RemoteSigningSettings>>,
    flows: Mutex<HashMap<[u8; 32], Flow>>,
}

/// Where the browser goes next.
pub enum Next {
    /// To the identity role (authorization).
    Authorize(String),
    /// Back to the application, signed and sent.
    Done(String),
}

fn refuse(mn: &str, en: &str) -> Refusal {
    Refusal {
        mn: mn.into(),
        en: en.into(),
    }
}

fn err(e: impl std::fmt::Display) -> Refusal {
    Refusal {
        mn: format!("Алсын гарын үсэг: {e}"),
        en: format!("Remote signing: {e}"),
    }
}

/// The remote key as the PAdES layout sees it: the first layout captures the message to be
/// signed (a placeholder signature of a P-256 signature's largest DER size; that layout is
/// thrown away); the second gets back the key holder's signature over the hash of exactly
/// that message.
struct RemoteKey {
    spki: Vec<u8>,
    mode: Mode,
}

enum Mode {
    Capture(Mutex<Option<Vec<u8>>>),
    Replay { hash: [u8; 32], signature: Vec<u8> },
}

impl Signer for RemoteKey {
    fn label(&self) -> &str {
        "remote"
    }
    fn key_algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::EcP256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.mode {
            Mode::Capture(seen) => {
                *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.to_vec());
                Ok(vec![0; 72])
            }
            Mode::Replay { hash, signature } if sha256(message) == *hash => Ok(signature.clone()),
            Mode::Replay { .. } => Err(KeyError::AlgorithmMismatch {
                key: KeyAlgorithm::EcP256,
                requested: algorithm,
            }),
        }
    }
}

fn options<'a>(
    signer: &'a dyn Signer,
    cert: &'a ParsedCert,
    chain: &'a [ParsedCert],
    time: i64,
    timestamp: Option<tamga_sign::pades::TimestampFn<'a>>,
) -> PdfSignOptions<'a> {
    PdfSignOptions {
        signer,
        cert,
        chain,
        time,
        field: Some(FIELD.into()),
        reason: Some("Өргөдөл гаргагч / Applicant".into()),
        location: None,
        certify: None,
        timestamp,
    }
}

impl RemoteSigning {
    /// Turns remote signing on.
    pub fn configure(&self, s: RemoteSigningSettings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    fn settings(&self) -> Option<RemoteSigningSettings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether it is on.
    pub fn enabled(&self) -> bool {
        self.settings().is_some()
    }

    fn authorize_url(
        &self,
        apps: &Applications,
        f: &Flow,
        scope: &str,
        extra: &str,
    ) -> Result<String, Refusal> {
        let o = apps
            .accounts()
            .oidc_settings()
            .ok_or_else(|| err("sign-in is not configured"))?;
        let s = self.settings().ok_or_else(|| err("not configured"))?;
        let enc =
            |v: &str| -> String { url::form_urlencoded::byte_serialize(v.as_bytes()).collect() };
        Ok(format!(
            "{}/authorize?client_id={}&response_type=code&scope={}&redirect_uri={}&state={}\
             &code_challenge={}&code_challenge_method=S256&acr_values={}{extra}",
            o.issuer,
            enc(&o.client_id),
            enc(scope),
            enc(&s.redirect_uri),
            f.state,
            b64_hash(f.verifier.as_bytes()),
            enc(tamga_id::model::Loa::High.acr()),
        ))
    }

    /// Starts signing an application: the flow cookie and where to send the browser.
    pub async fn start(
        &self,
        apps: &Applications,
        c: &Citizen,
        id: &str,
    ) -> Result<(String, String), Refusal> {
        let (a, _, _, _) = apps
            .own(c, id)
            .await?
            .ok_or_else(crate::applications::no_application)?;
        // The application file is written now if the citizen did not download it first.
        let doc = apps.document(c, id).await.ok();
        if a.status != "draft" || doc.is_none() {
            return Err(refuse(
                "Өргөдөл гарын үсэг зурахад бэлэн биш",
                "The application is not ready to sign",
            ));
        }
        let flow = Flow {
            application: id.to_owned(),
            citizen: c.registration_number.clone(),
            state: random_token(),
            verifier: random_token(),
            time: tamga_store::now_ms() / 1000,
            created: tamga_store::now_ms() / 1000,
            stage: Stage::Service,
        };
        let url = self.authorize_url(apps, &flow, "openid service", "")?;
        let cookie = random_token();
        let mut flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        let now = tamga_store::now_ms() / 1000;
        flows.retain(|_, f| f.created + 600 > now);
        flows.insert(sha256(cookie.as_bytes()), flow);
        Ok((cookie, url))
    }

    async fn token(
        &self,
        apps: &Applications,
        code: &str,
        verifier: &str,
    ) -> Result<String, Refusal> {
        let o = apps
            .accounts()
            .oidc_settings()
            .ok_or_else(|| err("sign-in is not configured"))?;
        let s = self.settings().ok_or_else(|| err("not configured"))?;
        let enc =
            |v: &str| -> String { url::form_urlencoded::byte_serialize(v.as_bytes()).collect() };
        let t: Value = apps
            .accounts()
            .http()
            .post(format!("{}/token", o.issuer))
            .basic_auth(&o.client_id, Some(&o.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
                enc(code),
                enc(&s.redirect_uri)
            ))
            .send()
            .await
            .map_err(err)?
            .json()
            .await
            .map_err(err)?;
        t["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| err(format!("token endpoint: {}", t["error"])))
    }

    async fn csc(
        &self,
        apps: &Applications,
        method: &str,
        bearer: &str,
        body: Value,
    ) -> Result<Value, Refusal> {
        let s = self.settings().ok_or_else(|| err("not configured"))?;
        let r = apps
            .accounts()
            .http()
            .post(format!("{}/{method}", s.csc_api.trim_end_matches('/')))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .map_err(err)?;
        let status = r.status();
        let v: Value = r.json().await.map_err(err)?;
        if !status.is_success() {
            return Err(err(format!(
                "{method}: {status} {}",
                v["error_description"]
                    .as_str()
                    .or(v["error"].as_str())
                    .unwrap_or("")
            )));
        }
        Ok(v)
    }

    /// The identity role sent the browser back.
    pub async fn callback(
        &self,
        apps: &Applications,
        c: &Citizen,
        cookie: Option<&str>,
        code: &str,
        state: &str,
    ) -> Result<Next, Refusal> {
        let key = sha256(cookie.unwrap_or("").as_bytes());
        let flow = self
            .flows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key)
            .ok_or_else(|| {
                refuse(
                    "Гарын үсэг зурах хугацаа дууссан; дахин оролдоно уу",
                    "The signing expired; start again",
                )
            })?;
        if flow.citizen != c.registration_number
            || !tamga_id::credentials::same(flow.state.as_bytes(), state.as_bytes())
        {
            return Err(refuse(
                "Хүсэлт таарахгүй байна",
                "The response does not match the request",
            ));
        }
        let token = self.token(apps, code, &flow.verifier).await?;
        match flow.stage {
            Stage::Service => {
                let list = self
                    .csc(apps, "credentials/list", &token, json!({}))
                    .await?;
                let credential = list["credentialIDs"][0]
                    .as_str()
                    .ok_or_else(|| {
                        refuse(
                            "Танд алсын гарын үсгийн гэрчилгээ алга",
                            "You have no remote signing certificate",
                        )
                    })?
                    .to_owned();
                let info = self
                    .csc(
                        apps,
                        "credentials/info",
                        &token,
                        json!({"credentialID": credential, "certificates": "chain"}),
                    )
                    .await?;
                let mut certs = Vec::new();
                for b in info["cert"]["certificates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(b.as_str().unwrap_or(""))
                        .map_err(err)?;
                    certs.push(ParsedCert::from_der(&der).map_err(err)?);
                }
                if certs.is_empty() {
                    return Err(err("the credential has no certificate"));
                }
                let cert = certs.remove(0);
                let (_, _, doc, _) = apps
                    .own(c, &flow.application)
                    .await?
                    .ok_or_else(crate::applications::no_application)?;
                let doc = doc.ok_or_else(|| err("no application file"))?;
                let capture = RemoteKey {
                    spki: cert.spki_der.clone(),
                    mode: Mode::Capture(Mutex::new(None)),
                };
                sign_pdf(&doc, &options(&capture, &cert, &certs, flow.time, None)).map_err(err)?;
                let tbs = match capture.mode {
                    Mode::Capture(seen) => seen.into_inner().unwrap_or_else(|p| p.into_inner()),
                    Mode::Replay { .. } => None,
                }
                .ok_or_else(|| err("nothing to sign"))?;
                let hash = sha256(&tbs);
                let next = Flow {
                    state: random_token(),
                    verifier: random_token(),
                    stage: Stage::Credential {
                        service_token: token,
                        credential: credential.clone(),
                        cert: Box::new(cert),
                        chain: certs,
                        hash,
                    },
                    ..flow
                };
                let extra = format!(
                    "&credentialID={}&numSignatures=1&hashes={}&hashAlgorithmOID={SHA256_OID}&description={}",
                    url::form_urlencoded::byte_serialize(credential.as_bytes()).collect::<String>(),
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash),
                    url::form_urlencoded::byte_serialize(
                        format!("Өргөдөл / application {}", next.application).as_bytes()
                    )
                    .collect::<String>(),
                );
                let url = self.authorize_url(apps, &next, "openid credential", &extra)?;
                self.flows
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, next);
                Ok(Next::Authorize(url))
            }
            Stage::Credential {
                service_token,
                credential,
                cert,
                chain,
                hash,
            } => {
                let signed = self
                    .csc(
                        apps,
                        "signatures/signHash",
                        &service_token,
                        json!({
                            "credentialID": credential, "SAD": token,
                            "hashes": [base64::engine::general_purpose::STANDARD.encode(hash)],
                            "hashAlgorithmOID": SHA256_OID, "signAlgo": ECDSA_SHA256_OID,
                        }),
                    )
                    .await?;
                let signature = base64::engine::general_purpose::STANDARD
                    .decode(signed["signatures"][0].as_str().unwrap_or(""))
                    .map_err(err)?;
                let (_, _, doc, _) = apps
                    .own(c, &flow.application)
                    .await?
                    .ok_or_else(crate::applications::no_application)?;
                let doc = doc.ok_or_else(|| err("no application file"))?;
                let replay = RemoteKey {
                    spki: cert.spki_der.clone(),
                    mode: Mode::Replay { hash, signature },
                };
                let s = self.settings().ok_or_else(|| err("not configured"))?;
                let tsa = http_tsa(apps.accounts().http().clone(), s.tsa_url.clone());
                let pdf = sign_pdf(
                    &doc,
                    &options(&replay, &cert, &chain, flow.time, Some(&tsa)),
                )
                .map_err(err)?;
                // The portal adds the validation data and a document time-stamp on receipt.
                apps.submit_signed(c, &flow.application, pdf).await?;
                Ok(Next::Done(flow.application))
            }
        }
    }
}

/// An RFC 3161 client for the (synchronous) signing code: asks the TSA over HTTP from this
/// worker thread.
pub fn http_tsa(http: reqwest::Client, url: String) -> impl Fn(&[u8]) -> Result<Vec<u8>, String> {
    move |req: &[u8]| post_blocking(&http, &url, "application/timestamp-query", req)
}

/// An OCSP client (RFC 6960 over HTTP POST) for the (synchronous) extension code.
pub fn http_ocsp(http: reqwest::Client) -> impl Fn(&str, &[u8]) -> Result<Vec<u8>, String> {
    move |url: &str, req: &[u8]| post_blocking(&http, url, "application/ocsp-request", req)
}

fn post_blocking(
    http: &reqwest::Client,
    url: &str,
    content_type: &'static str,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let (http, url, body) = (http.clone(), url.to_owned(), body.to_vec());
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async move {
            let r = http
                .post(&url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("{url} answered {}", r.status()));
            }
            r.bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string())
        })
    })
}
