//! The demo's exchange: a small government on Khur — civil registration, tax, social
//! insurance, a court, the chamber of notaries, a bank and the citizen portal — each member with
//! its gateway (two listeners, its own certificates from the demo PKI), the backends behind
//! them, access rights, and a few real calls so the message log, the ledger and the data
//! tracker have something to show.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use tamga_exchange::registry::Command;

use crate::config::GatewayConfig;
use crate::exchange_role::{self, GatewayDeps, LocalLedger, LocalTsa, RunningGateway};
use crate::startup::Started;

const INSTANCE: &str = "MN";

/// (demo organisation id, class, code, Mongolian name, English name, subsystem)
const MEMBERS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "gasr",
        "GOV",
        "9000001",
        "Улсын бүртгэлийн ерөнхий газар",
        "General Authority for State Registration",
        "civil-registry",
    ),
    (
        "mta",
        "GOV",
        "9000002",
        "Татварын ерөнхий газар",
        "Mongolian Tax Administration",
        "tax",
    ),
    (
        "khur",
        "GOV",
        "9000003",
        "ХУР мэдээлэл солилцооны систем",
        "Khur data exchange (portal operator)",
        "citizen-portal",
    ),
    (
        "gasi",
        "GOV",
        "9000004",
        "Нийгмийн даатгалын ерөнхий газар",
        "General Authority for Social Insurance",
        "social-insurance",
    ),
    (
        "court",
        "GOV",
        "9000005",
        "Улсын дээд шүүх",
        "Supreme Court of Mongolia",
        "court-cases",
    ),
    (
        "notaries",
        "NGO",
        "9000006",
        "Монголын Нотариатчдын Танхим",
        "Mongolian Chamber of Notaries",
        "notary-register",
    ),
    (
        "state-bank",
        "COM",
        "9000007",
        "Төрийн банк",
        "State Bank",
        "kyc",
    ),
];

/// (provider org, code, Mongolian title, English title, personal, backend path)
const SERVICES: &[(&str, &str, &str, &str, bool, &str)] = &[
    (
        "gasr",
        "WS100101_getCitizenIDCardInfo",
        "Иргэний үнэмлэхний мэдээлэл",
        "Citizen ID card information",
        true,
        "/gasr/citizens",
    ),
    (
        "gasr",
        "WS100102_getCitizenBirthInfo",
        "Төрсний бүртгэлийн мэдээлэл",
        "Birth registration record",
        true,
        "/gasr/births",
    ),
    (
        "gasr",
        "WS100104_getCitizenMarriageInfo",
        "Гэрлэлтийн бүртгэлийн мэдээлэл",
        "Marriage registration record",
        true,
        "/gasr/marriages",
    ),
    (
        "gasi",
        "WS100507_getInsureeWorkHistoryInfo",
        "Даатгуулагчийн ажилласан жилийн мэдээлэл",
        "Insured person's work history",
        true,
        "/gasi/insurees",
    ),
    (
        "mta",
        "WS100622_getIndividualInfo",
        "Татвар төлөгч иргэний мэдээлэл",
        "Individual taxpayer information",
        true,
        "/mta/individuals",
    ),
    (
        "gasi",
        "WS100512_checkIsInsuredInfo",
        "Даатгуулагч эсэх",
        "Whether a person is insured",
        true,
        "/gasi/insured",
    ),
    (
        "gasr",
        "WS100307_getLegalEntityInfoWithRegnum",
        "Хуулийн этгээдийн мэдээлэл",
        "Legal entity record",
        true,
        "/gasr/legal-entities",
    ),
    (
        "gasi",
        "WS100586_OrgHasDebt",
        "Байгууллагын шимтгэлийн өр",
        "Employer contribution arrears",
        true,
        "/gasi/employers",
    ),
    (
        "gasi",
        "submitApplication",
        "Иргэний өргөдөл хүлээн авах",
        "Receive a citizen's application",
        true,
        "@office/gasi",
    ),
    (
        "court",
        "caseStatus",
        "Хэргийн явц",
        "Court case status",
        false,
        "/court/cases",
    ),
    (
        "notaries",
        "verifyNotarialAct",
        "Нотариатын үйлдэл шалгах",
        "Verify a notarial act",
        false,
        "/notaries/acts",
    ),
];

/// (service provider org, service code, client org, disclosure delay days)
const RIGHTS: &[(&str, &str, &str, u32)] = &[
    (
        "gasr",
        "WS100101_getCitizenIDCardInfo",
        "group:gov-agencies",
        0,
    ),
    ("gasr", "WS100101_getCitizenIDCardInfo", "court", 180),
    ("gasr", "WS100101_getCitizenIDCardInfo", "notaries", 0),
    ("gasr", "WS100101_getCitizenIDCardInfo", "state-bank", 0),
    ("gasr", "WS100102_getCitizenBirthInfo", "gasi", 0),
    ("gasr", "WS100104_getCitizenMarriageInfo", "gasi", 0),
    ("gasr", "WS100104_getCitizenMarriageInfo", "notaries", 0),
    (
        "gasi",
        "WS100507_getInsureeWorkHistoryInfo",
        "state-bank",
        0,
    ),
    ("gasi", "WS100507_getInsureeWorkHistoryInfo", "mta", 0),
    ("mta", "WS100622_getIndividualInfo", "gasi", 0),
    ("mta", "WS100622_getIndividualInfo", "state-bank", 0),
    // The portal operator fetches evidence for once-only applications and delivers them.
    ("gasr", "WS100101_getCitizenIDCardInfo", "khur", 0),
    ("gasr", "WS100102_getCitizenBirthInfo", "khur", 0),
    ("gasi", "WS100512_checkIsInsuredInfo", "khur", 0),
    ("gasi", "submitApplication", "khur", 0),
    ("gasr", "WS100307_getLegalEntityInfoWithRegnum", "khur", 0),
    ("gasi", "WS100586_OrgHasDebt", "khur", 0),
    ("court", "caseStatus", "group:gov-agencies", 0),
    ("court", "caseStatus", "notaries", 0),
    ("notaries", "verifyNotarialAct", "state-bank", 0),
    ("notaries", "verifyNotarialAct", "court", 0),
];

fn member(
    org: &str,
) -> anyhow::Result<&'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    MEMBERS
        .iter()
        .find(|m| m.0 == org)
        .ok_or_else(|| anyhow!("unknown demo organisation {org}"))
}

fn member_id(org: &str) -> anyhow::Result<String> {
    let m = member(org)?;
    Ok(format!("{INSTANCE}/{}/{}", m.1, m.2))
}

pub(crate) fn subsystem_id(org: &str) -> anyhow::Result<String> {
    Ok(format!("{}/{}", member_id(org)?, member(org)?.5))
}

/// Percent-encodes for a URL path segment or a header value (UTF-8 bytes).
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn openapi(code: &str, title_en: &str, personal: bool) -> String {
    let param = if personal { "registrationNumber" } else { "id" };
    json!({
        "openapi": "3.0.3",
        "info": { "title": format!("{code}: {title_en}"), "version": "1" },
        "paths": {
            format!("/{{{param}}}"): {
                "get": {
                    "summary": title_en,
                    "parameters": [{ "name": param, "in": "path", "required": true, "schema": { "type": "string" } }],
                    "responses": {
                        "200": { "description": "the record", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "404": { "description": "no such record" }
                    }
                }
            }
        }
    })
    .to_string()
}

/// The registry's content on first start.
fn initial_commands(started: &Started) -> anyhow::Result<Vec<Command>> {
    let mut c = Vec::new();
    for (_, class, code, mn, en, sub) in MEMBERS {
        c.push(Command::AddMember {
            class: (*class).into(),
            code: (*code).into(),
            name_mn: (*mn).into(),
            name_en: (*en).into(),
        });
        c.push(Command::AddSubsystem {
            member: format!("{INSTANCE}/{class}/{code}"),
            code: (*sub).into(),
        });
    }
    for (org, code, mn, en, personal, _) in SERVICES {
        c.push(Command::SetService {
            id: format!("{}/{code}", subsystem_id(org)?),
            version: "v1".into(),
            title_mn: (*mn).into(),
            title_en: (*en).into(),
            personal: *personal,
            openapi: Some(openapi(code, en, *personal)),
        });
    }
    for org in ["gasr", "gasi", "mta"] {
        c.push(Command::SetService {
            id: format!("{}/findUsage", subsystem_id(org)?),
            version: "v1".into(),
            title_mn: "Миний мэдээллийг хэн үзсэн бэ".into(),
            title_en: "Who used my data".into(),
            personal: true,
            openapi: None,
        });
        c.push(Command::Grant {
            service: format!("{}/findUsage", subsystem_id(org)?),
            client: subsystem_id("khur")?,
            max_disclosure_delay_days: 0,
        });
    }
    c.push(Command::SetGroup {
        code: "gov-agencies".into(),
        description: "Төрийн байгууллагууд / Government agencies".into(),
        members: vec![
            subsystem_id("mta")?,
            subsystem_id("gasi")?,
            subsystem_id("court")?,
        ],
    });
    for (org, code, client, days) in RIGHTS {
        c.push(Command::Grant {
            service: format!("{}/{code}", subsystem_id(org)?),
            client: if client.starts_with("group:") {
                (*client).into()
            } else {
                subsystem_id(client)?
            },
            max_disclosure_delay_days: *days,
        });
    }
    if let Some(trust) = &started.trust {
        c.push(Command::AddCa {
            certificate: der::pem::encode_string(
                "CERTIFICATE",
                der::pem::LineEnding::LF,
                &trust.ca_certificate("mn-gov-ca")?,
            )
            .map_err(|e| anyhow!("PEM: {e}"))?,
        });
    }
    c.push(Command::SetServices {
        trusted_list_url: Some(format!("{}/pki/trusted-list", started.base_url)),
        tsa_url: Some(format!("{}/tsa", started.base_url)),
        ledger: Some(tamga_exchange::globalconf::LedgerRef {
            url: started.base_url.clone(),
            logs: started
                .logs
                .iter()
                .filter(|l| matches!(l.name(), "exchange" | "access"))
                .map(|l| (l.name().to_owned(), l.verifier().vkey()))
                .collect(),
            witnesses: started.witnesses.iter().map(|w| w.1.clone()).collect(),
        }),
    });
    Ok(c)
}

/// Starts the exchange of the demo; returns its part of `demo.json`.
pub async fn start(started: &Started, data: &Path, country: &Value) -> anyhow::Result<Value> {
    let (Some(registry), Some(trust)) = (&started.registry, &started.trust) else {
        return Ok(Value::Null);
    };
    let bind = started
        .base_url
        .trim_start_matches("http://")
        .rsplit_once(':')
        .and_then(|(h, _)| h.trim_matches(['[', ']']).parse().ok())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let backends = crate::demo_backends::start(bind, &country["citizens"]).await?;
    let dir = data.join("exchange");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_file = dir.join("registry.pub.pem");
    crate::demo::write_atomically(
        &key_file,
        der::pem::encode_string(
            "PUBLIC KEY",
            der::pem::LineEnding::LF,
            registry.public_key_der(),
        )
        .map_err(|e| anyhow!("PEM: {e}"))?
        .as_bytes(),
    )?;
    if registry.state().0 == 0 {
        registry
            .change(
                &initial_commands(started)?,
                "demo",
                "the demo's small government",
            )
            .await?;
    }
    let ledger = Arc::new(LocalLedger(
        started
            .logs
            .iter()
            .map(|l| (l.name().to_owned(), Arc::clone(l)))
            .collect(),
    ));
    let tsa = Arc::new(LocalTsa(Arc::clone(trust)));
    let mut running: Vec<RunningGateway> = Vec::new();
    let mut set_gateways = Vec::new();
    for (org, _, _, _, _, sub) in MEMBERS {
        let holder = data.join("holders").join(org);
        let backends_map = SERVICES
            .iter()
            .filter(|s| s.0 == *org)
            .map(|s| {
                (
                    format!("{sub}/{}", s.1),
                    // `@office/ORG`: the node's own back office receives delivered applications.
                    match s.5.strip_prefix("@office/") {
                        Some(org) => format!("{}/office/api/inbound/{org}", started.base_url),
                        None => format!("http://{backends}{}", s.5),
                    },
                )
            })
            .collect();
        let cfg = GatewayConfig {
            member: member_id(org)?,
            listen: std::net::SocketAddr::new(bind, 0),
            client_listen: std::net::SocketAddr::new(bind, 0),
            registry_url: format!("{}/exchange/globalconf", started.base_url),
            registry_key_file: key_file.clone(),
            tls_server_p12: holder.join("tls-server.p12"),
            tls_client_p12: holder.join("tls-client.p12"),
            signing_p12: holder.join("seal.p12"),
            p12_password_file: None,
            backends: backends_map,
            ledger_url: None,
            ledger_token_file: None,
            tsa_url: None,
            log_bodies: true,
            timeout_secs: 10,
            signature_lifetime_secs: 60,
            clock_skew_secs: 30,
            accountability_grace_secs: 60,
            batch_interval_ms: 250,
            ocsp_cache_secs: 300,
            conf_poll_secs: 5,
        };
        let gw = exchange_role::start_gateway(
            &cfg,
            GatewayDeps {
                store: started.store.clone(),
                ledger: ledger.clone(),
                tsa: tsa.clone(),
                conf: exchange_role::conf_source(Some(registry), &cfg.registry_url),
                registry_key: registry.public_key_der().to_vec(),
            },
            crate::demo_country::DEMO_PIN,
        )
        .await
        .with_context(|| format!("demo gateway of {org}"))?;
        let read = |usage: &str| {
            std::fs::read_to_string(holder.join(format!("{usage}.crt.pem")))
                .with_context(|| format!("{org} {usage} certificate"))
        };
        set_gateways.push(Command::SetGateway {
            member: cfg.member.clone(),
            address: format!("https://{}", gw.gateway_addr),
            tls_server_certificate: read("tls-server")?,
            tls_client_certificate: read("tls-client")?,
            signing_certificate: read("seal")?,
        });
        running.push(gw);
    }
    // The gateways' addresses change with every start (ephemeral ports): one new version.
    registry
        .change(&set_gateways, "demo", "gateway addresses of this start")
        .await?;
    let source = exchange_role::conf_source(Some(registry), "");
    for g in &running {
        tamga_exchange::remote::refresh(
            &source,
            registry.public_key_der(),
            INSTANCE,
            g.gateway.conf(),
        )
        .await
        .map_err(|e| anyhow!("global configuration: {e}"))?;
    }
    started
        .gateways
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(running.iter().cloned());
    let consumer = |org: &str| -> anyhow::Result<String> {
        let id = member_id(org)?;
        running
            .iter()
            .find(|g| g.member == id)
            .map(|g| format!("http://{}", g.client_addr))
            .ok_or_else(|| anyhow!("no gateway for {org}"))
    };
    let citizen = country["citizens"][0]["registration_number"]
        .as_str()
        .unwrap_or("УБ00150110")
        .to_owned();
    let calls = sample_calls(&consumer, &citizen)?;
    let results = run_samples(&calls).await;
    Ok(json!({
        "instance": INSTANCE,
        "registry": {
            "globalconf": format!("{}/exchange/globalconf", started.base_url),
            "public_key": "exchange/registry.pub.pem",
            "admin": format!("{}/exchange/registry", started.base_url),
        },
        "gateways": running.iter().map(|g| json!({
            "member": g.member,
            "consumer": format!("http://{}", g.client_addr),
            "provider": format!("https://{}", g.gateway_addr),
        })).collect::<Vec<_>>(),
        "backends": format!("http://{backends}"),
        "headers_note": "Personal-data services need X-Tamga-Data-Subject, X-Tamga-Purpose and X-Tamga-Legal-Basis (percent-encoded UTF-8). Errors come in X-Road-Error.",
        "sample_calls": calls.iter().map(|c| json!({ "what": c.what, "curl": c.curl(), "status_at_start": results.get(&c.what) })).collect::<Vec<_>>(),
    }))
}

struct Call {
    what: String,
    url: String,
    headers: Vec<(String, String)>,
}

impl Call {
    fn curl(&self) -> String {
        let mut s = format!("curl -s -i '{}'", self.url);
        for (k, v) in &self.headers {
            s.push_str(&format!(" -H '{k}: {v}'"));
        }
        s
    }
}

fn sample_calls(
    consumer: &dyn Fn(&str) -> anyhow::Result<String>,
    citizen: &str,
) -> anyhow::Result<Vec<Call>> {
    let personal = |purpose: &str, basis: &str| {
        vec![
            ("X-Tamga-Data-Subject".to_owned(), pct(citizen)),
            ("X-Tamga-Purpose".to_owned(), pct(purpose)),
            ("X-Tamga-Legal-Basis".to_owned(), pct(basis)),
        ]
    };
    let svc = |org: &str, code: &str| -> anyhow::Result<String> {
        Ok(format!("{}/{code}", subsystem_id(org)?))
    };
    let calls = vec![
        Call {
            what: "Tax checks a citizen's ID card (personal data, logged and tracked)".into(),
            url: format!(
                "{}/r1/{}/{}",
                consumer("mta")?,
                svc("gasr", "WS100101_getCitizenIDCardInfo")?,
                pct(citizen)
            ),
            headers: [
                vec![("X-Road-Client".to_owned(), subsystem_id("mta")?)],
                personal(
                    "Татварын тайлан шалгах / tax return check",
                    "Татварын ерөнхий хууль 12.1 / General Tax Law art. 12.1",
                ),
            ]
            .concat(),
        },
        Call {
            what: "The bank reads a work history with the citizen's consent".into(),
            url: format!(
                "{}/r1/{}/{}",
                consumer("state-bank")?,
                svc("gasi", "WS100507_getInsureeWorkHistoryInfo")?,
                pct(citizen)
            ),
            headers: [
                vec![("X-Road-Client".to_owned(), subsystem_id("state-bank")?)],
                personal(
                    "Зээлийн хүсэлт / loan application",
                    "Иргэний зөвшөөрөл / the citizen's consent",
                ),
            ]
            .concat(),
        },
        Call {
            what:
                "The court reads an ID card with disclosure delayed (lawful secrecy until the date)"
                    .into(),
            url: format!(
                "{}/r1/{}/{}",
                consumer("court")?,
                svc("gasr", "WS100101_getCitizenIDCardInfo")?,
                pct(citizen)
            ),
            headers: [
                vec![("X-Road-Client".to_owned(), subsystem_id("court")?)],
                personal(
                    "Хэргийн оролцогчийг тогтоох / identify a party",
                    "Иргэний хэрэг шүүхэд хянан шийдвэрлэх тухай хууль / Civil Procedure Law",
                ),
                vec![("X-Tamga-Disclose-After".to_owned(), crate_date_in_days(90))],
            ]
            .concat(),
        },
        Call {
            what: "The citizen portal asks who used this citizen's data (findUsage)".into(),
            url: format!("{}/r1/{}", consumer("khur")?, svc("gasr", "findUsage")?),
            headers: [
                vec![("X-Road-Client".to_owned(), subsystem_id("khur")?)],
                personal(
                    "Иргэн өөрийн мэдээллийн ашиглалтыг харах / citizen views use of own data",
                    "Хувь хүний мэдээлэл хамгаалах тухай хууль / Personal Data Protection Law",
                ),
            ]
            .concat(),
        },
        Call {
            what: "A right that was never granted: the bank asks for a birth record (refused)"
                .into(),
            url: format!(
                "{}/r1/{}/{}",
                consumer("state-bank")?,
                svc("gasr", "WS100102_getCitizenBirthInfo")?,
                pct(citizen)
            ),
            headers: [
                vec![("X-Road-Client".to_owned(), subsystem_id("state-bank")?)],
                personal("test", "test"),
            ]
            .concat(),
        },
        Call {
            what: "Metaservice: what may the bank call at the civil registry?".into(),
            url: format!(
                "{}/r1/{}/allowedMethods",
                consumer("state-bank")?,
                subsystem_id("gasr")?
            ),
            headers: vec![("X-Road-Client".to_owned(), subsystem_id("state-bank")?)],
        },
    ];
    Ok(calls)
}

fn crate_date_in_days(days: i64) -> String {
    tamga_exchange::tracker::rfc3339(tamga_store::now_ms() + days * 86_400_000)[..10].to_owned()
}

async fn run_samples(calls: &[Call]) -> std::collections::HashMap<String, u16> {
    let http = reqwest::Client::new();
    let mut out = std::collections::HashMap::new();
    for c in calls {
        let mut r = http.get(&c.url);
        for (k, v) in &c.headers {
            r = r.header(k, v);
        }
        let status = match r.send().await {
            Ok(resp) => resp.status().as_u16(),
            Err(e) => {
                tracing::warn!(error = %e, call = %c.what, "demo call failed");
                0
            }
        };
        out.insert(c.what.clone(), status);
    }
    out
}
