//! HTTP endpoints of the trust services (described in the node's OpenAPI document):
//! public `GET /pki/cas`, `GET /pki/{ca}/ca.crt`, `GET /pki/{ca}/crl`, `POST /pki/{ca}/ocsp`,
//! `GET /pki/{ca}/ocsp/{base64 request}` (RFC 6960 Appendix A), `GET /pki/trusted-list`; and an
//! admin API under `/pki/admin/` that needs `Authorization: Bearer <token>` (compared in
//! constant time; with no token configured the admin API refuses everything).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::{Deserialize, Serialize};
use tamga_pki::csr::verify_csr;
use tamga_pki::identity::RegistrationNumber;
use tamga_pki::issue::{
    NameBuilder, Profile, citizen_name, official_name, organisation_name, registration_alt_name,
};
use utoipa::OpenApi;
use x509_cert::ext::pkix::name::GeneralName;

use crate::{IssueSpec, TrustError, TrustServices, parse_profile, parse_reason};

struct AppState {
    trust: Arc<TrustServices>,
    admin_token: Option<String>,
}

type St = State<Arc<AppState>>;

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorBody {
    /// What went wrong.
    error: String,
    /// The same, in Mongolian.
    error_mn: &'static str,
}

fn error(status: StatusCode, e: impl std::fmt::Display) -> Response {
    let mn = match status {
        StatusCode::NOT_FOUND => "Олдсонгүй",
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "Зөвшөөрөлгүй",
        StatusCode::CONFLICT => "Төлөв тохирохгүй байна",
        StatusCode::BAD_REQUEST => "Хүсэлт буруу байна",
        _ => "Дотоод алдаа",
    };
    (
        status,
        Json(ErrorBody {
            error: e.to_string(),
            error_mn: mn,
        }),
    )
        .into_response()
}

fn trust_error(e: TrustError) -> Response {
    let status = match &e {
        TrustError::UnknownCa(_) | TrustError::UnknownCertificate { .. } => StatusCode::NOT_FOUND,
        TrustError::WrongState { .. } | TrustError::CaExists(_) => StatusCode::CONFLICT,
        TrustError::BadRequest(_) | TrustError::Csr(_) | TrustError::InvalidName(_) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "trust services");
    }
    error(status, e)
}

fn der(content_type: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[derive(Serialize, utoipa::ToSchema)]
struct CaSummary {
    name: String,
    display_name: String,
    parent: Option<String>,
    certificate_url: String,
    crl_url: String,
    ocsp_url: String,
}

#[utoipa::path(get, path = "/pki/cas", tag = "trust", summary = "Certificate authorities / Гэрчилгээ олгогчид",
    responses((status = 200, description = "OK", body = Vec<CaSummary>)))]
async fn cas(State(s): St) -> Json<Vec<CaSummary>> {
    Json(
        s.trust
            .ca_summaries()
            .into_iter()
            .map(|(name, display_name, parent)| {
                let (crl_url, ocsp_url, certificate_url) = s.trust.urls(&name);
                CaSummary {
                    name,
                    display_name,
                    parent,
                    certificate_url,
                    crl_url,
                    ocsp_url,
                }
            })
            .collect(),
    )
}

#[utoipa::path(get, path = "/pki/{ca}/ca.crt", tag = "trust", summary = "CA certificate (DER) / CA гэрчилгээ",
    params(("ca" = String, Path, description = "CA name")),
    responses((status = 200, description = "OK", content_type = "application/pkix-cert", body = Vec<u8>), (status = 404, description = "Not found", body = ErrorBody)))]
async fn ca_cert(State(s): St, Path(ca): Path<String>) -> Response {
    match s.trust.ca_certificate(&ca) {
        Ok(d) => der("application/pkix-cert", d),
        Err(e) => trust_error(e),
    }
}

#[utoipa::path(get, path = "/pki/{ca}/crl", tag = "trust", summary = "Current CRL (DER) / Хүчингүй гэрчилгээний жагсаалт",
    params(("ca" = String, Path, description = "CA name")),
    responses((status = 200, description = "OK", content_type = "application/pkix-crl", body = Vec<u8>), (status = 404, description = "Not found", body = ErrorBody)))]
async fn crl(State(s): St, Path(ca): Path<String>) -> Response {
    match s.trust.crl(&ca).await {
        Ok(d) => der("application/pkix-crl", d),
        Err(e) => trust_error(e),
    }
}

#[utoipa::path(post, path = "/pki/{ca}/ocsp", tag = "trust", summary = "OCSP (RFC 6960) / Гэрчилгээний төлөв",
    params(("ca" = String, Path, description = "CA name")),
    request_body(content = Vec<u8>, content_type = "application/ocsp-request"),
    responses((status = 200, description = "OK", content_type = "application/ocsp-response", body = Vec<u8>)))]
async fn ocsp_post(State(s): St, Path(ca): Path<String>, body: Bytes) -> Response {
    der("application/ocsp-response", s.trust.ocsp(&ca, &body).await)
}

#[utoipa::path(get, path = "/pki/{ca}/ocsp/{request}", tag = "trust", summary = "OCSP over GET (RFC 6960 A.1)",
    params(("ca" = String, Path, description = "CA name"), ("request" = String, Path, description = "base64 DER OCSPRequest, URL-encoded")),
    responses((status = 200, description = "OK", content_type = "application/ocsp-response", body = Vec<u8>)))]
async fn ocsp_get(State(s): St, Path((ca, request)): Path<(String, String)>) -> Response {
    let request_der = base64::engine::general_purpose::STANDARD
        .decode(request.trim())
        .unwrap_or_default();
    der(
        "application/ocsp-response",
        s.trust.ocsp(&ca, &request_der).await,
    )
}

#[utoipa::path(post, path = "/tsa", tag = "trust", summary = "RFC 3161 time-stamp / Цагийн тамга",
    request_body(content = Vec<u8>, content_type = "application/timestamp-query"),
    responses((status = 200, description = "TimeStampResp (granted or rejection)", content_type = "application/timestamp-reply", body = Vec<u8>)))]
async fn tsa(State(s): St, body: Bytes) -> Response {
    der("application/timestamp-reply", s.trust.timestamp(&body))
}

#[utoipa::path(get, path = "/pki/trusted-list", tag = "trust", summary = "Signed trusted list (JWS) / Итгэмжлэгдсэн жагсаалт",
    responses((status = 200, description = "OK", content_type = "application/jose+json", body = Object)))]
async fn trusted_list(State(s): St) -> Response {
    match s.trust.trusted_list().await {
        Ok(jws) => ([(header::CONTENT_TYPE, "application/jose+json")], jws).into_response(),
        Err(e) => trust_error(e),
    }
}

/// Who the certificate is for.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum SubjectSpec {
    /// A citizen (natural person).
    Citizen {
        given_name: String,
        surname: String,
        registration_number: String,
    },
    /// An organisation (legal person).
    Organisation {
        name: String,
        register_number: String,
    },
    /// A civil servant acting for an organisation.
    Official {
        given_name: String,
        surname: String,
        registration_number: String,
        organisation: String,
        register_number: String,
        title: String,
    },
    /// A server or gateway.
    Server {
        common_name: String,
        dns_names: Vec<String>,
    },
}

/// An issuance request.
#[derive(Deserialize, utoipa::ToSchema)]
struct IssueBody {
    /// citizen-auth, citizen-sign, legal-person-seal, official, tls-server, tls-client, tsa.
    profile: String,
    /// Who it is for (the CA decides the subject; the CSR's subject is ignored).
    subject: SubjectSpec,
    /// PKCS#10 request (PEM) proving possession of the key.
    csr_pem: String,
    /// Validity in days (default 730).
    validity_days: Option<i64>,
    /// Why (recorded).
    why: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Issued {
    serial: String,
    certificate_pem: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct StatusBody {
    /// For revoke: the RFC 5280 reason name (default unspecified).
    reason: Option<String>,
    /// Why (recorded).
    why: String,
}

fn authorised(s: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(expected) = &s.admin_token else {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "the admin API is disabled: no admin token is configured",
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Hash both sides first so the comparison's length never depends on the secret.
    let h = |v: &str| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
    if aws_lc_rs::constant_time::verify_slices_are_equal(h(given).as_ref(), h(expected).as_ref())
        .is_ok()
        && !given.is_empty()
    {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )))
    }
}

fn subject_of(spec: &SubjectSpec) -> Result<(x509_cert::name::Name, Vec<GeneralName>), TrustError> {
    let reg = |r: &str| RegistrationNumber::parse(r).map_err(|e| TrustError::BadRequest(e.0));
    Ok(match spec {
        SubjectSpec::Citizen {
            given_name,
            surname,
            registration_number,
        } => {
            let id = reg(registration_number)?;
            (
                citizen_name(given_name, surname, &id)?,
                vec![registration_alt_name(&id)?],
            )
        }
        SubjectSpec::Organisation {
            name,
            register_number,
        } => (organisation_name(name, register_number)?, vec![]),
        SubjectSpec::Official {
            given_name,
            surname,
            registration_number,
            organisation,
            register_number,
            title,
        } => {
            let id = reg(registration_number)?;
            (
                official_name(
                    given_name,
                    surname,
                    &id,
                    organisation,
                    register_number,
                    title,
                )?,
                vec![registration_alt_name(&id)?],
            )
        }
        SubjectSpec::Server {
            common_name,
            dns_names,
        } => {
            let mut alt = Vec::new();
            for d in dns_names {
                if !tamga_pki::profile::valid_dns_name(d, false) {
                    return Err(TrustError::BadRequest(format!(
                        "{d:?} is not a valid DNS name"
                    )));
                }
                alt.push(GeneralName::DnsName(
                    der::asn1::Ia5String::new(d)
                        .map_err(|e| TrustError::BadRequest(e.to_string()))?,
                ));
            }
            (
                NameBuilder::new()
                    .country("MN")?
                    .common_name(common_name)?
                    .build(),
                alt,
            )
        }
    })
}

#[utoipa::path(post, path = "/pki/admin/{ca}/certificates", tag = "trust-admin", summary = "Issue a certificate / Гэрчилгээ олгох",
    params(("ca" = String, Path, description = "CA name")), request_body = IssueBody,
    security(("bearer" = [])),
    responses((status = 201, description = "Issued", body = Issued), (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Missing or wrong bearer token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
async fn admin_issue(
    State(s): St,
    Path(ca): Path<String>,
    headers: HeaderMap,
    Json(body): Json<IssueBody>,
) -> Response {
    if let Err(r) = authorised(&s, &headers) {
        return *r;
    }
    let result = async {
        let profile = parse_profile(&body.profile)?;
        let csr = verify_csr(body.csr_pem.as_bytes())?;
        let (subject, alt_names) = subject_of(&body.subject)?;
        if matches!(profile, Profile::TlsServer) && alt_names.is_empty() {
            return Err(TrustError::BadRequest(
                "a TLS server certificate needs dns_names".into(),
            ));
        }
        let why = body.why.clone().unwrap_or_else(|| "admin API".into());
        s.trust
            .issue(
                &ca,
                IssueSpec {
                    profile,
                    subject,
                    spki_der: csr.spki_der,
                    alt_names,
                    validity_days: body.validity_days.unwrap_or(730),
                },
                "admin",
                &why,
            )
            .await
    }
    .await;
    match result {
        Ok((der, serial)) => {
            let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)
                .unwrap_or_default();
            (
                StatusCode::CREATED,
                Json(Issued {
                    serial,
                    certificate_pem: pem,
                }),
            )
                .into_response()
        }
        Err(e) => trust_error(e),
    }
}

#[utoipa::path(post, path = "/pki/admin/{ca}/certificates/{serial}/{action}", tag = "trust-admin",
    summary = "Revoke, suspend or reinstate / Хүчингүй болгох, түдгэлзүүлэх, сэргээх",
    params(("ca" = String, Path, description = "CA name"), ("serial" = String, Path, description = "serial number, hex"),
           ("action" = String, Path, description = "revoke | suspend | reinstate")),
    request_body = StatusBody, security(("bearer" = [])),
    responses((status = 204, description = "Done"), (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Missing or wrong bearer token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Wrong state", body = ErrorBody)))]
async fn admin_status(
    State(s): St,
    Path((ca, serial, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<StatusBody>,
) -> Response {
    if let Err(r) = authorised(&s, &headers) {
        return *r;
    }
    let result = match action.as_str() {
        "revoke" => match parse_reason(body.reason.as_deref().unwrap_or("unspecified")) {
            Ok(reason) => {
                s.trust
                    .revoke(&ca, &serial, reason, "admin", &body.why)
                    .await
            }
            Err(e) => Err(e),
        },
        "suspend" => s.trust.suspend(&ca, &serial, "admin", &body.why).await,
        "reinstate" => s.trust.reinstate(&ca, &serial, "admin", &body.why).await,
        other => Err(TrustError::BadRequest(format!(
            "unknown action {other:?} (revoke, suspend, reinstate)"
        ))),
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => trust_error(e),
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(cas, ca_cert, crl, ocsp_post, ocsp_get, tsa, trusted_list, admin_issue, admin_status),
    components(schemas(CaSummary, ErrorBody, IssueBody, SubjectSpec, Issued, StatusBody)),
    modifiers(&BearerAuth),
    tags((name = "trust", description = "Trust services: CAs, OCSP, CRLs, trusted list / Итгэлцлийн үйлчилгээ"),
         (name = "trust-admin", description = "CA administration (bearer token) / CA удирдлага"))
)]
struct TrustApi;

/// The role's routes and OpenAPI paths; `admin_token` enables the admin API.
pub fn routes(
    trust: Arc<TrustServices>,
    admin_token: Option<String>,
) -> (Router, utoipa::openapi::OpenApi) {
    let state = Arc::new(AppState {
        trust,
        admin_token: admin_token.filter(|t| !t.is_empty()),
    });
    let router = Router::new()
        .route("/pki/cas", get(cas))
        .route("/pki/trusted-list", get(trusted_list))
        .route("/tsa", post(tsa))
        .route("/pki/{ca}/ca.crt", get(ca_cert))
        .route("/pki/{ca}/crl", get(crl))
        .route("/pki/{ca}/ocsp", post(ocsp_post))
        .route("/pki/{ca}/ocsp/{*request}", get(ocsp_get))
        .route("/pki/admin/{ca}/certificates", post(admin_issue))
        .route(
            "/pki/admin/{ca}/certificates/{serial}/{action}",
            post(admin_status),
        )
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state);
    (router, TrustApi::openapi())
}
