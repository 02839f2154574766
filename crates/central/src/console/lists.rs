//! The lists central publishes, their formats and limits, validation before anything goes out,
//! and the difference between a proposed list and the published version.
//!
//! | list | item | limits |
//! |---|---|---|
//! | `denylist` | a keyed document hash: 64 lowercase hex digits | [`MAX_DENYLIST_ITEMS`] |
//! | `enrolments` | `{"document_hash": HEX64, "fingers": [{"finger": "left_index" or "right_index", "template": HEX}]}` | [`MAX_ENROLMENTS`], one entry per document, each finger once, templates up to [`MAX_TEMPLATE_BYTES`] |
//! | `trust` | `{"kind": "csca" or "crl", "der": BASE64}`: a CSCA certificate or a CRL, DER in standard base64 | [`MAX_TRUST_ITEMS`], each DER up to [`MAX_TRUST_DER_BYTES`]; a certificate must parse and be within its validity period, a CRL must parse and not be past its next update |
//!
//! Every list: no duplicate entries, no unknown fields, at most [`MAX_LIST_JSON_BYTES`] of
//! JSON. The same checks run for the console, `central lists publish` and
//! `PUT /v1/lists/{name}`.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use outbox::wire::PublishList;
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_cert::der::Decode;

use super::store::{AUDIT_LIST_PUBLISHED, AuditEntry};
use crate::storage::{Storage, StorageError};

/// Most entries of `denylist`.
pub const MAX_DENYLIST_ITEMS: usize = 1_000_000;
/// Most entries of `enrolments`.
pub const MAX_ENROLMENTS: usize = 100_000;
/// Largest fingerprint template in an enrolment, in bytes (hex in the list: twice that).
pub const MAX_TEMPLATE_BYTES: usize = 8 * 1024;
/// Most entries of `trust`.
pub const MAX_TRUST_ITEMS: usize = 2_000;
/// Largest certificate or CRL in `trust`, DER bytes.
pub const MAX_TRUST_DER_BYTES: usize = 2 * 1024 * 1024;
/// Largest list, as JSON.
pub const MAX_LIST_JSON_BYTES: usize = 24 * 1024 * 1024;
/// Problems reported for one refused list (the rest are counted).
const MAX_PROBLEMS_SHOWN: usize = 20;

/// A list central publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Keyed hashes of documents to refuse.
    Denylist,
    /// Fingerprint enrolments by document hash.
    Enrolments,
    /// CSCA certificates and CRLs.
    Trust,
}

impl ListKind {
    /// Every list, in the console's order.
    pub const ALL: [ListKind; 3] = [ListKind::Denylist, ListKind::Enrolments, ListKind::Trust];

    /// The list's name (in paths and at the gates).
    pub const fn name(self) -> &'static str {
        match self {
            ListKind::Denylist => "denylist",
            ListKind::Enrolments => "enrolments",
            ListKind::Trust => "trust",
        }
    }

    /// The list called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Most entries.
    pub const fn max_items(self) -> usize {
        match self {
            ListKind::Denylist => MAX_DENYLIST_ITEMS,
            ListKind::Enrolments => MAX_ENROLMENTS,
            ListKind::Trust => MAX_TRUST_ITEMS,
        }
    }
}

/// Why a list was not published.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// Not JSON, or not an array / an object with `items`.
    #[error("not a list: {0}")]
    Format(String),
    /// A name other than `denylist`, `enrolments`, `trust`.
    #[error("no list {0:?}: central publishes denylist, enrolments and trust")]
    UnknownList(String),
    /// Items failed validation.
    #[error("{} problem(s): {}", .count, .shown.join("; "))]
    Invalid {
        /// How many problems.
        count: usize,
        /// The first few.
        shown: Vec<String>,
    },
    /// The store failed, or the list moved on since the preview.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_hex(text: &str) -> bool {
    text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One entry's identity (for duplicates and the diff) and how it is shown (no templates).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    label: String,
}

fn unix_s(time: x509_cert::time::Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn date(seconds: i64) -> String {
    super::cli::utc(seconds.saturating_mul(1000))[..10].to_owned()
}

fn only_fields(object: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(format!("unknown field {key:?}")),
        None => Ok(()),
    }
}

fn check_denylist(item: &Value) -> Result<Entry, String> {
    match item.as_str() {
        Some(hash) if is_hex64(hash) => Ok(Entry {
            key: hash.to_owned(),
            label: hash.to_owned(),
        }),
        _ => Err("not a document hash (64 lowercase hex digits)".to_owned()),
    }
}

fn check_enrolment(item: &Value) -> Result<Entry, String> {
    let object = item
        .as_object()
        .ok_or("not an object {document_hash, fingers}")?;
    only_fields(object, &["document_hash", "fingers"])?;
    let hash = object
        .get("document_hash")
        .and_then(Value::as_str)
        .filter(|hash| is_hex64(hash))
        .ok_or("document_hash is not 64 lowercase hex digits")?;
    let fingers = object
        .get("fingers")
        .and_then(Value::as_array)
        .filter(|fingers| !fingers.is_empty())
        .ok_or("fingers is not a non-empty array")?;
    let mut seen = BTreeSet::new();
    for finger in fingers {
        let finger = finger.as_object().ok_or("a finger is not an object")?;
        only_fields(finger, &["finger", "template"])?;
        let which = finger
            .get("finger")
            .and_then(Value::as_str)
            .filter(|which| matches!(*which, "left_index" | "right_index"))
            .ok_or("finger is not left_index or right_index")?;
        if !seen.insert(which) {
            return Err(format!("{which} enrolled twice"));
        }
        let template = finger
            .get("template")
            .and_then(Value::as_str)
            .ok_or("template is not a string")?;
        if template.is_empty() || !is_hex(template) || template.len() / 2 > MAX_TEMPLATE_BYTES {
            return Err(format!(
                "the {which} template is not 1 to {MAX_TEMPLATE_BYTES} bytes of hex"
            ));
        }
    }
    Ok(Entry {
        key: hash.to_owned(),
        label: format!(
            "{hash} ({})",
            seen.into_iter().collect::<Vec<_>>().join(", ")
        ),
    })
}

fn check_trust(item: &Value, now_ms: i64) -> Result<Entry, String> {
    let object = item.as_object().ok_or("not an object {kind, der}")?;
    only_fields(object, &["kind", "der"])?;
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("kind is not a string")?;
    let der = object
        .get("der")
        .and_then(Value::as_str)
        .ok_or("der is not a string")?;
    if der.len() > MAX_TRUST_DER_BYTES.div_ceil(3) * 4 {
        return Err(format!("larger than {MAX_TRUST_DER_BYTES} bytes"));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(der)
        .map_err(|e| format!("der is not base64: {e}"))?;
    let fingerprint = hex::encode(Sha256::digest(&der));
    let now_s = now_ms.div_euclid(1000);
    let label = match kind {
        "csca" => {
            let certificate = x509_cert::Certificate::from_der(&der)
                .map_err(|e| format!("not an X.509 certificate: {e}"))?;
            let validity = &certificate.tbs_certificate.validity;
            let (from, until) = (unix_s(validity.not_before), unix_s(validity.not_after));
            if now_s < from {
                return Err(format!("certificate not valid before {}", date(from)));
            }
            if now_s > until {
                return Err(format!("certificate expired {}", date(until)));
            }
            format!(
                "CSCA {} valid until {}",
                certificate.tbs_certificate.subject,
                date(until)
            )
        }
        "crl" => {
            let crl = x509_cert::crl::CertificateList::from_der(&der)
                .map_err(|e| format!("not an X.509 CRL: {e}"))?;
            let list = &crl.tbs_cert_list;
            if now_s < unix_s(list.this_update) {
                return Err(format!(
                    "CRL issued in the future ({})",
                    date(unix_s(list.this_update))
                ));
            }
            if let Some(next) = list.next_update.map(unix_s)
                && now_s > next
            {
                return Err(format!("CRL stale: next update was due {}", date(next)));
            }
            format!(
                "CRL of {}, {} revoked, issued {}",
                list.issuer,
                list.revoked_certificates.as_ref().map_or(0, Vec::len),
                date(unix_s(list.this_update))
            )
        }
        other => return Err(format!("kind {other:?} is not csca or crl")),
    };
    Ok(Entry {
        label: format!("{label}, SHA-256 {}", &fingerprint[..16]),
        key: fingerprint,
    })
}

fn entry(kind: ListKind, item: &Value, now_ms: i64) -> Result<Entry, String> {
    match kind {
        ListKind::Denylist => check_denylist(item),
        ListKind::Enrolments => check_enrolment(item),
        ListKind::Trust => check_trust(item, now_ms),
    }
}

/// Checks `items` as list `kind` at time `now_ms`: every item's schema, duplicates, sizes.
pub fn validate(kind: ListKind, items: &[Value], now_ms: i64) -> Result<(), ListError> {
    entries(kind, items, now_ms).map(|_| ())
}

fn entries(kind: ListKind, items: &[Value], now_ms: i64) -> Result<Vec<Entry>, ListError> {
    let mut problems = Vec::new();
    if items.len() > kind.max_items() {
        problems.push(format!(
            "{} entries, more than the {} a {} may hold",
            items.len(),
            kind.max_items(),
            kind.name()
        ));
    }
    let size = serde_json::to_vec(items).map_or(usize::MAX, |json| json.len());
    if size > MAX_LIST_JSON_BYTES {
        problems.push(format!(
            "{size} bytes of JSON, more than {MAX_LIST_JSON_BYTES}"
        ));
    }
    let mut entries = Vec::with_capacity(items.len());
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    if problems.is_empty() {
        for (index, item) in items.iter().enumerate() {
            match entry(kind, item, now_ms) {
                Ok(entry) => {
                    if let Some(first) = first_seen.insert(entry.key.clone(), index) {
                        problems.push(format!(
                            "entry {}: duplicate of entry {}",
                            index + 1,
                            first + 1
                        ));
                    }
                    entries.push(entry);
                }
                Err(problem) => problems.push(format!("entry {}: {problem}", index + 1)),
            }
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(ListError::Invalid {
            count: problems.len(),
            shown: problems.into_iter().take(MAX_PROBLEMS_SHOWN).collect(),
        })
    }
}

/// Reads a list as an operator hands it in: a JSON array of items, or an object with an
/// `items` array (as `PUT /v1/lists/{name}` takes; its `version` is ignored here).
pub fn parse_items(text: &[u8]) -> Result<Vec<Value>, ListError> {
    if text.len() > MAX_LIST_JSON_BYTES {
        return Err(ListError::Format(format!(
            "more than {MAX_LIST_JSON_BYTES} bytes"
        )));
    }
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(Value::Object(mut object)) => match object.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(ListError::Format("the object has no items array".into())),
        },
        Ok(_) => Err(ListError::Format(
            "expected a JSON array or an object with items".into(),
        )),
        Err(e) => Err(ListError::Format(format!("JSON: {e}"))),
    }
}

/// What publishing a list would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListDiff {
    /// The list.
    pub name: String,
    /// The published version (`None`: never published).
    pub current_version: Option<u64>,
    /// The version this publication gets.
    pub next_version: u64,
    /// Entries only in the new list.
    pub added: Vec<String>,
    /// Entries only in the published list.
    pub removed: Vec<String>,
    /// Entries in both whose content differs (enrolments: other fingers or templates).
    pub changed: Vec<String>,
    /// Entries in both, the same.
    pub unchanged: usize,
    /// Entries of the new list.
    pub total: usize,
}

impl ListDiff {
    /// One line: versions and counts.
    pub fn summary(&self) -> String {
        format!(
            "{} version {} -> {}: {} added, {} removed, {} changed, {} unchanged, {} in all",
            self.name,
            self.current_version
                .map_or_else(|| "(none)".to_owned(), |v| v.to_string()),
            self.next_version,
            self.added.len(),
            self.removed.len(),
            self.changed.len(),
            self.unchanged,
            self.total
        )
    }

    /// Up to `most` lines of each kind of change, `+`, `-` and `~` first.
    pub fn lines(&self, most: usize) -> Vec<String> {
        let mut lines = Vec::new();
        for (mark, entries) in [
            ("+", &self.added),
            ("-", &self.removed),
            ("~", &self.changed),
        ] {
            lines.extend(entries.iter().take(most).map(|e| format!("{mark} {e}")));
            if entries.len() > most {
                lines.push(format!("{mark} ... and {} more", entries.len() - most));
            }
        }
        lines
    }
}

/// Compares a validated new list with the published items (which may predate validation:
/// an unreadable published item is keyed by its JSON).
fn diff(
    kind: ListKind,
    name: &str,
    new: &[Entry],
    new_items: &[Value],
    current: Option<(u64, &[Value])>,
    now_ms: i64,
) -> ListDiff {
    let old: BTreeMap<String, (String, &Value)> = current
        .map(|(_, items)| items)
        .unwrap_or_default()
        .iter()
        .map(|item| match entry(kind, item, now_ms) {
            Ok(entry) => (entry.key, (entry.label, item)),
            Err(_) => {
                let content = item.to_string();
                (content.clone(), (format!("unreadable {content:.60}"), item))
            }
        })
        .collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    let mut kept = BTreeSet::new();
    for (entry, item) in new.iter().zip(new_items) {
        match old.get(&entry.key) {
            None => added.push(entry.label.clone()),
            Some((_, content)) => {
                kept.insert(entry.key.clone());
                if *content == item {
                    unchanged += 1;
                } else {
                    changed.push(entry.label.clone());
                }
            }
        }
    }
    let removed = old
        .iter()
        .filter(|(key, _)| !kept.contains(*key))
        .map(|(_, (label, _))| label.clone())
        .collect();
    let current_version = current.map(|(version, _)| version);
    ListDiff {
        name: name.to_owned(),
        current_version,
        next_version: current_version.map_or(1, |v| v + 1),
        added,
        removed,
        changed,
        unchanged,
        total: new.len(),
    }
}

/// A validated list ready to publish, with its difference to the published version.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The items.
    pub items: Vec<Value>,
    /// The difference to the published version (whose version it was computed against).
    pub diff: ListDiff,
}

/// Parses and validates `text` as list `name` and compares it with the published version.
pub fn prepare(
    store: &dyn Storage,
    name: &str,
    text: &[u8],
    now_ms: i64,
) -> Result<Prepared, ListError> {
    let kind = ListKind::named(name).ok_or_else(|| ListError::UnknownList(name.to_owned()))?;
    let items = parse_items(text)?;
    let checked = entries(kind, &items, now_ms)?;
    let current = store.list(name)?;
    let diff = diff(
        kind,
        name,
        &checked,
        &items,
        current
            .as_ref()
            .map(|list| (list.version, list.items.as_slice())),
        now_ms,
    );
    Ok(Prepared { items, diff })
}

/// Publishes a prepared list as `diff.next_version`, recorded as published by `actor` from
/// `address`. Fails with [`StorageError::ListVersionConflict`] if another version was
/// published since it was prepared. Returns the version.
pub fn publish(
    store: &dyn Storage,
    name: &str,
    prepared: Prepared,
    actor: &str,
    address: &str,
    now_ms: i64,
) -> Result<u64, ListError> {
    let version = prepared.diff.next_version;
    let audit = AuditEntry {
        at_ms: now_ms,
        actor: actor.to_owned(),
        address: address.to_owned(),
        action: AUDIT_LIST_PUBLISHED.to_owned(),
        target: name.to_owned(),
        detail: prepared.diff.summary(),
    };
    // A list published by someone else since the preview is refused by the store itself
    // (`next_version` is then not above the published one: ListVersionConflict), rather
    // than overwritten with a diff the operator did not see.
    store.publish_list_version(
        name,
        &PublishList {
            version,
            items: prepared.items,
        },
        &audit,
    )?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_701_600_000;

    fn hash(n: u8) -> String {
        hex::encode([n; 32])
    }

    #[test]
    fn denylists_need_unique_lowercase_hashes() {
        let good = vec![json!(hash(1)), json!(hash(2))];
        assert!(validate(ListKind::Denylist, &good, NOW).is_ok());
        for bad in [
            vec![json!("d1")],
            vec![json!(hash(0xab).to_uppercase())],
            vec![json!(1)],
            vec![json!(hash(1)), json!(hash(1))],
        ] {
            assert!(
                validate(ListKind::Denylist, &bad, NOW).is_err(),
                "{bad:?} accepted"
            );
        }
        let error = validate(ListKind::Denylist, &[json!(hash(3)), json!(hash(3))], NOW)
            .unwrap_err()
            .to_string();
        assert!(error.contains("entry 2: duplicate of entry 1"), "{error}");
    }

    #[test]
    fn enrolments_are_checked_field_by_field() {
        let entry = |fingers: Value| json!({"document_hash": hash(1), "fingers": fingers});
        assert!(
            validate(
                ListKind::Enrolments,
                &[entry(
                    json!([{"finger": "right_index", "template": "0a0b"}])
                )],
                NOW
            )
            .is_ok()
        );
        for bad in [
            entry(json!([])),
            entry(json!([{"finger": "thumb", "template": "0a"}])),
            entry(json!([{"finger": "left_index", "template": "xyz"}])),
            entry(json!([{"finger": "left_index", "template": "0a"},
                         {"finger": "left_index", "template": "0b"}])),
            json!({"document_hash": hash(1), "fingers": [], "name": "x"}),
        ] {
            assert!(
                validate(ListKind::Enrolments, std::slice::from_ref(&bad), NOW).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn diffs_count_added_removed_and_changed() {
        let old = [
            json!({"document_hash": hash(1), "fingers": [{"finger": "left_index", "template": "beef01"}]}),
            json!({"document_hash": hash(2), "fingers": [{"finger": "left_index", "template": "beef02"}]}),
        ];
        let new = [
            json!({"document_hash": hash(2), "fingers": [{"finger": "left_index", "template": "beef03"}]}),
            json!({"document_hash": hash(3), "fingers": [{"finger": "right_index", "template": "beef04"}]}),
        ];
        let checked = entries(ListKind::Enrolments, &new, NOW).unwrap();
        let diff = diff(
            ListKind::Enrolments,
            "enrolments",
            &checked,
            &new,
            Some((4, &old)),
            NOW,
        );
        assert_eq!(
            (diff.added.len(), diff.removed.len(), diff.changed.len()),
            (1, 1, 1)
        );
        assert_eq!((diff.current_version, diff.next_version), (Some(4), 5));
        assert!(diff.added[0].starts_with(&hash(3)));
        assert!(
            diff.lines(10).iter().all(|line| !line.contains("beef")),
            "templates never shown"
        );
        assert_eq!(
            diff.summary(),
            "enrolments version 4 -> 5: 1 added, 1 removed, 1 changed, 0 unchanged, 2 in all"
        );
    }

    /// A self-signed CSCA valid over the years given, and a CRL it signed for the dates given.
    fn csca_and_crl(valid: (i32, i32), crl: (i32, i32)) -> (Value, Value) {
        use base64::engine::general_purpose::STANDARD;
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "CSCA Utopia");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(valid.0, 1, 1);
        params.not_after = rcgen::date_time_ymd(valid.1, 1, 1);
        let csca = params.self_signed(&key).unwrap();
        let revocations = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(crl.0, 1, 1),
            next_update: rcgen::date_time_ymd(crl.1, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&csca, &key)
        .unwrap();
        (
            json!({"kind": "csca", "der": STANDARD.encode(csca.der())}),
            json!({"kind": "crl", "der": STANDARD.encode(revocations.der())}),
        )
    }

    #[test]
    fn trust_bundles_need_parsable_current_certificates_and_crls() {
        // NOW is 2026-11-26.
        let (csca, crl) = csca_and_crl((2024, 2034), (2026, 2027));
        assert!(validate(ListKind::Trust, &[csca.clone(), crl.clone()], NOW).is_ok());
        let checked = entries(ListKind::Trust, &[csca.clone(), crl.clone()], NOW).unwrap();
        assert!(
            checked[0]
                .label
                .starts_with("CSCA CN=CSCA Utopia valid until 2034-01-01")
        );
        assert!(
            checked[1]
                .label
                .starts_with("CRL of CN=CSCA Utopia, 0 revoked")
        );
        let refused = |items: &[Value]| {
            validate(ListKind::Trust, items, NOW)
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&[csca.clone(), csca.clone()]).contains("duplicate"));
        let (expired, stale) = csca_and_crl((2014, 2024), (2025, 2026));
        assert!(refused(&[expired]).contains("certificate expired 2024-01-01"));
        assert!(refused(&[stale]).contains("CRL stale"));
        let (early, _) = csca_and_crl((2030, 2040), (2026, 2027));
        assert!(refused(&[early]).contains("not valid before 2030-01-01"));
        assert!(
            refused(&[json!({"kind": "csca", "der": "AAEC"})]).contains("not an X.509 certificate")
        );
        assert!(refused(&[json!({"kind": "csca", "der": "%%%"})]).contains("not base64"));
        assert!(refused(&[json!({"kind": "key", "der": "AAEC"})]).contains("not csca or crl"));
        assert!(
            refused(&[json!({"kind": "crl", "der": csca["der"], "x": 1})])
                .contains("unknown field")
        );
        // A CRL handed in as a certificate does not parse as one.
        assert!(
            refused(&[json!({"kind": "csca", "der": crl["der"]})])
                .contains("not an X.509 certificate")
        );
    }

    #[test]
    fn lists_are_read_as_arrays_or_objects_with_items() {
        assert_eq!(parse_items(b"[]").unwrap(), Vec::<Value>::new());
        assert_eq!(
            parse_items(br#"{"version": 3, "items": ["a"]}"#).unwrap(),
            vec![json!("a")]
        );
        assert!(parse_items(b"{}").is_err());
        assert!(parse_items(b"nope").is_err());
    }
}
