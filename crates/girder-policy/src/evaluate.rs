//! Evaluating the policies on a plan, by conftest's conventions.

use serde_json::Value as Json;

use crate::{Enforcement, Finding, Outcome, PolicyError, PolicyReport, PolicySet, Severity};

impl PolicySet {
    /// Evaluates every package on `plan` (Terraform's JSON plan format) and applies the
    /// waivers. An error — a package that fails at evaluation — means the policies could not
    /// say whether the plan passes, which callers treat as a mandatory violation.
    pub fn evaluate(&self, plan: &Json) -> Result<PolicyReport, PolicyError> {
        let addresses = planned_addresses(plan);
        let input = plan.to_string();
        let mut findings = Vec::new();
        for level in &self.levels {
            // Each evaluation starts from the loaded policies: evaluating leaves state behind.
            let mut engine = level.engine.clone();
            engine
                .set_input_json(&input)
                .map_err(|e| PolicyError::Evaluate {
                    package: "(input)".to_owned(),
                    message: e.to_string(),
                })?;
            for package in &level.packages {
                let document = package_document(&mut engine, package)?;
                let name = package.strip_prefix("data.").unwrap_or(package);
                for (rule, value) in document.as_object().into_iter().flatten() {
                    let Some(severity) = severity_of(rule) else {
                        continue;
                    };
                    for member in members(value) {
                        let (message, resource, details) = message_of(member);
                        let resource = resource.or_else(|| named_address(&message, &addresses));
                        findings.push(Finding {
                            package: name.to_owned(),
                            rule: rule.clone(),
                            message,
                            resource,
                            severity,
                            enforcement: level.enforcement,
                            outcome: outcome(severity, level.enforcement),
                            details,
                        });
                    }
                }
            }
        }
        let mut used = vec![false; self.waivers.len()];
        for finding in &mut findings {
            if let Some(at) = self.waivers.iter().position(|w| w.excuses(finding)) {
                used[at] = true;
                finding.outcome = Outcome::Waived {
                    reason: self.waivers[at].reason.clone(),
                };
            }
        }
        findings.sort_by(|a, b| {
            rank(&a.outcome).cmp(&rank(&b.outcome)).then_with(|| {
                (&a.package, &a.rule, &a.message).cmp(&(&b.package, &b.rule, &b.message))
            })
        });
        findings.dedup();
        let unused_waivers = self
            .waivers
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(w, _)| w.clone())
            .collect();
        Ok(PolicyReport {
            files: self.files.len(),
            findings,
            unused_waivers,
        })
    }
}

/// The package's rules, evaluated, as JSON (`{"deny": [...], "warn": [...], …}`).
fn package_document(engine: &mut regorus::Engine, package: &str) -> Result<Json, PolicyError> {
    let failed = |message: String| PolicyError::Evaluate {
        package: package.to_owned(),
        message,
    };
    let results = engine
        .eval_query(package.to_owned(), false)
        .map_err(|e| failed(e.to_string()))?;
    let Some(value) = results
        .result
        .into_iter()
        .next()
        .and_then(|r| r.expressions.into_iter().next())
        .map(|e| e.value)
    else {
        // A package whose every rule is undefined for this input.
        return Ok(Json::Object(Default::default()));
    };
    let text = value.to_json_str().map_err(|e| failed(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
}

/// conftest's rule conventions: `deny`, `violation`, `warn`, or one of them and `_…`.
fn severity_of(rule: &str) -> Option<Severity> {
    let is =
        |kind: &str| rule == kind || rule.strip_prefix(kind).is_some_and(|r| r.starts_with('_'));
    if is("deny") || is("violation") {
        Some(Severity::Deny)
    } else if is("warn") {
        Some(Severity::Warn)
    } else {
        None
    }
}

/// The members of a rule's value: a set's (an array in JSON), or the value itself for a
/// complete rule (`deny := "…"`); `false` and empty values have none.
fn members(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        Json::Bool(false) | Json::Null => Vec::new(),
        Json::String(s) if s.is_empty() => Vec::new(),
        other => vec![other],
    }
}

/// A member's message, resource and other fields: a string is the message; an object gives
/// it as `msg` (conftest), with `resource` naming the resource if it likes.
fn message_of(member: &Json) -> (String, Option<String>, Option<Json>) {
    match member {
        Json::String(text) => (text.clone(), None, None),
        Json::Object(fields) => {
            let message = match fields.get("msg") {
                Some(Json::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => member.to_string(),
            };
            let resource = fields
                .get("resource")
                .and_then(Json::as_str)
                .map(str::to_owned);
            let rest: serde_json::Map<String, Json> = fields
                .iter()
                .filter(|(k, _)| *k != "msg" && *k != "resource")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (
                message,
                resource,
                (!rest.is_empty()).then_some(Json::Object(rest)),
            )
        }
        Json::Bool(true) => ("(the rule is true)".to_owned(), None, None),
        other => (other.to_string(), None, None),
    }
}

fn outcome(severity: Severity, enforcement: Enforcement) -> Outcome {
    match (severity, enforcement) {
        (Severity::Deny, Enforcement::Mandatory) => Outcome::Violation,
        _ => Outcome::Warning,
    }
}

fn rank(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Violation => 0,
        Outcome::Warning => 1,
        Outcome::Waived { .. } => 2,
    }
}

/// The addresses of the plan's resource changes, longest first (so `aws_vpc.main_b` wins
/// over `aws_vpc.main`).
fn planned_addresses(plan: &Json) -> Vec<String> {
    let mut addresses: Vec<String> = plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|rc| rc["address"].as_str().map(str::to_owned))
        .collect();
    addresses.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    addresses.dedup();
    addresses
}

/// The longest planned address that `message` names as a whole word.
fn named_address(message: &str, addresses: &[String]) -> Option<String> {
    let part_of_address = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[');
    addresses
        .iter()
        .find(|address| {
            message.match_indices(address.as_str()).any(|(at, _)| {
                let before = message[..at].chars().next_back();
                let after = message[at + address.len()..].chars().next();
                !before.is_some_and(part_of_address)
                    && !after.is_some_and(|c| part_of_address(c) && c != '.')
            })
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions_of_rule_names() {
        assert_eq!(severity_of("deny"), Some(Severity::Deny));
        assert_eq!(severity_of("violation_tags"), Some(Severity::Deny));
        assert_eq!(severity_of("warn_public"), Some(Severity::Warn));
        assert_eq!(severity_of("denylist"), None);
        assert_eq!(severity_of("allow"), None);
    }

    #[test]
    fn a_message_names_its_resource_by_the_longest_whole_address() {
        let addresses = planned_addresses(&serde_json::json!({"resource_changes": [
            {"address": "aws_vpc.main"}, {"address": "aws_vpc.main_b"}, {"address": "aws_subnet.a"}
        ]}));
        let named = |m: &str| named_address(m, &addresses);
        assert_eq!(
            named("aws_vpc.main_b: no flow log").as_deref(),
            Some("aws_vpc.main_b")
        );
        assert_eq!(
            named("aws_vpc.main: no flow log").as_deref(),
            Some("aws_vpc.main")
        );
        assert_eq!(
            named("see aws_vpc.main.id").as_deref(),
            Some("aws_vpc.main")
        );
        assert_eq!(named("xaws_subnet.a is wrong"), None);
        assert_eq!(named("nothing here"), None);
    }
}
