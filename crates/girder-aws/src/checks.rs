//! Plan-time checks of raw inputs, for programs that declare AWS resources without the DSL
//! builders (which check the same things when the program is built). Unknown values are
//! skipped: they are checked by AWS when they become known.

use girder_core::{Diagnostic, Diagnostics, Value};
use ipnet::Ipv4Net;

/// Checks that `field` (if known) is an IPv4 CIDR block with a prefix AWS allows.
pub(crate) fn cidr(name: &str, inputs: &Value, field: &str) -> Diagnostics {
    let mut found = Diagnostics::new();
    let Some(text) = inputs.get(field).and_then(Value::as_str) else {
        return found;
    };
    match text.parse::<Ipv4Net>() {
        Err(_) => found.push(
            Diagnostic::error("not an IPv4 CIDR block")
                .resource(name)
                .field(field)
                .value(text)
                .fix("write it like `10.0.0.0/16`"),
        ),
        Ok(net) if !(16..=28).contains(&net.prefix_len()) => found.push(
            Diagnostic::error("AWS accepts prefix lengths from 16 to 28")
                .resource(name)
                .field(field)
                .value(text)
                .fix("use a prefix such as `/16` or `/24`"),
        ),
        Ok(net) if net != net.trunc() => found.push(
            Diagnostic::error("the address has bits set beyond the prefix")
                .resource(name)
                .field(field)
                .value(text)
                .fix(format!("use `{}`", net.trunc())),
        ),
        Ok(_) => {}
    }
    found
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
        && (min > max || !(min..=max).contains(&desired) || max < 1)
    {
        found.push(
            Diagnostic::error("the sizes must satisfy 0 <= min <= desired <= max, with max >= 1")
                .resource(name)
                .field("scaling")
                .value(format!("min {min}, desired {desired}, max {max}"))
                .fix("adjust the sizes"),
        );
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
    if inputs
        .get("instance_types")
        .and_then(Value::as_array)
        .is_some_and(<[Value]>::is_empty)
    {
        found.push(
            Diagnostic::error("the nodegroup has no instance types")
                .resource(name)
                .field("instance_types")
                .fix("list at least one, such as `[\"t3.medium\"]`"),
        );
    }
    found
}

/// Checks a log group's retention (where known).
pub(crate) fn retention(name: &str, inputs: &Value) -> Diagnostics {
    let mut found = Diagnostics::new();
    if let Some(days) = inputs.get("retention_in_days").and_then(Value::as_i64)
        && (!crate::logs::RETENTION_DAYS
            .iter()
            .any(|d| i64::from(*d) == days)
            || days == 0)
    {
        found.push(
            Diagnostic::error("CloudWatch Logs does not offer this retention period")
                .resource(name)
                .field("retention_in_days")
                .value(days)
                .fix("use 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, … days"),
        );
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
