//! Distinguished-name comparison (RFC 5280 §7.1, with the LDAP StringPrep essentials of
//! RFC 4518): attribute types must be equal; directory-string values compare after decoding
//! (PrintableString, UTF8String, IA5String, TeletexString as Latin-1, BMPString), trimming,
//! collapsing inner white space and case folding; other values compare as encoded. RDNs compare
//! in order; the attributes inside one multi-valued RDN compare as a set.

use der::{Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RelativeDistinguishedName};

#[derive(PartialEq, Eq)]
enum Value {
    Text(String),
    Raw(Vec<u8>),
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn value_of(atv: &AttributeTypeAndValue) -> Value {
    let v = &atv.value;
    let bytes = v.value();
    let text = match v.tag() {
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
        Tag::TeletexString => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    };
    match text {
        Some(t) => Value::Text(normalise(&t)),
        None => Value::Raw(v.to_der().unwrap_or_default()),
    }
}

fn rdns_match(a: &RelativeDistinguishedName, b: &RelativeDistinguishedName) -> bool {
    let (a, b) = (a.0.as_slice(), b.0.as_slice());
    // Identical encodings (by far the common case) need no string preparation.
    a.len() == b.len()
        && a.iter().all(|x| {
            b.iter()
                .any(|y| x == y || (x.oid == y.oid && value_of(x) == value_of(y)))
        })
}

/// Whether two names are the same name.
pub fn names_match(a: &Name, b: &Name) -> bool {
    a.0.len() == b.0.len() && a.0.iter().zip(&b.0).all(|(x, y)| rdns_match(x, y))
}

/// Whether `name` lies within the subtree `base` (its RDNs start with `base`'s).
pub fn name_within(name: &Name, base: &Name) -> bool {
    base.0.len() <= name.0.len() && base.0.iter().zip(&name.0).all(|(x, y)| rdns_match(x, y))
}

/// Every attribute value of type `oid` in `name`, decoded as text where it is a string.
pub fn attribute_texts(name: &Name, oid: const_oid::ObjectIdentifier) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .filter_map(|atv| {
            std::str::from_utf8(atv.value.value())
                .ok()
                .map(str::to_owned)
        })
        .collect()
}

/// Short names for the attribute types Tamga's and common foreign certificates use
/// (RFC 4514 §3 and the usual extensions); others print as the dotted OID.
fn short_name(oid: &const_oid::ObjectIdentifier) -> Option<&'static str> {
    use const_oid::ObjectIdentifier as O;
    const NAMES: [(O, &str); 16] = [
        (O::new_unwrap("2.5.4.3"), "CN"),
        (O::new_unwrap("2.5.4.4"), "SN"),
        (O::new_unwrap("2.5.4.5"), "SERIALNUMBER"),
        (O::new_unwrap("2.5.4.6"), "C"),
        (O::new_unwrap("2.5.4.7"), "L"),
        (O::new_unwrap("2.5.4.8"), "ST"),
        (O::new_unwrap("2.5.4.9"), "STREET"),
        (O::new_unwrap("2.5.4.10"), "O"),
        (O::new_unwrap("2.5.4.11"), "OU"),
        (O::new_unwrap("2.5.4.12"), "TITLE"),
        (O::new_unwrap("2.5.4.42"), "GIVENNAME"),
        (O::new_unwrap("2.5.4.43"), "INITIALS"),
        (O::new_unwrap("2.5.4.17"), "POSTALCODE"),
        (O::new_unwrap("1.2.840.113549.1.9.1"), "EMAIL"),
        (O::new_unwrap("0.9.2342.19200300.100.1.1"), "UID"),
        (O::new_unwrap("0.9.2342.19200300.100.1.25"), "DC"),
    ];
    NAMES.iter().find(|(o, _)| o == oid).map(|(_, n)| *n)
}

/// A name in RFC 4514 form (last RDN first), for reports and messages: string values decoded
/// and escaped (§2.4), other values as `#` and the hex of their DER.
pub fn display_name(name: &Name) -> String {
    let mut out = String::new();
    for (i, rdn) in name.0.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.0.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match short_name(&atv.oid) {
                Some(n) => out.push_str(n),
                None => out.push_str(&atv.oid.to_string()),
            }
            out.push('=');
            let text = match (short_name(&atv.oid), atv.value.tag()) {
                (
                    Some(_),
                    Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::VisibleString,
                ) => std::str::from_utf8(atv.value.value())
                    .ok()
                    .map(str::to_owned),
                (Some(_), Tag::BmpString) => {
                    let units: Vec<u16> = atv
                        .value
                        .value()
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16(&units).ok()
                }
                _ => None,
            };
            match text {
                Some(t) => {
                    let n = t.chars().count();
                    for (k, c) in t.chars().enumerate() {
                        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
                            || (k == 0 && (c == '#' || c == ' '))
                            || (k + 1 == n && c == ' ');
                        if special {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                }
                None => {
                    out.push('#');
                    for b in atv.value.to_der().unwrap_or_default() {
                        out.push_str(&format!("{b:02x}"));
                    }
                }
            }
        }
    }
    out
}
