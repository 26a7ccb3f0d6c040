//! The citizen portal (E-Mongolia done right). This first part is the service catalogue:
//! services by life event and by organisation, searchable in Mongolian and English, each with
//! its provider, documents, fee, time and the Khur operations that let the state fetch the
//! evidence itself (once-only). Applications, the document wallet and the data-tracker pages
//! come next (issue 8).
//!
//! - [`catalogue`]: the embedded, sourced catalogue and its search.
//! - [`account`]: sign-in through the identity role (OIDC) and "who used my data".
//! - [`pages`], [`http`]: server-rendered bilingual pages and the catalogue API.

pub mod account;
pub mod catalogue;
pub mod http;
pub mod pages;
