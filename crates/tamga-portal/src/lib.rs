//! The citizen portal (E-Mongolia done right): the service catalogue, once-only applications,
//! the agency back office, the document wallet, public verification, the data tracker, the
//! inbox and e-mail notifications.
//!
//! - [`catalogue`]: the embedded, sourced catalogue and its search.
//! - [`account`]: sign-in through the identity role (OIDC), "who used my data", the wallet.
//! - [`applications`]: once-only applications, delivery over the exchange, decisions.
//! - [`notify`]: e-mail over SMTP.
//! - [`remote_sign`]: signing applications through the identity role's CSC API.
//! - [`pages`], [`http`]: server-rendered bilingual pages and the catalogue API.
//! - [`apply_http`], [`office_http`]: the application journey and the back office.

pub mod account;
pub mod applications;
pub mod apply_http;
pub mod catalogue;
pub mod http;
pub mod notify;
pub mod office_http;
pub mod pages;
pub mod remote_sign;
