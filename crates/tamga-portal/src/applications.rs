//! Once-only applications, from the citizen's consent to the organisation's signed decision.
//!
//! A service declares the evidence it needs ([`OnceOnlyService`]): which exchange service,
//! about whom (the applicant or the person applied for), for what purpose and on what legal
//! basis. After the citizen's consent the portal fetches each item over the exchange (so each
//! fetch is logged, tracked and committed like any other), asks only the questions no register
//! answers (WCAG 2.2 SC 3.3.7), writes the application as a PDF/A file, takes it back signed
//! by the applicant (PAdES; the signed revision must be exactly the file the portal wrote, and
//! the signer's certificate must name the applicant), and delivers it to the organisation over
//! the exchange. The organisation's officials ask for more or decide; a decision is a PDF/A
//! document with a QR code and a verification code, sealed by the organisation at PAdES B-LTA,
//! and put in the applicant's wallet. Every change of status goes to the citizen's inbox and,
//! when they gave an address, by e-mail.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tamga_id::credentials::{random_token, sha256};
use tamga_store::{Application, InboxMessage};

use crate::account::pct_header as pct;
use crate::account::{Accounts, Citizen};
use crate::notify::{SmtpSettings, send};

/// Whose data an evidence item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The citizen who applies.
    Applicant,
    /// The person applied for (the applicant, or their child).
    Subject,
}

/// One item of evidence the portal fetches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceSpec {
    /// Exchange service (`MN/GOV/9000001/civil-registry/WS100101_getCitizenIDCardInfo`).
    pub service: String,
    /// About whom.
    pub of: Party,
    /// What it is, Mongolian / English.
    pub title: [String; 2],
    /// Who holds it.
    pub holder: [String; 2],
    /// Why it is needed.
    pub purpose: [String; 2],
    /// The law that allows it.
    pub legal_basis: [String; 2],
}

/// One question no register answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    /// Form field name.
    pub key: String,
    /// The question.
    pub label: [String; 2],
    /// Hint under it.
    pub hint: [String; 2],
    /// Whole number bounds.
    pub min: i64,
    /// Upper bound.
    pub max: i64,
}

/// A service that can be applied for online, once-only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnceOnlyService {
    /// Catalogue id.
    pub service_id: String,
    /// The deciding organisation (demo organisation id, e.g. `gasi`).
    pub provider: String,
    /// Its name.
    pub provider_name: [String; 2],
    /// The service's name.
    pub title: [String; 2],
    /// Evidence fetched after consent.
    pub evidence: Vec<EvidenceSpec>,
    /// The questions.
    pub questions: Vec<Question>,
    /// Exchange service the signed application is delivered to.
    pub deliver_to: String,
    /// Whether a citizen may apply for themself.
    pub for_self: bool,
    /// Whether a parent may apply for a child under 16.
    pub for_children: bool,
    /// Whether a company's legal representative or employee (by mandate) may apply for it.
    pub for_companies: bool,
}

/// Someone the citizen may apply for.
#[derive(Debug, Clone)]
pub struct Whom {
    /// `self`, or the mandate's id.
    pub choice: String,
    /// Registration number (person) or state register number (company).
    pub subject: String,
    /// Name.
    pub name: String,
    /// `self`, `parent`, `guardian`, `legal-representative` or `employee`.
    pub basis: String,
}

/// What the portal keeps of an application besides the indexed columns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// Whom it is for: `self`, or the mandate's basis.
    pub basis: String,
    /// Name of the person applied for.
    pub subject_name: String,
    /// When consent was given (ms).
    pub consent_at_ms: Option<i64>,
    /// Fetched evidence.
    pub evidence: Vec<Fetched>,
    /// Answers.
    pub answers: BTreeMap<String, i64>,
    /// Messages between the office and the applicant.
    pub messages: Vec<Message>,
    /// The exchange message that delivered the application.
    pub delivery: Option<String>,
    /// The decision.
    pub decision: Option<Decision>,
}

/// A fetched evidence item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fetched {
    /// Exchange service.
    pub service: String,
    /// Whose.
    pub subject: String,
    /// What came back (JSON), or the error.
    pub data: Value,
    /// Whether it came back.
    pub ok: bool,
}

/// A message on an application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// When (ms).
    pub at_ms: i64,
    /// `office` or `applicant`.
    pub from: String,
    /// Text.
    pub text: String,
}

/// The decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    /// `approved` or `refused`.
    pub outcome: String,
    /// Grounds.
    pub reason: String,
    /// The official (name).
    pub official: String,
    /// Verification code printed on it.
    pub code: String,
}

/// Seals a decision PDF on behalf of an organisation at PAdES B-LTA (implemented by the node,
/// which holds the organisations' seal keys and the trust services).
pub trait Sealer: Send + Sync {
    /// The sealed PDF.
    fn seal<'a>(
        &'a self,
        organisation: &'a str,
        pdf: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}

/// Commits issued documents to the public ledger (implemented by the node, which holds the
/// ledger's logs): returns the log's name and the entry's index.
pub trait DocumentLedger: Send + Sync {
    /// Appends a 32-byte commitment.
    fn commit<'a>(
        &'a self,
        commitment: [u8; 32],
    ) -> Pin<Box<dyn Future<Output = Result<LedgerEntry, String>> + Send + 'a>>;
}

/// Where a commitment went: the log's name and the entry's index.
pub type LedgerEntry = (String, u64);

/// The ledger entry of an issued document: SHA-256(salt ‖ SHA-256(document)).
pub fn ledger_commitment(salt: &[u8], document: &[u8]) -> [u8; 32] {
    tamga_ledger::commitment::salted_document(salt, document)
}

/// A document to issue (see [`Applications::issue`]).
pub struct Issue<'a> {
    /// The citizen whose wallet receives it.
    pub owner: &'a str,
    /// The issuing organisation (whose seal signs it).
    pub organisation: &'a str,
    /// Its name, Mongolian / English.
    pub issuer: &'a [String; 2],
    /// Title, Mongolian / English.
    pub title: [String; 2],
    /// File name in the wallet.
    pub file_name: &'a str,
    /// The content after the heading.
    pub blocks: Vec<tamga_pdfa::Block>,
    /// Issue time (ms).
    pub at_ms: i64,
}

/// Why an action was refused, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Mongolian.
    pub mn: String,
    /// English.
    pub en: String,
}

fn refuse(mn: &str, en: &str) -> Refusal {
    Refusal {
        mn: mn.into(),
        en: en.into(),
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal {
        mn: format!("Түр саатал: {e}"),
        en: format!("Temporarily unavailable: {e}"),
    }
}

/// The applications service.
pub struct Applications {
    accounts: Arc<Accounts>,
    services: RwLock<Vec<OnceOnlyService>>,
    sealer: RwLock<Option<Arc<dyn Sealer>>>,
    ledger: RwLock<Option<Arc<dyn DocumentLedger>>>,
    tsa_url: RwLock<Option<String>>,
    smtp: RwLock<Option<SmtpSettings>>,
    public_base: RwLock<String>,
    /// Signing through the identity role's CSC API.
    pub remote: crate::remote_sign::RemoteSigning,
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    l.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// A verification code: 60 random bits in Crockford's base32, `XXXX-XXXX-XXXX`.
pub fn verification_code() -> String {
    const A: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let h = sha256(random_token().as_bytes());
    let mut n = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
    let mut s = String::new();
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(A[(n & 31) as usize] as char);
        n >>= 5;
    }
    s
}

/// Normalises what a person typed as a verification code (case, spaces, `O`/`I`/`L`).
pub fn normalise_code(s: &str) -> Option<String> {
    let c: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            x => x,
        })
        .collect();
    (c.len() == 12).then(|| format!("{}-{}-{}", &c[..4], &c[4..8], &c[8..]))
}

impl Applications {
    /// Over the portal's accounts (store, exchange settings, validator).
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Applications {
            accounts,
            services: RwLock::new(Vec::new()),
            sealer: RwLock::new(None),
            ledger: RwLock::new(None),
            tsa_url: RwLock::new(None),
            smtp: RwLock::new(None),
            public_base: RwLock::new(String::new()),
            remote: crate::remote_sign::RemoteSigning::default(),
        }
    }

    /// The services that can be applied for online.
    pub fn set_services(&self, s: Vec<OnceOnlyService>) {
        self.accounts
            .set_once_only(s.iter().map(|x| x.service_id.clone()).collect());
        *self.services.write().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Who seals decisions.
    pub fn set_sealer(&self, s: Arc<dyn Sealer>) {
        *self.sealer.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    /// The time-stamping service used to complete received signatures (RFC 3161 over HTTP).
    pub fn set_tsa(&self, url: &str) {
        *self.tsa_url.write().unwrap_or_else(|p| p.into_inner()) = Some(url.to_owned());
    }

    /// Where issued documents are committed.
    pub fn set_ledger(&self, l: Arc<dyn DocumentLedger>) {
        *self.ledger.write().unwrap_or_else(|p| p.into_inner()) = Some(l);
    }

    /// Where e-mail goes.
    pub fn set_smtp(&self, s: SmtpSettings) {
        *self.smtp.write().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    /// The portal's public address (for QR codes): `http://host:port`.
    pub fn set_public_base(&self, b: &str) {
        *self.public_base.write().unwrap_or_else(|p| p.into_inner()) =
            b.trim_end_matches('/').to_owned();
    }

    /// A service, if it can be applied for online.
    pub fn service(&self, id: &str) -> Option<OnceOnlyService> {
        read(&self.services)
            .into_iter()
            .find(|s| s.service_id == id)
    }

    /// The service an application is for.
    fn service_of(&self, a: &Application) -> Result<OnceOnlyService, Refusal> {
        self.service(&a.service_id)
            .ok_or_else(|| refuse("Үйлчилгээ олдсонгүй", "No such service"))
    }

    /// The accounts this service works over.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    /// Whom the citizen may apply for: themself, children under 16 and companies by mandate,
    /// as the service allows. Each is (choice id, registration number, name, basis).
    pub async fn who(&self, c: &Citizen, s: &OnceOnlyService) -> Vec<Whom> {
        let mut out = Vec::new();
        if s.for_self {
            out.push(Whom {
                choice: "self".into(),
                subject: c.registration_number.clone(),
                name: c.name.clone(),
                basis: "self".into(),
            });
        }
        if !s.for_children && !s.for_companies {
            return out;
        }
        let Ok(store) = self.accounts.store() else {
            return out;
        };
        let today = tamga_id::model::today();
        let now = tamga_store::now_ms();
        for m in store
            .id_mandates_of(&c.registration_number)
            .await
            .unwrap_or_default()
        {
            if m.valid_until_ms.is_some_and(|u| u <= now) {
                continue;
            }
            let minor = m
                .subject_birthdate
                .as_deref()
                .and_then(|b| tamga_id::model::age_on(b, &today))
                .is_some_and(|a| a < 16);
            let child = s.for_children
                && m.subject_kind == "person"
                && matches!(m.basis.as_str(), "parent" | "guardian")
                && minor;
            let company = s.for_companies
                && m.subject_kind == "organization"
                && matches!(m.basis.as_str(), "legal-representative" | "employee");
            if child || company {
                out.push(Whom {
                    choice: m.mandate_id,
                    subject: m.subject_id,
                    name: m.subject_name,
                    basis: m.basis,
                });
            }
        }
        out
    }

    /// Starts an application for `who` (`self` or a mandate id); returns its id.
    pub async fn create(
        &self,
        c: &Citizen,
        service_id: &str,
        who: &str,
    ) -> Result<String, Refusal> {
        let s = self.service(service_id).ok_or_else(|| {
            refuse(
                "Энэ үйлчилгээг онлайнаар авах боломжгүй",
                "This service cannot be applied for online",
            )
        })?;
        let (basis, subject, name) = self
            .who(c, &s)
            .await
            .into_iter()
            .find(|w| w.choice == who)
            .map(|w| (w.basis, w.subject, w.name))
            .ok_or_else(|| {
                refuse(
                    "Хэний өмнөөс өргөдөл гаргахаа сонгоно уу",
                    "Choose whom you are applying for",
                )
            })?;
        let id = random_token()[..22].to_owned();
        let record = Record {
            basis,
            subject_name: name,
            ..Record::default()
        };
        let now = tamga_store::now_ms();
        self.accounts
            .store()
            .map_err(internal)?
            .application_insert(&Application {
                application_id: id.clone(),
                applicant: c.registration_number.clone(),
                subject,
                service_id: s.service_id.clone(),
                provider: s.provider.clone(),
                status: "draft".into(),
                record: serde_json::to_string(&record).map_err(internal)?,
                decision_document_id: None,
                created_at_ms: now,
                updated_at_ms: now,
            })
            .await
            .map_err(internal)?;
        Ok(id)
    }

    /// The citizen's own application (never another's: `None` as if absent).
    #[allow(clippy::type_complexity)]
    pub async fn own(
        &self,
        c: &Citizen,
        id: &str,
    ) -> Result<Option<(Application, Record, Option<Vec<u8>>, Option<Vec<u8>>)>, Refusal> {
        let got = self
            .accounts
            .store()
            .map_err(internal)?
            .application_get(id)
            .await
            .map_err(internal)?;
        Ok(got
            .filter(|(a, _, _)| a.applicant == c.registration_number)
            .and_then(|(a, d, s)| {
                let r = serde_json::from_str(&a.record).ok()?;
                Some((a, r, d, s))
            }))
    }

    /// The citizen's applications.
    pub async fn mine(&self, c: &Citizen) -> Result<Vec<Application>, Refusal> {
        self.accounts
            .store()
            .map_err(internal)?
            .applications_of(&c.registration_number)
            .await
            .map_err(internal)
    }

    async fn save(
        &self,
        a: &Application,
        from: &str,
        status: &str,
        r: &Record,
        files: (Option<&[u8]>, Option<&[u8]>),
        decision: Option<&str>,
    ) -> Result<(), Refusal> {
        let ok = self
            .accounts
            .store()
            .map_err(internal)?
            .application_update(
                &a.application_id,
                from,
                status,
                &serde_json::to_string(r).map_err(internal)?,
                files,
                decision,
            )
            .await
            .map_err(internal)?;
        if ok {
            Ok(())
        } else {
            Err(refuse(
                "Өргөдлийн төлөв өөрчлөгдсөн байна; хуудсыг дахин ачаална уу",
                "The application changed meanwhile; reload the page",
            ))
        }
    }

    /// One evidence fetch over the exchange, on the portal operator's behalf.
    async fn fetch(&self, e: &EvidenceSpec, subject: &str) -> Fetched {
        let Some(t) = self.accounts.tracker_settings() else {
            return Fetched {
                service: e.service.clone(),
                subject: subject.into(),
                data: Value::String("the exchange is not configured".into()),
                ok: false,
            };
        };
        let r = self
            .accounts
            .http()
            .get(format!(
                "{}/r1/{}/{}",
                t.consumer_url.trim_end_matches('/'),
                e.service,
                pct(subject)
            ))
            .header("X-Road-Client", &t.client)
            .header("X-Tamga-Data-Subject", pct(subject))
            .header(
                "X-Tamga-Purpose",
                pct(&format!("{} / {}", e.purpose[0], e.purpose[1])),
            )
            .header(
                "X-Tamga-Legal-Basis",
                pct(&format!("{} / {}", e.legal_basis[0], e.legal_basis[1])),
            )
            .send()
            .await;
        let (data, ok) = match r {
            Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                Ok(v) => (v, true),
                Err(e) => (Value::String(e.to_string()), false),
            },
            Ok(r) => (
                Value::String(format!(
                    "{} {}",
                    r.status(),
                    r.headers()
                        .get("x-road-error")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                )),
                false,
            ),
            Err(e) => (Value::String(e.to_string()), false),
        };
        Fetched {
            service: e.service.clone(),
            subject: subject.into(),
            data,
            ok,
        }
    }

    /// After consent: fetches every evidence item (concurrently) and records them.
    pub async fn consent(&self, c: &Citizen, id: &str) -> Result<Vec<Fetched>, Refusal> {
        let (a, mut r, _, _) = self.own(c, id).await?.ok_or_else(no_application)?;
        if a.status != "draft" {
            return Err(refuse(
                "Өргөдлийг илгээсэн байна",
                "The application has been sent already",
            ));
        }
        let s = self.service_of(&a)?;
        let mut tasks = Vec::new();
        for e in &s.evidence {
            let who = match e.of {
                Party::Applicant => a.applicant.clone(),
                Party::Subject => a.subject.clone(),
            };
            tasks.push(async move { self.fetch(e, &who).await });
        }
        let fetched = futures_util::future::join_all(tasks).await;
        r.consent_at_ms = Some(tamga_store::now_ms());
        r.evidence = fetched.clone();
        self.save(&a, "draft", "draft", &r, (None, None), None)
            .await?;
        Ok(fetched)
    }

    /// Records an answer; a refusal keeps what was typed for the page to show again.
    pub async fn answer(
        &self,
        c: &Citizen,
        id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), Refusal> {
        let (a, mut r, doc, _) = self.own(c, id).await?.ok_or_else(no_application)?;
        if a.status != "draft" || doc.is_some() {
            return Err(refuse(
                "Өргөдлийг өөрчлөх боломжгүй",
                "The application can no longer be changed",
            ));
        }
        let s = self.service_of(&a)?;
        let q = s
            .questions
            .iter()
            .find(|q| q.key == key)
            .ok_or_else(|| refuse("Асуулт олдсонгүй", "No such question"))?;
        let cleaned: String = value
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ',' && *c != '₮')
            .collect();
        if cleaned.is_empty() {
            return Err(Refusal {
                mn: format!("{} — хариулна уу", q.label[0]),
                en: format!("{} — enter an answer", q.label[1]),
            });
        }
        let n: i64 = cleaned.parse().map_err(|_| Refusal {
            mn: format!("{} — зөвхөн тоо оруулна уу", q.label[0]),
            en: format!("{} — enter a whole number", q.label[1]),
        })?;
        if n < q.min || n > q.max {
            return Err(Refusal {
                mn: format!("{} — {}-с {} хооронд байх ёстой", q.label[0], q.min, q.max),
                en: format!("{} — must be between {} and {}", q.label[1], q.min, q.max),
            });
        }
        r.answers.insert(q.key.clone(), n);
        self.save(&a, "draft", "draft", &r, (None, None), None)
            .await
    }

    /// The application file (PDF/A), written once all questions are answered.
    pub async fn document(&self, c: &Citizen, id: &str) -> Result<Vec<u8>, Refusal> {
        let (a, r, doc, _) = self.own(c, id).await?.ok_or_else(no_application)?;
        if let Some(d) = doc {
            return Ok(d);
        }
        let s = self.service_of(&a)?;
        if r.consent_at_ms.is_none() || s.questions.iter().any(|q| !r.answers.contains_key(&q.key))
        {
            return Err(refuse(
                "Өргөдөл бүрэн бус байна",
                "The application is not complete",
            ));
        }
        let mut blocks = vec![
            tamga_pdfa::Block::Title(format!("Өргөдөл: {}", s.title[0])),
            tamga_pdfa::Block::Small(format!("Application: {}", s.title[1])),
            tamga_pdfa::Block::Gap(6.0),
            tamga_pdfa::Block::Field(
                "Хүлээн авагч / To".into(),
                format!("{} / {}", s.provider_name[0], s.provider_name[1]),
            ),
            tamga_pdfa::Block::Field(
                "Өргөдлийн дугаар / Application".into(),
                a.application_id.clone(),
            ),
            tamga_pdfa::Block::Field(
                "Өргөдөл гаргагч / Applicant".into(),
                format!("{} ({})", c.name, a.applicant),
            ),
            tamga_pdfa::Block::Field(
                "Хэний нэрийн өмнөөс / For".into(),
                format!("{} ({}) — {}", r.subject_name, a.subject, r.basis),
            ),
            tamga_pdfa::Block::Rule,
            tamga_pdfa::Block::Heading(
                "Бүртгэлээс авсан мэдээлэл / Evidence from registers".into(),
            ),
        ];
        for (e, f) in s.evidence.iter().zip(&r.evidence) {
            blocks.push(tamga_pdfa::Block::Field(
                format!("{} / {}", e.title[0], e.title[1]),
                format!(
                    "{} — {}",
                    e.holder[1],
                    if f.ok {
                        format!("SHA-256 {}", hex(&sha256(f.data.to_string().as_bytes())))
                    } else {
                        "not available".into()
                    }
                ),
            ));
        }
        blocks.push(tamga_pdfa::Block::Heading("Хариултууд / Answers".into()));
        for q in &s.questions {
            blocks.push(tamga_pdfa::Block::Field(
                format!("{} / {}", q.label[0], q.label[1]),
                r.answers
                    .get(&q.key)
                    .map(i64::to_string)
                    .unwrap_or_default(),
            ));
        }
        blocks.push(tamga_pdfa::Block::Gap(10.0));
        blocks.push(tamga_pdfa::Block::Text(
            "Дээрх мэдээлэл үнэн зөв болохыг баталж, өргөдлөө цахим гарын үсгээр баталгаажуулав. \
             I confirm the above and sign this application with my electronic signature."
                .into(),
        ));
        let pdf = tamga_pdfa::render(&tamga_pdfa::DocumentSpec {
            title: format!("Өргөдөл / Application {}", a.application_id),
            author: c.name.clone(),
            lang: "mn".into(),
            created_unix: tamga_store::now_ms() / 1000,
            blocks,
            qr: None,
            footer: Some(format!("Tamga · {}", a.application_id)),
        })
        .map_err(internal)?;
        self.save(&a, "draft", "draft", &r, (Some(&pdf), None), None)
            .await?;
        Ok(pdf)
    }

    /// Takes the signed application, checks it, and delivers it over the exchange.
    pub async fn submit_signed(
        &self,
        c: &Citizen,
        id: &str,
        signed: Vec<u8>,
    ) -> Result<(), Refusal> {
        let (a, r, doc, _) = self.own(c, id).await?.ok_or_else(no_application)?;
        if a.status != "draft" {
            return Err(refuse(
                "Өргөдлийг илгээсэн байна",
                "The application has been sent already",
            ));
        }
        let doc = doc.ok_or_else(|| {
            refuse(
                "Эхлээд өргөдлийн файлыг татаж авна уу",
                "Download the application file first",
            )
        })?;
        let tsa_url = read(&self.tsa_url).ok_or_else(|| internal("no time-stamping service"))?;
        let http = self.accounts.http().clone();
        let (tsa, ocsp) = (
            crate::remote_sign::http_tsa(http.clone(), tsa_url),
            crate::remote_sign::http_ocsp(http),
        );
        let incomplete = |e: tamga_sign::ExtendError| Refusal {
            mn: format!("Гарын үсгийг баталгаажуулж чадсангүй: {e}"),
            en: format!("The signature could not be completed with validation data: {e}"),
        };
        let (signed, name) = if signed.starts_with(b"%PDF-") {
            // PAdES signs by incremental update: the signed file starts with the exact bytes
            // the portal wrote, so a different or edited application cannot pass as this one.
            if signed.len() <= doc.len() || !signed.starts_with(&doc) {
                return Err(refuse(
                    "Гарын үсэг зурсан файл нь энэ өргөдөл биш байна (агуулга өөрчлөгдсөн)",
                    "The signed file is not this application (its content differs)",
                ));
            }
            // The portal raises what it receives to PAdES B-LTA (validation data in the DSS,
            // a document time-stamp), so the file the organisation keeps stays verifiable, and
            // a B-B or B-T signature gets the proof of existence its revocation check needs.
            let pdf = tokio::task::block_in_place(|| {
                tamga_sign::extend::extend_pdf(
                    &signed,
                    tamga_sign::extend::Target::Lta,
                    &tsa,
                    &ocsp,
                    tamga_pki::builder::now(),
                )
            })
            .map_err(incomplete)?;
            (pdf, "application.pdf")
        } else if signed.first() == Some(&0x30) {
            // A detached CAdES signature (.p7s) over the application file: completed to
            // CAdES B-LTA against exactly that file, and kept with it as an ASiC-S container.
            let p7s = tokio::task::block_in_place(|| {
                tamga_sign::extend::extend_cades(
                    &signed,
                    Some(&doc),
                    tamga_sign::extend::Target::Lta,
                    &tsa,
                    &ocsp,
                    tamga_pki::builder::now(),
                )
            })
            .map_err(incomplete)?;
            let asic = tamga_sign::zip::write(&[
                tamga_sign::zip::Entry {
                    name: "mimetype".into(),
                    data: tamga_sign::asic::MIME_ASIC_S.as_bytes().to_vec(),
                },
                tamga_sign::zip::Entry {
                    name: "application.pdf".into(),
                    data: doc.clone(),
                },
                tamga_sign::zip::Entry {
                    name: "META-INF/signature.p7s".into(),
                    data: p7s,
                },
            ])
            .map_err(internal)?;
            (asic, "application.asics")
        } else {
            return Err(refuse(
                "PAdES (PDF) эсвэл CAdES (.p7s) файл оруулна уу",
                "Upload a PAdES (PDF) or CAdES (.p7s) file",
            ));
        };
        let report = self
            .accounts
            .validate(name, signed.clone())
            .await
            .map_err(internal)?;
        let sigs = report["signatures"].as_array().cloned().unwrap_or_default();
        if sigs.is_empty() {
            return Err(refuse(
                "Файлд гарын үсэг алга",
                "The file carries no signature",
            ));
        }
        if report["indication"] != "TOTAL-PASSED" {
            return Err(Refusal {
                mn: format!(
                    "Гарын үсэг хүчингүй: {}",
                    report["signatures"][0]["sub_indication"]
                        .as_str()
                        .unwrap_or("")
                ),
                en: format!(
                    "The signature is not valid: {} {}",
                    report["indication"].as_str().unwrap_or(""),
                    report["signatures"][0]["sub_indication"]
                        .as_str()
                        .unwrap_or("")
                ),
            });
        }
        let want = tamga_pki::identity::RegistrationNumber::parse(&a.applicant)
            .map(|r| r.serial_number_attribute())
            .map_err(internal)?;
        let signer_is_applicant = sigs.iter().any(|s| {
            s["signer"]["subject"].as_str().is_some_and(|subj| {
                subj.split([',', '+'])
                    .any(|p| p.trim().ends_with(&format!("={want}")))
            })
        });
        if !signer_is_applicant {
            return Err(refuse(
                "Өргөдөлд өргөдөл гаргагч өөрөө гарын үсэг зураагүй байна",
                "The application is not signed by the applicant",
            ));
        }
        self.save(&a, "draft", "submitted", &r, (None, Some(&signed)), None)
            .await?;
        self.deliver(&a.application_id).await
    }

    /// Sends a submitted application to its organisation over the exchange.
    pub async fn deliver(&self, id: &str) -> Result<(), Refusal> {
        let store = self.accounts.store().map_err(internal)?;
        let (a, _, signed) = store
            .application_get(id)
            .await
            .map_err(internal)?
            .ok_or_else(no_application)?;
        let s = self.service_of(&a)?;
        let t = self
            .accounts
            .tracker_settings()
            .ok_or_else(|| internal("the exchange is not configured"))?;
        let body = signed.ok_or_else(|| internal("nothing signed"))?;
        let r = self
            .accounts
            .http()
            .post(format!(
                "{}/r1/{}/{}",
                t.consumer_url.trim_end_matches('/'),
                s.deliver_to,
                pct(&a.application_id)
            ))
            .header("X-Road-Client", &t.client)
            .header("X-Tamga-Data-Subject", pct(&a.subject))
            .header(
                "X-Tamga-Purpose",
                pct("Өргөдөл хүргүүлэх / deliver an application"),
            )
            .header(
                "X-Tamga-Legal-Basis",
                pct("Иргэний өргөдөл / the citizen's application"),
            )
            .header(
                "content-type",
                if body.starts_with(b"%PDF-") {
                    "application/pdf"
                } else {
                    tamga_sign::asic::MIME_ASIC_S
                },
            )
            .body(body)
            .send()
            .await
            .map_err(internal)?;
        if !r.status().is_success() {
            return Err(internal(format!(
                "delivery: {} {}",
                r.status(),
                r.headers()
                    .get("x-road-error")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            )));
        }
        self.notify(
            &a.applicant,
            &a.application_id,
            "delivered",
            &format!(
                "Таны «{}» өргөдлийг {} хүлээн авлаа.",
                s.title[0], s.provider_name[0]
            ),
            &format!(
                "{} received your application \"{}\".",
                s.provider_name[1], s.title[1]
            ),
        )
        .await;
        Ok(())
    }

    /// The organisation's side of delivery (behind its gateway): accepts exactly the signed
    /// file the applicant submitted, once.
    pub async fn receive(
        &self,
        organisation: &str,
        id: &str,
        body: &[u8],
        message_id: &str,
    ) -> Result<(), Refusal> {
        let store = self.accounts.store().map_err(internal)?;
        let (a, _, signed) = store
            .application_get(id)
            .await
            .map_err(internal)?
            .ok_or_else(no_application)?;
        if a.provider != organisation || a.status != "submitted" || signed.as_deref() != Some(body)
        {
            return Err(refuse(
                "Өргөдөл таарахгүй байна",
                "The application does not match a submitted one",
            ));
        }
        let mut r: Record = serde_json::from_str(&a.record).map_err(internal)?;
        r.delivery = Some(message_id.to_owned());
        self.save(&a, "submitted", "delivered", &r, (None, None), None)
            .await
    }

    /// An organisation's queue.
    pub async fn queue(&self, organisation: &str) -> Result<Vec<Application>, Refusal> {
        self.accounts
            .store()
            .map_err(internal)?
            .applications_for(organisation)
            .await
            .map_err(internal)
    }

    /// An application of the organisation, with its signed file.
    pub async fn office_get(
        &self,
        organisation: &str,
        id: &str,
    ) -> Result<Option<(Application, Record, Option<Vec<u8>>)>, Refusal> {
        let got = self
            .accounts
            .store()
            .map_err(internal)?
            .application_get(id)
            .await
            .map_err(internal)?;
        Ok(got
            .filter(|(a, _, _)| {
                a.provider == organisation && !matches!(a.status.as_str(), "draft" | "submitted")
            })
            .and_then(|(a, _, s)| Some((a.clone(), serde_json::from_str(&a.record).ok()?, s))))
    }

    /// The office asks the applicant for more.
    pub async fn ask(&self, organisation: &str, id: &str, text: &str) -> Result<(), Refusal> {
        let text = bounded(text)?;
        let (a, mut r, _) = self
            .office_get(organisation, id)
            .await?
            .ok_or_else(no_application)?;
        if a.status != "delivered" {
            return Err(refuse(
                "Энэ төлөвт асуух боломжгүй",
                "Cannot ask in this state",
            ));
        }
        r.messages.push(Message {
            at_ms: tamga_store::now_ms(),
            from: "office".into(),
            text: text.clone(),
        });
        self.save(&a, "delivered", "more-info", &r, (None, None), None)
            .await?;
        self.notify(
            &a.applicant,
            id,
            "more-info",
            &format!("Нэмэлт мэдээлэл хүсэв: {text}"),
            &format!("More information is requested: {text}"),
        )
        .await;
        Ok(())
    }

    /// The applicant answers the office.
    pub async fn reply(&self, c: &Citizen, id: &str, text: &str) -> Result<(), Refusal> {
        let text = bounded(text)?;
        let (a, mut r, _, _) = self.own(c, id).await?.ok_or_else(no_application)?;
        if a.status != "more-info" {
            return Err(refuse(
                "Нэмэлт мэдээлэл хүсээгүй байна",
                "No more information was asked for",
            ));
        }
        r.messages.push(Message {
            at_ms: tamga_store::now_ms(),
            from: "applicant".into(),
            text,
        });
        self.save(&a, "more-info", "delivered", &r, (None, None), None)
            .await
    }

    /// The office decides: the decision is written, sealed, put in the applicant's wallet.
    pub async fn decide(
        &self,
        organisation: &str,
        official: &str,
        id: &str,
        approve: bool,
        reason: &str,
    ) -> Result<String, Refusal> {
        let reason = bounded(reason)?;
        let (a, mut r, _) = self
            .office_get(organisation, id)
            .await?
            .ok_or_else(no_application)?;
        if a.status != "delivered" {
            return Err(refuse(
                "Энэ төлөвт шийдвэрлэх боломжгүй",
                "Cannot decide in this state",
            ));
        }
        let s = self.service_of(&a)?;
        let (outcome_mn, outcome_en) = if approve {
            ("ЗӨВШӨӨРСӨН", "APPROVED")
        } else {
            ("ТАТГАЛЗСАН", "REFUSED")
        };
        let now = tamga_store::now_ms();
        let mut blocks = vec![
            tamga_pdfa::Block::Field(
                "Өргөдлийн дугаар / Application".into(),
                a.application_id.clone(),
            ),
            tamga_pdfa::Block::Field("Өргөдөл гаргагч / Applicant".into(), a.applicant.clone()),
            tamga_pdfa::Block::Field(
                "Хэний нэрийн өмнөөс / For".into(),
                format!("{} ({})", r.subject_name, a.subject),
            ),
        ];
        for q in &s.questions {
            blocks.push(tamga_pdfa::Block::Field(
                format!("{} / {}", q.label[0], q.label[1]),
                r.answers
                    .get(&q.key)
                    .map(i64::to_string)
                    .unwrap_or_default(),
            ));
        }
        blocks.extend([
            tamga_pdfa::Block::Rule,
            tamga_pdfa::Block::Heading(format!("Шийдвэр / Decision: {outcome_mn} / {outcome_en}")),
            tamga_pdfa::Block::Text(reason.clone()),
            tamga_pdfa::Block::Gap(8.0),
            tamga_pdfa::Block::Field("Шийдвэрлэсэн / Decided by".into(), official.to_owned()),
        ]);
        let (doc_id, code) = self
            .issue(Issue {
                owner: &a.applicant,
                organisation,
                issuer: &s.provider_name,
                title: [
                    format!("Шийдвэр: {}", s.title[0]),
                    format!("Decision: {}", s.title[1]),
                ],
                file_name: &format!("decision-{}.pdf", a.application_id),
                blocks,
                at_ms: now,
            })
            .await?;
        r.decision = Some(Decision {
            outcome: if approve { "approved" } else { "refused" }.into(),
            reason,
            official: official.to_owned(),
            code: code.clone(),
        });
        let status = if approve { "approved" } else { "refused" };
        self.save(&a, "delivered", status, &r, (None, None), Some(&doc_id))
            .await?;
        self.notify(
            &a.applicant,
            id,
            status,
            &format!("«{}» өргөдлийг шийдвэрлэлээ: {outcome_mn}. Шийдвэр таны хэтэвчинд байна.", s.title[0]),
            &format!("Your application \"{}\" was decided: {outcome_en}. The decision is in your wallet.", s.title[1]),
        )
        .await;
        Ok(code)
    }

    /// Issues a document to a citizen's wallet on behalf of an organisation: PDF/A with a QR
    /// code and a verification code, sealed at PAdES B-LTA, its salted commitment in the
    /// ledger. Returns the wallet document's id and the verification code.
    pub async fn issue(&self, d: Issue<'_>) -> Result<(String, String), Refusal> {
        let sealer = read(&self.sealer).ok_or_else(|| internal("no seal for documents"))?;
        let code = verification_code();
        let url = format!("{}/portal/verify/code?code={code}", read(&self.public_base));
        let mut blocks = vec![
            tamga_pdfa::Block::Title(d.title[0].clone()),
            tamga_pdfa::Block::Small(d.title[1].clone()),
            tamga_pdfa::Block::Gap(6.0),
            tamga_pdfa::Block::Field(
                "Байгууллага / Organisation".into(),
                format!("{} / {}", d.issuer[0], d.issuer[1]),
            ),
            tamga_pdfa::Block::Field("Огноо / Date".into(), tamga_http::html::date_of_ms(d.at_ms)),
        ];
        blocks.extend(d.blocks);
        blocks.push(tamga_pdfa::Block::Small(format!(
            "Энэ баримт байгууллагын цахим тамгаар баталгаажсан. Жинхэнэ эсэхийг {url} хаягаар, эсвэл QR кодоор шалгана уу. \
             This document is sealed electronically by the organisation; check it at the address above or with the QR code."
        )));
        let pdf = tamga_pdfa::render(&tamga_pdfa::DocumentSpec {
            title: format!("{} / {}", d.title[0], d.title[1]),
            author: d.issuer[0].clone(),
            lang: "mn".into(),
            created_unix: d.at_ms / 1000,
            blocks,
            qr: Some((url, format!("Код / Code {code}"))),
            footer: Some(format!("Баталгаажуулах код / Verification code: {code}")),
        })
        .map_err(internal)?;
        let sealed = sealer.seal(d.organisation, pdf).await.map_err(internal)?;
        let doc_id = self
            .accounts
            .add_document(
                d.owner,
                &d.title[0],
                &d.title[1],
                "application/pdf",
                d.file_name,
                &d.issuer[0],
                &sealed,
            )
            .await
            .map_err(internal)?;
        // The salted commitment goes to the public ledger: SHA-256(salt ‖ SHA-256(document)),
        // so the ledger shows that it was issued and when, not what.
        let ledger = match read(&self.ledger) {
            Some(l) => {
                let salt = sha256(random_token().as_bytes());
                let commitment = ledger_commitment(&salt, &sealed);
                let (log, index) = l.commit(commitment).await.map_err(internal)?;
                Some((log, i64::try_from(index).unwrap_or(i64::MAX), salt))
            }
            None => None,
        };
        self.accounts
            .store()
            .map_err(internal)?
            .verification_code_put(
                &code,
                &doc_id,
                ledger.as_ref().map(|(l, i, s)| (l.as_str(), *i, &s[..])),
            )
            .await
            .map_err(internal)?;
        Ok((doc_id, code))
    }

    /// The document a verification code names, with its ledger entry (log, index, salt).
    #[allow(clippy::type_complexity)]
    pub async fn by_code(
        &self,
        code: &str,
    ) -> Result<
        Option<(
            tamga_store::WalletDocument,
            Vec<u8>,
            Option<(String, i64, Vec<u8>)>,
        )>,
        Refusal,
    > {
        let Some(code) = normalise_code(code) else {
            return Ok(None);
        };
        self.accounts
            .store()
            .map_err(internal)?
            .verification_code_get(&code)
            .await
            .map_err(internal)
    }

    /// Whether a document's commitment is in the ledger: `Ok(Some(receipt URL))` when the
    /// entry at `index` is exactly the commitment and is in a checkpoint, `Ok(None)` when it
    /// is not in a checkpoint yet, `Err` when the ledger holds something else there.
    pub async fn ledger_check(
        &self,
        log: &str,
        index: i64,
        salt: &[u8],
        document: &[u8],
    ) -> Result<Option<String>, String> {
        use base64::Engine;
        let base = self
            .accounts
            .tracker_settings()
            .and_then(|t| t.ledger_url)
            .ok_or("no ledger configured")?;
        let url = format!(
            "{}/ledger/{}/receipt?index={index}",
            base.trim_end_matches('/'),
            pct(log)
        );
        let r = self
            .accounts
            .http()
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let v: Value = r.json().await.map_err(|e| e.to_string())?;
        let entry = base64::engine::general_purpose::STANDARD
            .decode(v["entry"].as_str().unwrap_or(""))
            .map_err(|e| e.to_string())?;
        if entry == ledger_commitment(salt, document) {
            Ok(Some(url))
        } else {
            Err("the ledger's entry is not this document's commitment".into())
        }
    }

    /// The citizen's inbox.
    pub async fn inbox(&self, c: &Citizen) -> Result<Vec<InboxMessage>, Refusal> {
        self.accounts
            .store()
            .map_err(internal)?
            .inbox_of(&c.registration_number)
            .await
            .map_err(internal)
    }

    /// Where the citizen's notifications go.
    pub async fn contact(&self, c: &Citizen) -> Option<String> {
        self.accounts
            .store()
            .ok()?
            .contact_get(&c.registration_number)
            .await
            .ok()
            .flatten()
    }

    /// Sets where the citizen's notifications go.
    pub async fn set_contact(&self, c: &Citizen, email: &str) -> Result<(), Refusal> {
        let email = email.trim();
        if !crate::notify::valid_address(email) {
            return Err(refuse(
                "И-мэйл хаяг буруу байна (жишээ: name@example.mn)",
                "Enter an e-mail address like name@example.mn",
            ));
        }
        self.accounts
            .store()
            .map_err(internal)?
            .contact_set(&c.registration_number, email)
            .await
            .map_err(internal)
    }

    /// Inbox message, and e-mail when the citizen gave an address. A failed e-mail is logged
    /// (without the address) and does not undo the change: the inbox has it.
    async fn notify(&self, owner: &str, id: &str, status: &str, mn: &str, en: &str) {
        let Ok(store) = self.accounts.store() else {
            return;
        };
        let m = InboxMessage {
            at_ms: tamga_store::now_ms(),
            application_id: id.to_owned(),
            status: status.to_owned(),
            text_mn: mn.to_owned(),
            text_en: en.to_owned(),
        };
        if let Err(e) = store.inbox_add(owner, &m).await {
            tracing::warn!(error = %e, "inbox message not stored");
        }
        if let (Some(smtp), Ok(Some(to))) = (read(&self.smtp), store.contact_get(owner).await) {
            let body = format!("{mn}\n\n{en}\n\n{}/portal/inbox\n", read(&self.public_base));
            if let Err(e) = send(
                &smtp,
                &to,
                "Tamga: өргөдлийн мэдэгдэл / application update",
                &body,
            )
            .await
            {
                tracing::warn!(error = %e, application = id, "notification e-mail not sent");
            }
        }
    }
}

pub(crate) fn no_application() -> Refusal {
    refuse("Өргөдөл олдсонгүй", "No such application")
}

fn bounded(text: &str) -> Result<String, Refusal> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 2000 {
        return Err(refuse(
            "1-2000 тэмдэгт бичнэ үү",
            "Write 1 to 2,000 characters",
        ));
    }
    Ok(t.to_owned())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twelve_crockford_characters_and_read_back_leniently() {
        let c = verification_code();
        assert_eq!(c.len(), 14);
        assert_ne!(c, verification_code());
        assert_eq!(
            normalise_code(&c.to_lowercase().replace('-', " ")),
            Some(c.clone())
        );
        assert_eq!(
            normalise_code("oooo-iiii-llll").as_deref(),
            Some("0000-1111-1111")
        );
        assert_eq!(normalise_code("ABC"), None);
        assert_eq!(normalise_code("' OR 1=1 --"), None);
    }
}
