//! The demo's backend services: small real HTTP services with synthetic data, one per
//! organisation, standing where each agency's own information system would be behind its
//! gateway. Every person in them is a demo citizen (registration numbers with month field 15,
//! which no real person has).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// A demo person.
#[derive(Clone)]
struct Person {
    given: String,
    father: String,
    registration_number: String,
}

type People = Arc<HashMap<String, Person>>;

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({
            "error": "not_found",
            "message_mn": format!("{what} олдсонгүй"),
            "message_en": format!("{what} not found"),
        })),
    )
        .into_response()
}

fn person(people: &People, reg: &str) -> Option<Person> {
    people.get(reg).cloned()
}

async fn id_card(State(p): State<People>, Path(reg): Path<String>) -> Response {
    let Some(x) = person(&p, &reg) else {
        return not_found("Иргэн / citizen");
    };
    axum::Json(json!({
        "operation": "WS100101_getCitizenIDCardInfo",
        "registration_number": x.registration_number,
        "surname": x.father,
        "given_name": x.given,
        "civil_id": format!("{:012}", x.registration_number.chars().filter(char::is_ascii_digit).collect::<String>().parse::<u64>().unwrap_or(0) * 7 % 1_000_000_000_000),
        "id_card": { "issued": "2024-05-14", "expires": "2034-05-14", "authority": "Улсын бүртгэлийн ерөнхий газар" },
        "address": { "aimag_city": "Улаанбаатар", "district": "Сүхбаатар", "khoroo": "1-р хороо" },
        "synthetic": true,
    }))
    .into_response()
}

async fn birth(State(p): State<People>, Path(reg): Path<String>) -> Response {
    let Some(x) = person(&p, &reg) else {
        return not_found("Төрсний бүртгэл / birth record");
    };
    axum::Json(json!({
        "operation": "WS100102_getCitizenBirthInfo",
        "registration_number": x.registration_number,
        "child": format!("{} {}", x.father, x.given),
        "birth_place": "Улаанбаатар",
        "certificate_number": format!("ТГ-{}", &x.registration_number.chars().rev().take(6).collect::<String>()),
        "synthetic": true,
    }))
    .into_response()
}

async fn marriage(State(p): State<People>, Path(reg): Path<String>) -> Response {
    let Some(x) = person(&p, &reg) else {
        return not_found("Гэрлэлтийн бүртгэл / marriage record");
    };
    axum::Json(json!({
        "operation": "WS100104_getCitizenMarriageInfo",
        "registration_number": x.registration_number,
        "married": false,
        "synthetic": true,
    }))
    .into_response()
}

async fn work_history(State(p): State<People>, Path(reg): Path<String>) -> Response {
    let Some(x) = person(&p, &reg) else {
        return not_found("Даатгуулагч / insuree");
    };
    axum::Json(json!({
        "operation": "WS100507_getInsureeWorkHistoryInfo",
        "registration_number": x.registration_number,
        "periods": [
            { "employer": "Демо Ложистик ХХК / Demo Logistics LLC", "from": "2015-03", "to": "2019-12", "months_paid": 58 },
            { "employer": "Демо Барилга ХХК / Demo Construction LLC", "from": "2020-01", "to": "2026-10", "months_paid": 82 },
        ],
        "synthetic": true,
    }))
    .into_response()
}

async fn insured(State(p): State<People>, Path(reg): Path<String>) -> Response {
    let Some(x) = person(&p, &reg) else {
        return not_found("Даатгуулагч / insured person");
    };
    axum::Json(json!({
        "operation": "WS100512_checkIsInsuredInfo",
        "registration_number": x.registration_number,
        "insured": false,
        "voluntary_insurance": null,
        "synthetic": true,
    }))
    .into_response()
}

/// The demo's one company (synthetic register number 9100001; its legal representative is the
/// first demo citizen, as in the identity demo's mandates).
const COMPANY: &str = "9100001";

async fn legal_entity(Path(no): Path<String>) -> Response {
    if no != COMPANY {
        return not_found("Хуулийн этгээд / legal entity");
    }
    axum::Json(json!({
        "operation": "WS100307_getLegalEntityInfoWithRegnum",
        "register_number": no,
        "name": "Жишээ Трейд ХХК / Example Trade LLC",
        "form": "ХХК / LLC",
        "registered": "2019-04-02",
        "synthetic": true,
    }))
    .into_response()
}

async fn employer_arrears(Path(no): Path<String>) -> Response {
    if no != COMPANY {
        return not_found("Ажил олгогч / employer");
    }
    axum::Json(json!({
        "operation": "WS100586_OrgHasDebt",
        "register_number": no,
        "has_debt": false,
        "arrears_mnt": 0,
        "synthetic": true,
    }))
    .into_response()
}

async fn taxpayer(State(p): State<People>, Path(reg): Path<String>) -> Response {
    let Some(x) = person(&p, &reg) else {
        return not_found("Татвар төлөгч / taxpayer");
    };
    axum::Json(json!({
        "operation": "WS100622_getIndividualInfo",
        "registration_number": x.registration_number,
        "taxpayer": format!("{} {}", x.father, x.given),
        "status": "active",
        "arrears": 0,
        "synthetic": true,
    }))
    .into_response()
}

async fn case_status(Path(no): Path<String>) -> Response {
    axum::Json(json!({
        "case": no,
        "court": "Улсын дээд шүүх / Supreme Court (demo)",
        "status_mn": "Хянан хэлэлцэж байна",
        "status_en": "under review",
        "synthetic": true,
    }))
    .into_response()
}

async fn notarial_act(Path(no): Path<String>) -> Response {
    axum::Json(json!({
        "act": no,
        "chamber": "Монголын Нотариатчдын Танхим / Mongolian Chamber of Notaries (demo)",
        "valid": true,
        "synthetic": true,
    }))
    .into_response()
}

/// Starts the backends on `bind`:0; returns the address. `citizens` is the demo manifest's
/// citizen list.
pub async fn start(bind: std::net::IpAddr, citizens: &Value) -> anyhow::Result<SocketAddr> {
    let mut people = HashMap::new();
    for c in citizens.as_array().into_iter().flatten() {
        let (Some(name), Some(reg)) = (c["name"].as_str(), c["registration_number"].as_str())
        else {
            continue;
        };
        let mut parts = name.splitn(2, ' ');
        let given = parts.next().unwrap_or_default().to_owned();
        let father = parts.next().unwrap_or_default().to_owned();
        people.insert(
            reg.to_owned(),
            Person {
                given,
                father,
                registration_number: reg.to_owned(),
            },
        );
    }
    // The first citizen's children (the identity demo's mandates): one under 16, one over.
    if let Some(family) = citizens[0]["name"]
        .as_str()
        .and_then(|n| n.split(' ').next())
    {
        for (given, reg) in [("Тэмүүлэн", "УБ15150111"), ("Номин", "УБ09150122")] {
            people.insert(
                reg.to_owned(),
                Person {
                    given: given.to_owned(),
                    father: family.to_owned(),
                    registration_number: reg.to_owned(),
                },
            );
        }
    }
    let people: People = Arc::new(people);
    let app = Router::new()
        .route("/gasr/citizens/{reg}", get(id_card))
        .route("/gasr/births/{reg}", get(birth))
        .route("/gasr/marriages/{reg}", get(marriage))
        .route("/gasi/insurees/{reg}", get(work_history))
        .route("/gasi/insured/{reg}", get(insured))
        .route("/gasr/legal-entities/{no}", get(legal_entity))
        .route("/gasi/employers/{no}", get(employer_arrears))
        .route("/mta/individuals/{reg}", get(taxpayer))
        .route("/court/cases/{no}", get(case_status))
        .route("/notaries/acts/{no}", get(notarial_act))
        .with_state(people);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(bind, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo backends stopped");
        }
    });
    Ok(addr)
}
