//! Which records of a zone an external-dns instance owns, read from its TXT registry.
//!
//! external-dns (`--registry=txt`) marks every record it writes with a TXT record whose value
//! is `"heritage=external-dns,external-dns/owner=<owner id>,external-dns/resource=…"`. Since
//! v0.13 it writes that TXT twice: at the record's own name and at the name with the record
//! type as a prefix of its first label (`cname-app.example.com` for the CNAME
//! `app.example.com`). A zone girder deletes may hold what the program's own external-dns
//! wrote (its policy `upsert-only` never deletes, and it is deleted before the zone anyway);
//! those records are the program's to remove, and nothing else is.

use aws_sdk_route53::types::{ResourceRecordSet, RrType};

/// The record types external-dns manages, as the prefixes of its type-prefixed TXT names.
const TYPE_PREFIXES: [&str; 5] = ["cname-", "a-", "aaaa-", "ns-", "mx-"];

/// The owner id a TXT value names, if it is an external-dns ownership record.
///
/// ```
/// use girder_aws::route53::external_dns::owner_of;
/// let value = "\"heritage=external-dns,external-dns/owner=yolo,external-dns/resource=service/default/frontend\"";
/// assert_eq!(owner_of(value).as_deref(), Some("yolo"));
/// assert_eq!(owner_of("\"v=spf1 -all\""), None);
/// ```
pub fn owner_of(txt_value: &str) -> Option<String> {
    let value = txt_value.trim().trim_matches('"');
    let mut heritage = false;
    let mut owner = None;
    for pair in value.split(',') {
        match pair.trim().split_once('=') {
            Some(("heritage", "external-dns")) => heritage = true,
            Some(("external-dns/owner", id)) => owner = Some(id.to_owned()),
            _ => {}
        }
    }
    owner.filter(|_| heritage)
}

/// The names whose records a TXT ownership record at `txt_name` stands for: its own name,
/// and the name without a type prefix.
fn owned_names(txt_name: &str) -> Vec<String> {
    let name = txt_name.to_ascii_lowercase();
    let mut names = vec![name.clone()];
    if let Some(stripped) = TYPE_PREFIXES.iter().find_map(|p| name.strip_prefix(p)) {
        names.push(stripped.to_owned());
    }
    names
}

/// Splits `records` into those owned by one of `owners` (the ownership TXT records and the
/// records they mark) and the rest.
pub(crate) fn split_owned(
    records: Vec<ResourceRecordSet>,
    owners: &[String],
) -> (Vec<ResourceRecordSet>, Vec<ResourceRecordSet>) {
    if owners.is_empty() {
        return (Vec::new(), records);
    }
    let is_ownership = |record: &ResourceRecordSet| {
        record.r#type() == &RrType::Txt
            && record
                .resource_records()
                .iter()
                .filter_map(|r| owner_of(r.value()))
                .any(|owner| owners.contains(&owner))
    };
    let owned_names: Vec<String> = records
        .iter()
        .filter(|r| is_ownership(r))
        .flat_map(|r| owned_names(r.name()))
        .collect();
    records.into_iter().partition(|record| {
        is_ownership(record)
            || (record.r#type() != &RrType::Txt
                && owned_names.contains(&record.name().to_ascii_lowercase()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::types::ResourceRecord;

    fn record(name: &str, kind: RrType, value: &str) -> ResourceRecordSet {
        ResourceRecordSet::builder()
            .name(name)
            .r#type(kind)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap())
            .build()
            .unwrap()
    }

    fn names(records: &[ResourceRecordSet]) -> Vec<String> {
        records
            .iter()
            .map(|r| format!("{} {}", r.name(), r.r#type().as_str()))
            .collect()
    }

    #[test]
    fn only_what_the_named_owner_marked_is_owned() {
        let mark = |owner: &str| {
            format!(
                "\"heritage=external-dns,external-dns/owner={owner},external-dns/resource=service/default/frontend\""
            )
        };
        let records = vec![
            record("app.example.com.", RrType::Cname, "a1.elb.amazonaws.com"),
            record("app.example.com.", RrType::Txt, &mark("yolo")),
            record("cname-app.example.com.", RrType::Txt, &mark("yolo")),
            record("shop.example.com.", RrType::Cname, "a2.elb.amazonaws.com"),
            record("cname-shop.example.com.", RrType::Txt, &mark("other")),
            record("mail.example.com.", RrType::Mx, "10 mx.example.com"),
            record("example.com.", RrType::Txt, "\"v=spf1 -all\""),
        ];
        let (owned, rest) = split_owned(records.clone(), &["yolo".to_owned()]);
        assert_eq!(
            names(&owned),
            [
                "app.example.com. CNAME",
                "app.example.com. TXT",
                "cname-app.example.com. TXT"
            ]
        );
        assert_eq!(rest.len(), 4, "{:?}", names(&rest));
        let (owned, rest) = split_owned(records, &[]);
        assert!(owned.is_empty());
        assert_eq!(rest.len(), 7);
    }
}
