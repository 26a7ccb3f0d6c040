//! The service catalogue: Mongolia's public services with their providers, life events,
//! documents, fees, deadlines and the Khur operations that can fetch what a citizen would
//! otherwise carry on paper. The data (`data/services.json`, `data/organisations.json`) was
//! compiled from public sources, each entry citing its sources and a confidence; it is
//! embedded in the binary and read once.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// A document a service asks for.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Document {
    /// Mongolian.
    pub mn: String,
    /// English.
    pub en: String,
}

/// How the service is delivered today.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Online {
    /// What the sources say.
    pub status: String,
}

/// One public service.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Service {
    /// Stable id.
    pub id: String,
    /// Name, Mongolian.
    pub name_mn: String,
    /// Name, English.
    pub name_en: String,
    /// Providing organisation.
    pub provider_id: String,
    /// Life event.
    pub life_event: String,
    /// Registration, reference, benefit, …
    #[serde(default)]
    pub kind: String,
    /// Delivery today.
    pub online: Online,
    /// Khur operations that deliver the underlying records.
    #[serde(default)]
    pub khur_operations: Vec<String>,
    /// Documents asked for.
    #[serde(default)]
    pub documents: Vec<Document>,
    /// Fee, as the sources give it.
    #[serde(default)]
    pub fee: Option<String>,
    /// Deadline or expected time.
    #[serde(default)]
    pub deadline: Option<String>,
    /// Source keys.
    #[serde(default)]
    pub sources: Vec<String>,
    /// `high`, `medium`, `low`.
    #[serde(default)]
    pub confidence: String,
    /// Remarks.
    #[serde(default)]
    pub notes: Option<String>,
}

/// An organisation.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Organisation {
    /// Stable id.
    pub id: String,
    /// Name, Mongolian.
    pub name_mn: String,
    /// Name, English.
    pub name_en: String,
    /// Abbreviation, Mongolian.
    #[serde(default)]
    pub abbr_mn: Option<String>,
    /// Abbreviation, English.
    #[serde(default)]
    pub abbr_en: Option<String>,
    /// Web site.
    #[serde(default)]
    pub website: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    sources: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ServicesFile {
    meta: Meta,
    services: Vec<Service>,
}

#[derive(Deserialize)]
struct OrganisationsFile {
    organisations: Vec<Organisation>,
}

/// Life events, in the order a life goes, with their names.
pub const LIFE_EVENTS: [(&str, &str, &str); 12] = [
    ("birth", "Хүүхэд төрөх", "Having a child"),
    (
        "identity",
        "Иргэний үнэмлэх, паспорт",
        "ID card and passport",
    ),
    ("education", "Боловсрол", "Education"),
    ("marriage", "Гэрлэлт", "Marriage"),
    ("moving", "Шилжин суурьших", "Moving home"),
    (
        "work",
        "Ажил, нийгмийн даатгал",
        "Work and social insurance",
    ),
    ("business", "Бизнес эрхлэх", "Running a business"),
    ("property", "Үл хөдлөх хөрөнгө, газар", "Property and land"),
    ("vehicle", "Тээврийн хэрэгсэл", "Vehicles and driving"),
    ("health", "Эрүүл мэнд", "Health"),
    ("retirement", "Тэтгэвэр", "Retirement"),
    ("death", "Ойр дотны хүн нас барах", "When someone dies"),
];

/// The catalogue.
pub struct Catalogue {
    /// Services, in file order.
    pub services: Vec<Service>,
    /// Organisations by id.
    pub organisations: BTreeMap<String, Organisation>,
    /// Sources by key (what and where).
    pub sources: BTreeMap<String, String>,
    /// Each service's searchable text (names, id, provider, documents; lower case), in
    /// `services` order: computed once, not per query.
    search_text: Vec<String>,
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn search_text(s: &Service, org: Option<&Organisation>) -> String {
    let mut text = fold(&format!("{} {} {}", s.name_mn, s.name_en, s.id));
    if let Some(o) = org {
        text.push(' ');
        text.push_str(&fold(&format!(
            "{} {} {} {}",
            o.name_mn,
            o.name_en,
            o.abbr_mn.as_deref().unwrap_or(""),
            o.abbr_en.as_deref().unwrap_or("")
        )));
    }
    for d in &s.documents {
        text.push(' ');
        text.push_str(&fold(&format!("{} {}", d.mn, d.en)));
    }
    text
}

impl Catalogue {
    /// The embedded catalogue.
    pub fn embedded() -> &'static Catalogue {
        static C: OnceLock<Catalogue> = OnceLock::new();
        C.get_or_init(|| {
            // The files are part of the source tree and checked by the tests: a broken file is a
            // build defect, not input.
            let services: ServicesFile =
                serde_json::from_str(include_str!("../data/services.json"))
                    .expect("data/services.json");
            let orgs: OrganisationsFile =
                serde_json::from_str(include_str!("../data/organisations.json"))
                    .expect("data/organisations.json");
            let organisations: BTreeMap<String, Organisation> = orgs
                .organisations
                .into_iter()
                .map(|o| (o.id.clone(), o))
                .collect();
            let search_text = services
                .services
                .iter()
                .map(|s| search_text(s, organisations.get(&s.provider_id)))
                .collect();
            Catalogue {
                services: services.services,
                organisations,
                sources: services.meta.sources,
                search_text,
            }
        })
    }

    /// A service by id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// Services matching every given filter: words of `query` (each must occur in the names,
    /// the provider's names or the documents, in either language), a life event, a provider.
    pub fn search(
        &self,
        query: &str,
        life_event: Option<&str>,
        provider: Option<&str>,
    ) -> Vec<&Service> {
        let words: Vec<String> = query.split_whitespace().map(fold).collect();
        self.services
            .iter()
            .zip(&self.search_text)
            .filter(|(s, _)| life_event.is_none_or(|e| s.life_event == e))
            .filter(|(s, _)| provider.is_none_or(|p| s.provider_id == p))
            .filter(|(_, text)| words.iter().all(|w| text.contains(w.as_str())))
            .map(|(s, _)| s)
            .collect()
    }

    /// Providers that offer at least one service, with their service counts.
    pub fn providers(&self) -> Vec<(&Organisation, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.services {
            *counts.entry(s.provider_id.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .filter_map(|(id, n)| self.organisations.get(id).map(|o| (o, n)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_large_enough_and_has_the_studys_examples() {
        let c = Catalogue::embedded();
        assert!(c.services.len() >= 40, "{}", c.services.len());
        assert!(c.providers().len() >= 10, "{}", c.providers().len());
        for id in [
            "old-age-pension",
            "voluntary-social-insurance",
            "birth-registration",
            "marriage-certificate-reference",
            "migration-between-districts",
            "sme-registration",
            "criminal-record-reference",
        ] {
            assert!(c.service(id).is_some(), "{id}");
        }
        // Every service's provider and life event is known.
        for s in &c.services {
            assert!(c.organisations.contains_key(&s.provider_id), "{}", s.id);
            assert!(
                LIFE_EVENTS.iter().any(|(e, _, _)| *e == s.life_event),
                "{}",
                s.id
            );
        }
    }

    #[test]
    fn search_in_both_languages_and_by_filters() {
        let c = Catalogue::embedded();
        let ids = |v: Vec<&Service>| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert!(ids(c.search("тэтгэвэр", None, None)).contains(&"old-age-pension".to_owned()));
        assert!(ids(c.search("Pension", None, None)).contains(&"old-age-pension".to_owned()));
        let births = c.search("", Some("birth"), None);
        assert!(births.iter().all(|s| s.life_event == "birth") && !births.is_empty());
        let gasi = c.search("", None, Some("gasi"));
        assert!(gasi.iter().all(|s| s.provider_id == "gasi") && gasi.len() >= 5);
        assert!(c.search("zzzz nothing", None, None).is_empty());
        // Every word must match.
        assert!(c.search("pension zzzz", None, None).is_empty());
    }
}
