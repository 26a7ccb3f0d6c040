//! The demo's once-only service and back office: voluntary social insurance (the study's
//! example, which today asks for an ID card, a social insurance book and a child's birth
//! certificate on paper) with its evidence fetched over Khur; the social insurance
//! authority's officials; its seal for decisions (PAdES B-LTA with the demo's TSA and OCSP).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use anyhow::anyhow;
use serde_json::{Value, json};
use tamga_id::client::{AuthMethod, ClientRegistration, SubjectType};
use tamga_portal::applications::{EvidenceSpec, OnceOnlyService, Party, Question, Sealer};
use tamga_trust::TrustServices;

use crate::startup::Started;

fn pair(mn: &str, en: &str) -> [String; 2] {
    [mn.to_owned(), en.to_owned()]
}

/// Voluntary social insurance, once-only.
fn voluntary_social_insurance() -> anyhow::Result<OnceOnlyService> {
    let gasr = crate::demo_exchange::subsystem_id("gasr")?;
    let gasi = crate::demo_exchange::subsystem_id("gasi")?;
    let basis = pair(
        "Нийгмийн даатгалын тухай хууль; Хувь хүний мэдээлэл хамгаалах тухай хууль",
        "Law on Social Insurance; Law on Personal Data Protection",
    );
    let registry = pair(
        "Улсын бүртгэлийн ерөнхий газар",
        "General Authority for State Registration",
    );
    let insurance = pair(
        "Нийгмийн даатгалын ерөнхий газар",
        "General Authority for Social Insurance",
    );
    Ok(OnceOnlyService {
        service_id: "voluntary-social-insurance".into(),
        provider: "gasi".into(),
        provider_name: insurance.clone(),
        title: pair(
            "Сайн дурын нийгмийн даатгалд хамрагдах",
            "Voluntary social insurance enrolment",
        ),
        evidence: vec![
            EvidenceSpec {
                service: format!("{gasr}/WS100101_getCitizenIDCardInfo"),
                of: Party::Applicant,
                title: pair(
                    "Өргөдөл гаргагчийн иргэний үнэмлэх",
                    "Applicant's ID card record",
                ),
                holder: registry.clone(),
                purpose: pair("Өргөдөл гаргагчийг тодорхойлох", "identify the applicant"),
                legal_basis: basis.clone(),
            },
            EvidenceSpec {
                service: format!("{gasr}/WS100102_getCitizenBirthInfo"),
                of: Party::Subject,
                title: pair(
                    "Даатгуулагчийн төрсний бүртгэл",
                    "Insured person's birth record",
                ),
                holder: registry,
                purpose: pair(
                    "Даатгуулагч болон эцэг эхийг тодорхойлох",
                    "identify the insured person and their parent",
                ),
                legal_basis: basis.clone(),
            },
            EvidenceSpec {
                service: format!("{gasi}/WS100512_checkIsInsuredInfo"),
                of: Party::Subject,
                title: pair("Даатгалд хамрагдсан эсэх", "Whether already insured"),
                holder: insurance,
                purpose: pair("Давхар даатгалаас сэргийлэх", "avoid double insurance"),
                legal_basis: basis,
            },
        ],
        questions: vec![
            Question {
                key: "monthly_income".into(),
                label: pair(
                    "Даатгуулах сарын орлого (₮)",
                    "Monthly income to insure (₮)",
                ),
                hint: pair(
                    "Шимтгэлийг үүнээс тооцно. Бүртгэлд байхгүй тул танаас асууж байна.",
                    "Contributions are computed from it. No register holds it, so we ask you.",
                ),
                min: 1,
                max: 100_000_000,
            },
            Question {
                key: "months".into(),
                label: pair(
                    "Хэдэн сарын шимтгэл төлөх вэ?",
                    "How many months will you pay for?",
                ),
                hint: pair("1-ээс 12 сар", "1 to 12 months"),
                min: 1,
                max: 12,
            },
        ],
        deliver_to: format!("{gasi}/submitApplication"),
        for_self: true,
        for_children: true,
        for_companies: false,
    })
}

/// An employer's social-insurance arrears reference, applied for by the company's legal
/// representative or an employee it mandated.
fn employer_arrears_reference() -> anyhow::Result<OnceOnlyService> {
    let gasr = crate::demo_exchange::subsystem_id("gasr")?;
    let gasi = crate::demo_exchange::subsystem_id("gasi")?;
    let basis = pair(
        "Нийгмийн даатгалын тухай хууль; Хуулийн этгээдийн улсын бүртгэлийн тухай хууль",
        "Law on Social Insurance; Law on State Registration of Legal Entities",
    );
    let registry = pair(
        "Улсын бүртгэлийн ерөнхий газар",
        "General Authority for State Registration",
    );
    let insurance = pair(
        "Нийгмийн даатгалын ерөнхий газар",
        "General Authority for Social Insurance",
    );
    Ok(OnceOnlyService {
        service_id: "org-social-insurance-debt".into(),
        provider: "gasi".into(),
        provider_name: insurance.clone(),
        title: pair(
            "Байгууллагын нийгмийн даатгалын өрийн тодорхойлолт",
            "Employer social-insurance arrears reference",
        ),
        evidence: vec![
            EvidenceSpec {
                service: format!("{gasr}/WS100101_getCitizenIDCardInfo"),
                of: Party::Applicant,
                title: pair(
                    "Өргөдөл гаргагчийн иргэний үнэмлэх",
                    "Applicant's ID card record",
                ),
                holder: registry.clone(),
                purpose: pair("Өргөдөл гаргагчийг тодорхойлох", "identify the applicant"),
                legal_basis: basis.clone(),
            },
            EvidenceSpec {
                service: format!("{gasr}/WS100307_getLegalEntityInfoWithRegnum"),
                of: Party::Subject,
                title: pair(
                    "Хуулийн этгээдийн улсын бүртгэл",
                    "State register record of the company",
                ),
                holder: registry,
                purpose: pair(
                    "Байгууллага, төлөөлөгчийг тодорхойлох",
                    "identify the company and its representative",
                ),
                legal_basis: basis.clone(),
            },
            EvidenceSpec {
                service: format!("{gasi}/WS100586_OrgHasDebt"),
                of: Party::Subject,
                title: pair(
                    "Нийгмийн даатгалын шимтгэлийн өр",
                    "Social-insurance contribution arrears",
                ),
                holder: insurance,
                purpose: pair("Тодорхойлолт гаргах", "issue the reference"),
                legal_basis: basis,
            },
        ],
        questions: vec![Question {
            key: "year".into(),
            label: pair("Аль оны тодорхойлолт вэ?", "For which year?"),
            hint: pair("2015-аас 2026 он", "2015 to 2026"),
            min: 2015,
            max: 2026,
        }],
        deliver_to: format!("{gasi}/submitApplication"),
        for_self: false,
        for_children: false,
        for_companies: true,
    })
}

/// Seals decisions with the organisation's seal certificate from the demo PKI.
struct DemoSealer {
    trust: Arc<TrustServices>,
    data: PathBuf,
}

impl Sealer for DemoSealer {
    fn seal<'a>(
        &'a self,
        organisation: &'a str,
        pdf: Vec<u8>,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            if !organisation
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err("unknown organisation".into());
            }
            let p12 = format!("holders/{organisation}/seal.p12");
            tokio::task::block_in_place(|| {
                let h =
                    crate::demo_contract::holder(&self.data, &p12).map_err(|e| e.to_string())?;
                crate::demo_contract::sign_b_lta(
                    &self.trust,
                    &[(&h, "Seal", "Шийдвэр / Decision")],
                    pdf,
                )
                .map_err(|e| e.to_string())
            })
        })
    }
}

/// Commits issued decisions to the ledger's `archive` log.
struct ArchiveLog(Arc<tamga_ledger::log::Log>);

impl tamga_portal::applications::DocumentLedger for ArchiveLog {
    fn commit<'a>(
        &'a self,
        commitment: [u8; 32],
    ) -> Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<tamga_portal::applications::LedgerEntry, String>,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let index = self
                .0
                .append(commitment.to_vec())
                .await
                .map_err(|e| e.to_string())?;
            Ok((self.0.name().to_owned(), index))
        })
    }
}

/// The civil registration service issues the first citizen's child's birth certificate into
/// the parent's wallet (once): a sealed PDF/A document with a verification code.
async fn issue_birth_certificate(
    started: &Started,
    apps: &tamga_portal::applications::Applications,
    country: &Value,
) -> anyhow::Result<Value> {
    let Some(parent) = country["citizens"].get(0) else {
        return Ok(Value::Null);
    };
    let reg = parent["registration_number"].as_str().unwrap_or_default();
    let name = parent["name"].as_str().unwrap_or_default();
    let family = name.split(' ').next().unwrap_or_default();
    let title = "Төрсний гэрчилгээ: Тэмүүлэн";
    if started
        .store
        .wallet_of(reg)
        .await?
        .iter()
        .any(|d| d.title_mn == title)
    {
        return Ok(json!({ "owner": reg, "issued": "earlier" }));
    }
    let f = |k: &str, v: String| tamga_pdfa::Block::Field(k.into(), v);
    let (_, code) = apps
        .issue(tamga_portal::applications::Issue {
            owner: reg,
            organisation: "gasr",
            issuer: &pair(
                "Улсын бүртгэлийн ерөнхий газар",
                "General Authority for State Registration",
            ),
            title: [title.into(), "Birth certificate: Temuulen".into()],
            file_name: "birth-certificate-UB15150111.pdf",
            blocks: vec![
                f("Овог / Family name", family.to_owned()),
                f("Нэр / Given name", "Тэмүүлэн".into()),
                f(
                    "Регистрийн дугаар / Registration number",
                    "УБ15150111 (synthetic)".into(),
                ),
                f("Төрсөн огноо / Date of birth", "2015-05-12".into()),
                f(
                    "Төрсөн газар / Place of birth",
                    "Улаанбаатар / Ulaanbaatar".into(),
                ),
                f("Эцэг эсвэл эх / Parent", format!("{name} ({reg})")),
                f("Гэрчилгээний дугаар / Certificate No.", "ТГ-111051".into()),
            ],
            at_ms: tamga_store::now_ms(),
        })
        .await
        .map_err(|e| anyhow!("birth certificate: {}", e.en))?;
    Ok(json!({ "owner": reg, "verification_code": code }))
}

/// Wires the applications and the back office; returns the manifest's additions.
pub async fn connect(started: &Started, data: &Path, country: &Value) -> anyhow::Result<Value> {
    let (Some((apps, office)), Some(provider), Some(trust)) =
        (&started.applications, &started.identity, &started.trust)
    else {
        return Ok(Value::Null);
    };
    let base = &started.base_url;
    apps.set_services(vec![
        voluntary_social_insurance()?,
        employer_arrears_reference()?,
    ]);
    if let Some(log) = started.logs.iter().find(|l| l.name() == "archive") {
        apps.set_ledger(Arc::new(ArchiveLog(Arc::clone(log))));
    }
    apps.set_tsa(&format!("{base}/tsa"));
    apps.set_sealer(Arc::new(DemoSealer {
        trust: Arc::clone(trust),
        data: data.to_path_buf(),
    }));
    if provider.remote_signing().is_some() {
        apps.remote
            .configure(tamga_portal::remote_sign::RemoteSigningSettings {
                csc_api: format!("{base}/csc/v2"),
                tsa_url: format!("{base}/tsa"),
                redirect_uri: format!("{base}/portal/remote-sign/callback"),
            });
    }
    let redirect = format!("{base}/office/callback");
    let secret = provider
        .register_client(ClientRegistration {
            client_id: "agency-office".into(),
            client_name_mn: "Байгууллагын back office".into(),
            client_name_en: "Agency back office".into(),
            redirect_uris: vec![redirect.clone()],
            post_logout_redirect_uris: vec![format!("{base}/office")],
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            subject_type: SubjectType::Pairwise,
            sector_identifier: None,
            allowed_scopes: vec!["profile".into(), "registration_number".into()],
            require_pushed_authorization_requests: false,
            backchannel_logout_uri: None,
            introspect_any: false,
        })
        .await
        .map_err(|e| anyhow!("office client: {e}"))?
        .unwrap_or_default();
    office
        .accounts
        .set_oidc(tamga_portal::account::OidcSettings {
            issuer: provider.issuer().to_owned(),
            client_id: "agency-office".into(),
            client_secret: secret,
            redirect_uri: redirect,
            acr: Some(tamga_id::model::Loa::High.acr().to_owned()),
        });
    let birth_certificate = issue_birth_certificate(started, apps, country).await?;
    let mut officials = Vec::new();
    for o in country["officials"].as_array().into_iter().flatten() {
        let (Some(reg), Some(org), Some(name)) = (
            o["registration_number"].as_str(),
            o["organisation"].as_str(),
            o["name"].as_str(),
        ) else {
            continue;
        };
        started.store.official_put(reg, org, name).await?;
        officials.push(json!({ "name": name, "organisation": org, "pkcs12": o["pkcs12"], "registration_number": reg }));
    }
    Ok(json!({
        "apply": format!("{base}/portal/services/voluntary-social-insurance/apply"),
        "applications": format!("{base}/portal/applications"),
        "inbox": format!("{base}/portal/inbox"),
        "office": format!("{base}/office"),
        "office_client": "agency-office",
        "officials": officials,
        "verify_code": format!("{base}/portal/verify/code"),
        "birth_certificate": birth_certificate,
    }))
}
