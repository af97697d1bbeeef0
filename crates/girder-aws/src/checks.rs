//! The rules AWS's APIs enforce on literal values, written once and used twice: by the DSL
//! builders when the program is built (with the builder's own field names), and on raw inputs
//! when a program declares AWS resources without the builders. Unknown values are skipped:
//! they are checked by AWS when they become known.

use girder_core::{Diagnostic, Diagnostics, Value};
use ipnet::Ipv4Net;

pub(crate) mod instance_types;
mod irsa_subjects;
mod pods_fit;

pub(crate) use irsa_subjects::irsa_subjects;
pub(crate) use pods_fit::pods_fit;

/// The rules that need the whole program, Kubernetes objects included: pods that fit no node,
/// IRSA roles that no workload assumes.
pub(crate) fn across_packages(
    resources: &[girder_engine::provider::PlannedResource<'_>],
) -> Diagnostics {
    let mut found = pods_fit(resources);
    found.extend(irsa_subjects(resources));
    found
}

use crate::dsl::cidr::{MAX_PREFIX, MIN_PREFIX};

/// Checks that `field` (if known) is an IPv4 CIDR block with a prefix AWS allows.
pub(crate) fn cidr(name: &str, inputs: &Value, field: &str) -> Diagnostics {
    let mut found = Diagnostics::new();
    let Some(text) = inputs.get(field).and_then(Value::as_str) else {
        return found;
    };
    for problem in cidr_block(text, "10.0.0.0/16").1 {
        push_problem(&mut found, name, field, text, problem);
    }
    found
}

/// A VPC or subnet CIDR block as AWS accepts it: an IPv4 network, no address bits beyond the
/// prefix, a prefix length from 16 to 28. Returns the network when it parses (for further
/// rules such as "inside the VPC"), and every problem; `example` is shown in the fix.
pub(crate) fn cidr_block(text: &str, example: &str) -> (Option<Ipv4Net>, Vec<Problem>) {
    let Ok(net) = text.parse::<Ipv4Net>() else {
        return (
            None,
            vec![(
                "not an IPv4 CIDR block".into(),
                format!(
                    "write it like `{example}` (an address, `/`, a prefix length of {MIN_PREFIX} to {MAX_PREFIX})"
                ),
            )],
        );
    };
    let mut problems = Vec::new();
    if net != net.trunc() {
        problems.push((
            "the address has bits set beyond the prefix".into(),
            format!("use `{}`", net.trunc()),
        ));
    }
    if !(MIN_PREFIX..=MAX_PREFIX).contains(&net.prefix_len()) {
        problems.push((
            format!(
                "AWS accepts prefix lengths from {MIN_PREFIX} to {MAX_PREFIX} for VPCs and subnets"
            ),
            "use a prefix such as `/16` (65,536 addresses) or `/24` (256)".into(),
        ));
    }
    (Some(net), problems)
}

/// Which part of a nodegroup's scaling a [`scaling_problems`] problem is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalingPart {
    /// The range (minimum and maximum).
    Range,
    /// The desired size.
    Desired,
}

/// The rules EKS enforces on a nodegroup's scaling: `min <= desired <= max`, `max >= 1`.
pub(crate) fn scaling_problems(min: i64, desired: i64, max: i64) -> Vec<(ScalingPart, Problem)> {
    let mut problems = Vec::new();
    if min < 0 {
        problems.push((
            ScalingPart::Range,
            (
                "the minimum size is negative".into(),
                "use a minimum of 0 or more".into(),
            ),
        ));
    }
    if min > max {
        problems.push((
            ScalingPart::Range,
            (
                "the minimum size is above the maximum".into(),
                "write the range smallest first, such as `1..=3`".into(),
            ),
        ));
    } else if !(min..=max).contains(&desired) {
        problems.push((
            ScalingPart::Desired,
            (
                format!("the desired size is outside {min}..={max}"),
                "choose a desired size within the range".into(),
            ),
        ));
    }
    if max < 1 {
        problems.push((
            ScalingPart::Range,
            (
                format!("the maximum size is {max}; EKS needs at least one node of room"),
                "allow at least one node".into(),
            ),
        ));
    }
    problems
}

/// The rule EC2 names follow (`family.size`, lowercase), so a typo fails at plan, not after
/// a ten-minute cluster create.
pub(crate) fn instance_type_problem(instance_type: &str) -> Option<Problem> {
    let shape_ok = instance_type
        .split_once('.')
        .is_some_and(|(family, size)| !family.is_empty() && !size.is_empty())
        && instance_type
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    (!shape_ok).then(|| {
        (
            "not an EC2 instance type".into(),
            "write it like `t3.medium` or `m7i.large`".into(),
        )
    })
}

/// The retention periods CloudWatch Logs offers; `None` (never expire) is not a number of days.
pub(crate) fn retention_problem(days: i64) -> Option<Problem> {
    let offered = crate::logs::RETENTION_DAYS
        .iter()
        .any(|d| i64::from(*d) == days && *d != 0);
    (!offered).then(|| {
        (
            "CloudWatch Logs does not offer this retention period".into(),
            format!(
                "use one of {}, or leave it unset to keep events forever",
                crate::logs::RETENTION_DAYS
                    .iter()
                    .filter(|d| **d != 0)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// Checks a nodegroup's scaling, capacity type and instance types (where known).
pub(crate) fn nodegroup(name: &str, inputs: &Value) -> Diagnostics {
    let mut found = Diagnostics::new();
    let size = |key: &str| {
        inputs
            .get("scaling")
            .and_then(|s| s.get(key))
            .and_then(Value::as_i64)
    };
    if let (Some(min), Some(max), Some(desired)) =
        (size("min_size"), size("max_size"), size("desired_size"))
    {
        for (part, problem) in scaling_problems(min, desired, max) {
            let (field, value) = match part {
                ScalingPart::Range => ("scaling", format!("min {min}, max {max}")),
                ScalingPart::Desired => ("scaling.desired_size", desired.to_string()),
            };
            push_problem(&mut found, name, field, &value, problem);
        }
    }
    if let Some(capacity) = inputs.get("capacity_type").and_then(Value::as_str)
        && capacity != "ON_DEMAND"
        && capacity != "SPOT"
    {
        found.push(
            Diagnostic::error("the capacity type is ON_DEMAND or SPOT")
                .resource(name)
                .field("capacity_type")
                .value(capacity)
                .fix("use `ON_DEMAND` or `SPOT`"),
        );
    }
    if let Some(types) = inputs.get("instance_types").and_then(Value::as_array) {
        if types.is_empty() {
            found.push(
                Diagnostic::error("the nodegroup has no instance types")
                    .resource(name)
                    .field("instance_types")
                    .fix("list at least one, such as `[\"t3.medium\"]`"),
            );
        }
        // Only a fully known list is checked together: an unknown entry could be of either
        // architecture. Raw inputs carry no region, so the offering check is the builder's.
        let known: Option<Vec<&str>> = types.iter().map(Value::as_str).collect();
        if let Some(known) = known {
            let ami_type = inputs.get("ami_type").and_then(Value::as_str);
            for problem in instance_types::problems(&known, None, ami_type) {
                push_problem(
                    &mut found,
                    name,
                    problem.field,
                    &problem.value,
                    (problem.message, problem.fix),
                );
            }
        }
    }
    found
}

/// Checks a log group's retention (where known).
pub(crate) fn retention(name: &str, inputs: &Value) -> Diagnostics {
    let mut found = Diagnostics::new();
    if let Some(days) = inputs.get("retention_in_days").and_then(Value::as_i64)
        && let Some(problem) = retention_problem(days)
    {
        push_problem(
            &mut found,
            name,
            "retention_in_days",
            &days.to_string(),
            problem,
        );
    }
    found
}

/// A problem with a literal value: what is wrong and how to fix it.
pub(crate) type Problem = (String, String);

/// A domain name as Route 53 reports it: lowercase, without the trailing dot.
pub(crate) fn normalize_domain(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Why `name` is not a DNS domain name Route 53 can host (checked after normalizing).
pub(crate) fn domain_problem(name: &str) -> Option<Problem> {
    let name = normalize_domain(name);
    if name.is_empty() {
        return Some((
            "the domain name is empty".into(),
            "give the zone's domain, such as `example.com`".into(),
        ));
    }
    if !name.is_ascii() {
        return Some((
            "the domain name has non-ASCII characters".into(),
            "write internationalized names in their punycode form (`xn--…`)".into(),
        ));
    }
    if name.len() > 253 {
        return Some((
            format!(
                "the domain name has {} characters; DNS allows 253",
                name.len()
            ),
            "use a shorter name".into(),
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some((
                "the domain name has an empty label (two dots in a row, or a leading dot)".into(),
                "remove the extra dot".into(),
            ));
        }
        if label.len() > 63 {
            return Some((
                format!(
                    "the label `{label}` has {} characters; DNS allows 63",
                    label.len()
                ),
                "shorten the label".into(),
            ));
        }
        if label == "*" {
            return Some((
                "a hosted zone cannot be a wildcard".into(),
                "create the zone for the parent domain and the wildcard record in it".into(),
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some((
                format!("the label `{label}` contains `{c}`"),
                "use letters, digits and hyphens, such as `app.example.com`".into(),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some((
                format!("the label `{label}` starts or ends with a hyphen"),
                "labels start and end with a letter or digit".into(),
            ));
        }
    }
    None
}

/// Bucket name prefixes AWS reserves.
const BUCKET_RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
/// Bucket name suffixes AWS reserves.
const BUCKET_RESERVED_SUFFIXES: [&str; 5] =
    ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Why `name` is not a valid S3 (general purpose) bucket name. With `prefix`, `name` is
/// the start of a generated name (8 hex digits follow), so only the rules that apply to a
/// start are checked.
pub(crate) fn bucket_name_problems(name: &str, prefix: bool) -> Vec<Problem> {
    let mut found = Vec::new();
    let (min, max) = if prefix { (1, 55) } else { (3, 63) };
    if name.len() < min || name.len() > max {
        found.push((
            if prefix {
                format!(
                    "a bucket name prefix has 1 to 55 characters (8 are added), not {}",
                    name.len()
                )
            } else {
                format!("a bucket name has 3 to 63 characters, not {}", name.len())
            },
            "choose a name such as `acme-girder-state`".into(),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        found.push((
            format!(
                "bucket names have lowercase letters, digits, hyphens and dots only, not `{c}`"
            ),
            format!("use `{}`", suggest_bucket_name(name)),
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !alnum(name.chars().next()) || (!prefix && !alnum(name.chars().last())) {
        found.push((
            "a bucket name begins and ends with a lowercase letter or digit".into(),
            format!("use `{}`", suggest_bucket_name(name)),
        ));
    }
    if name.contains("..") {
        found.push((
            "a bucket name cannot contain two dots in a row".into(),
            "remove the extra dot".into(),
        ));
    }
    if !prefix && name.parse::<std::net::Ipv4Addr>().is_ok() {
        found.push((
            "a bucket name cannot look like an IP address".into(),
            "choose a name with letters".into(),
        ));
    }
    if let Some(reserved) = BUCKET_RESERVED_PREFIXES
        .iter()
        .find(|p| name.starts_with(*p))
    {
        found.push((
            format!("bucket names starting with `{reserved}` are reserved by AWS"),
            "choose another start".into(),
        ));
    }
    if !prefix && let Some(reserved) = BUCKET_RESERVED_SUFFIXES.iter().find(|p| name.ends_with(*p))
    {
        found.push((
            format!("bucket names ending with `{reserved}` are reserved by AWS"),
            "choose another end".into(),
        ));
    }
    found
}

/// `name` lowercased with anything but letters, digits, hyphens and dots made a hyphen and
/// hyphens trimmed from the ends (for fixes, and for generated prefixes).
pub(crate) fn suggest_bucket_name(name: &str) -> String {
    let cleaned: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.trim_matches(|c| c == '-' || c == '.').to_owned()
}

/// Why `name` is not a valid DynamoDB table name.
pub(crate) fn table_name_problem(name: &str) -> Option<Problem> {
    if name.len() < 3 || name.len() > 255 {
        return Some((
            format!("a table name has 3 to 255 characters, not {}", name.len()),
            "choose a name such as `girder-locks`".into(),
        ));
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
        .map(|c| {
            (
                format!("table names have letters, digits and `_.-` only, not `{c}`"),
                "replace it with `-` or `_`".into(),
            )
        })
}

/// Why `name` is not a valid key attribute name.
pub(crate) fn key_name_problem(name: &str) -> Option<Problem> {
    if name.is_empty() || name.len() > 255 {
        return Some((
            format!(
                "a key attribute name has 1 to 255 bytes, not {}",
                name.len()
            ),
            "name the attribute, such as `LockID` or `pk`".into(),
        ));
    }
    None
}

/// The key attribute types DynamoDB accepts.
pub(crate) const KEY_TYPES: [&str; 3] = ["S", "N", "B"];

fn push_problem(found: &mut Diagnostics, name: &str, field: &str, value: &str, problem: Problem) {
    found.push(
        Diagnostic::error(problem.0)
            .resource(name)
            .field(field)
            .value(value)
            .fix(problem.1),
    );
}

/// Checks a hosted zone's raw inputs (where known).
pub(crate) fn hosted_zone(name: &str, inputs: &Value) -> Diagnostics {
    let mut found = Diagnostics::new();
    if let Some(domain) = inputs.get("name").and_then(Value::as_str)
        && let Some(problem) = domain_problem(domain)
    {
        push_problem(&mut found, name, "name", domain, problem);
    }
    let private = inputs.get("private_zone").and_then(Value::as_bool);
    // The number of VPCs where known (absent is none; an unknown list is not checked).
    let vpcs = match inputs.get("vpcs") {
        None | Some(Value::Null) => Some(0),
        Some(list) => list.as_array().map(<[Value]>::len),
    };
    if private == Some(true) && vpcs == Some(0) {
        push_problem(
            &mut found,
            name,
            "vpcs",
            "[]",
            (
                "a private hosted zone needs at least one VPC".into(),
                "associate a VPC, or make the zone public".into(),
            ),
        );
    }
    if private != Some(true) && vpcs.is_some_and(|n| n > 0) {
        push_problem(
            &mut found,
            name,
            "vpcs",
            "…",
            (
                "only private hosted zones are associated with VPCs".into(),
                "set `private_zone` to true, or remove the VPCs".into(),
            ),
        );
    }
    found
}

/// Checks a bucket's raw inputs (where known).
pub(crate) fn bucket(name: &str, inputs: &Value) -> Diagnostics {
    let mut found = Diagnostics::new();
    for (field, prefix) in [("name", false), ("name_prefix", true)] {
        if let Some(value) = inputs.get(field).and_then(Value::as_str) {
            for problem in bucket_name_problems(value, prefix) {
                push_problem(&mut found, name, field, value, problem);
            }
        }
    }
    if let Some(algorithm) = inputs
        .get("encryption")
        .and_then(|e| e.get("sse_algorithm"))
        .and_then(Value::as_str)
        && !["AES256", "aws:kms", "aws:kms:dsse"].contains(&algorithm)
    {
        push_problem(
            &mut found,
            name,
            "encryption.sse_algorithm",
            algorithm,
            (
                "S3 default encryption is `AES256`, `aws:kms` or `aws:kms:dsse`".into(),
                "use `AES256` (SSE-S3) or `aws:kms` (SSE-KMS)".into(),
            ),
        );
    }
    found
}

/// Checks a table's raw inputs (where known).
pub(crate) fn table(name: &str, inputs: &Value) -> Diagnostics {
    let mut found = Diagnostics::new();
    if let Some(table) = inputs.get("name").and_then(Value::as_str)
        && let Some(problem) = table_name_problem(table)
    {
        push_problem(&mut found, name, "name", table, problem);
    }
    for key in ["hash_key", "range_key"] {
        let Some(attribute) = inputs.get(key) else {
            continue;
        };
        if let Some(attribute_name) = attribute.get("name").and_then(Value::as_str)
            && let Some(problem) = key_name_problem(attribute_name)
        {
            push_problem(
                &mut found,
                name,
                &format!("{key}.name"),
                attribute_name,
                problem,
            );
        }
        if let Some(kind) = attribute.get("type").and_then(Value::as_str)
            && !KEY_TYPES.contains(&kind)
        {
            push_problem(
                &mut found,
                name,
                &format!("{key}.type"),
                kind,
                (
                    "a key attribute is of type `S` (string), `N` (number) or `B` (binary)".into(),
                    "use `S`, `N` or `B`".into(),
                ),
            );
        }
    }
    let key_name = |key: &str| {
        inputs
            .get(key)
            .and_then(|k| k.get("name"))
            .and_then(Value::as_str)
    };
    if let (Some(hash), Some(range)) = (key_name("hash_key"), key_name("range_key"))
        && hash == range
    {
        push_problem(
            &mut found,
            name,
            "range_key.name",
            range,
            (
                "the range key has the hash key's name".into(),
                "give the two key attributes different names".into(),
            ),
        );
    }
    match inputs.get("billing_mode").and_then(Value::as_str) {
        Some("PAY_PER_REQUEST") | None => {}
        Some("PROVISIONED") => {
            for field in ["read_capacity", "write_capacity"] {
                match inputs.get(field) {
                    Some(Value::Unknown) => {}
                    Some(v) if v.as_i64().is_some_and(|n| n >= 1) => {}
                    other => push_problem(
                        &mut found,
                        name,
                        field,
                        &other
                            .map(|v| v.display().to_string())
                            .unwrap_or_else(|| "absent".into()),
                        (
                            "a PROVISIONED table needs read and write capacities of at least 1"
                                .into(),
                            "set both capacities, or use PAY_PER_REQUEST".into(),
                        ),
                    ),
                }
            }
        }
        Some(other) => push_problem(
            &mut found,
            name,
            "billing_mode",
            other,
            (
                "the billing mode is PAY_PER_REQUEST or PROVISIONED".into(),
                "use `PAY_PER_REQUEST`".into(),
            ),
        ),
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    #[test]
    fn raw_inputs_are_checked_where_known() {
        assert_eq!(
            cidr("v", &object! { "cidr_block" => "10.0.0.0/8" }, "cidr_block").len(),
            1
        );
        assert_eq!(
            cidr(
                "v",
                &object! { "cidr_block" => "10.0.1.0/16" },
                "cidr_block"
            )
            .len(),
            1
        );
        assert!(
            cidr(
                "v",
                &object! { "cidr_block" => Value::Unknown },
                "cidr_block"
            )
            .is_empty()
        );
        let group = object! {
            "scaling" => object! { "min_size" => 3, "max_size" => 2, "desired_size" => 2 },
            "capacity_type" => "RESERVED",
            "instance_types" => Value::Array(vec![]),
        };
        assert_eq!(nodegroup("g", &group).len(), 3);
        assert_eq!(
            retention("l", &object! { "retention_in_days" => 31 }).len(),
            1
        );
    }
}
