//! Terraform addresses: girder names as Terraform identifiers, references split.

use std::collections::{BTreeSet, HashMap};

/// `name` as a Terraform identifier: letters, digits, `_` and `-`, not starting with a digit
/// or `-`.
pub(super) fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}
/// FNV-1a: a hash that stays the same across runs and platforms.
pub(super) fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}
/// The Terraform local name of each girder name: its identifier, made unique with a hash of
/// the girder name where two identifiers would meet.
pub(super) fn local_names<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, String> {
    let names: BTreeSet<&str> = names.collect();
    let mut count: HashMap<String, usize> = HashMap::new();
    for name in &names {
        *count.entry(identifier(name)).or_default() += 1;
    }
    names
        .into_iter()
        .map(|name| {
            let id = identifier(name);
            let local = if count[&id] > 1 && id != name {
                format!("{id}_{:08x}", stable_hash(name))
            } else {
                id
            };
            (name.to_owned(), local)
        })
        .collect()
}
/// The type token as an identifier, for types with no Terraform provider counterpart.
pub(super) fn generic_type(type_name: &str) -> String {
    type_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}
/// The provider configuration key (`aws`) of a full provider name.
pub(super) fn provider_key(full: &str) -> &str {
    full.rsplit('/').next().unwrap_or(full)
}
/// `aws_vpc.main.id` → (`aws_vpc.main`, `id`); `None` for a bare resource address.
pub(super) fn split_reference(text: &str) -> Option<(String, String)> {
    let skip = if text.starts_with("data.") { 3 } else { 2 };
    let mut parts = text.splitn(skip + 1, '.');
    let address: Vec<&str> = parts.by_ref().take(skip).collect();
    let attribute = parts.next()?;
    Some((address.join("."), attribute.to_owned()))
}
