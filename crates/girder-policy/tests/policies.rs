//! Policy directories as conftest reads them, enforcement levels, waivers, and the errors a
//! broken policy gives.

use std::fs;
use std::path::Path;

use girder_policy::{Enforcement, Outcome, PolicyError, PolicySet, Severity, Waiver};
use serde_json::json;

fn plan() -> serde_json::Value {
    json!({
        "format_version": "1.2",
        "resource_changes": [
            {"address": "aws_s3_bucket.state", "type": "aws_s3_bucket", "mode": "managed",
             "change": {"actions": ["create"], "after": {"bucket": "state"}}},
            {"address": "aws_s3_bucket.state_logs", "type": "aws_s3_bucket", "mode": "managed",
             "change": {"actions": ["create"], "after": {"bucket": "state-logs"}}},
            {"address": "aws_eks_cluster.main", "type": "aws_eks_cluster", "mode": "managed",
             "change": {"actions": ["create"], "after": {"name": "main", "enabled_cluster_log_types": ["api"]}}}
        ]
    })
}

const BUCKETS: &str = r#"
package main
import rego.v1

deny contains msg if {
    some rc in input.resource_changes
    rc.type == "aws_s3_bucket"
    msg := sprintf("%s: no versioning", [rc.address])
}

warn_logs contains {"msg": "control-plane logs incomplete", "resource": rc.address, "benchmark": "CIS EKS 2.1.1"} if {
    some rc in input.resource_changes
    rc.type == "aws_eks_cluster"
    count(rc.change.after.enabled_cluster_log_types) < 5
}

allow := true
"#;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn a_directory_of_conftest_policies() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "buckets.rego", BUCKETS);
    // Sub-directories load too, and another package is evaluated beside `main`.
    write(
        dir.path(),
        "eks/endpoint.rego",
        "package eks\nimport rego.v1\nviolation contains \"aws_eks_cluster.main: public endpoint\" if { true }\n",
    );
    write(dir.path(), "README.md", "not a policy");
    let mut policies = PolicySet::new();
    policies.load(dir.path(), Enforcement::Mandatory).unwrap();
    assert_eq!(policies.files().len(), 2);

    let report = policies.evaluate(&plan()).unwrap();
    assert!(report.blocks());
    let violations: Vec<(&str, &str, Option<&str>)> = report
        .violations()
        .map(|f| {
            (
                f.rule_path().leak() as &str,
                f.message.as_str(),
                f.resource.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        violations,
        vec![
            (
                "eks.violation",
                "aws_eks_cluster.main: public endpoint",
                Some("aws_eks_cluster.main")
            ),
            (
                "main.deny",
                "aws_s3_bucket.state: no versioning",
                Some("aws_s3_bucket.state")
            ),
            (
                "main.deny",
                "aws_s3_bucket.state_logs: no versioning",
                Some("aws_s3_bucket.state_logs")
            ),
        ]
    );
    let warning = report.warnings().next().unwrap();
    assert_eq!(warning.severity, Severity::Warn);
    assert_eq!(warning.resource.as_deref(), Some("aws_eks_cluster.main"));
    assert_eq!(warning.details, Some(json!({"benchmark": "CIS EKS 2.1.1"})));
    assert_eq!(
        report.summary(),
        "3 violations, 1 warning, 0 waived (2 policy files)"
    );

    // The report is plain data for `--json`.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"][0]["outcome"], "violation");
    assert_eq!(json["findings"][0]["enforcement"], "mandatory");
}

#[test]
fn advisory_policies_warn_and_stay_apart_from_mandatory_ones() {
    let mut policies = PolicySet::new();
    policies
        .add_source(
            "strict.rego",
            "package main\nimport rego.v1\nwarn contains \"w\" if { true }\n",
            Enforcement::Mandatory,
        )
        .unwrap();
    // The same package name at another level: its `deny` only warns.
    policies
        .add_source("new.rego", BUCKETS, Enforcement::Advisory)
        .unwrap();
    let report = policies.evaluate(&plan()).unwrap();
    assert!(!report.blocks(), "{report:?}");
    assert_eq!(report.warnings().count(), 4);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Deny && f.enforcement == Enforcement::Advisory)
    );
}

#[test]
fn waivers_excuse_one_resource_from_one_rule_and_stale_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "buckets.rego", BUCKETS);
    write(
        dir.path(),
        "waivers.toml",
        r#"
[[waiver]]
resource = "aws_s3_bucket.state_logs"
rule = "main.deny"
reason = "a log bucket: its objects are written once"

[[waiver]]
resource = "aws_s3_bucket.gone"
reason = "removed last month"
"#,
    );
    let mut policies = PolicySet::new();
    policies.load(dir.path(), Enforcement::Mandatory).unwrap();
    let report = policies.evaluate(&plan()).unwrap();
    assert_eq!(report.violations().count(), 1);
    let waived = report.waived().next().unwrap();
    assert_eq!(waived.resource.as_deref(), Some("aws_s3_bucket.state_logs"));
    assert_eq!(
        waived.outcome,
        Outcome::Waived {
            reason: "a log bucket: its objects are written once".into()
        }
    );
    assert_eq!(report.unused_waivers.len(), 1);
    assert_eq!(report.unused_waivers[0].resource, "aws_s3_bucket.gone");

    // A waiver for every rule of a resource.
    let mut all = PolicySet::new();
    all.add_source("b.rego", BUCKETS, Enforcement::Mandatory)
        .unwrap();
    all.waive(Waiver::new("aws_s3_bucket.state", None, "r"));
    all.waive(Waiver::new("aws_s3_bucket.state_logs", None, "r"));
    assert!(!all.evaluate(&plan()).unwrap().blocks());
}

#[test]
fn a_policy_that_does_not_parse_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.rego", BUCKETS);
    write(
        dir.path(),
        "broken.rego",
        "package main\nimport rego.v1\n\ndeny contains msg if {\n    msg := \n}\n",
    );
    let mut policies = PolicySet::new();
    let error = policies
        .load(dir.path(), Enforcement::Mandatory)
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, PolicyError::Parse { .. }), "{text}");
    assert!(text.contains("broken.rego"), "{text}");
    assert!(
        text.contains(":6:") || text.contains(":5:"),
        "no line in: {text}"
    );
}

#[test]
fn a_policy_that_fails_at_evaluation_is_an_error_not_a_pass() {
    let mut policies = PolicySet::new();
    // Two different values for one complete rule: OPA reports a conflict.
    policies
        .add_source(
            "conflict.rego",
            "package main\nimport rego.v1\nlevel := 1 if { true }\nlevel := 2 if { true }\ndeny contains \"x\" if { level == 3 }\n",
            Enforcement::Mandatory,
        )
        .unwrap();
    let error = policies.evaluate(&plan()).unwrap_err();
    assert!(matches!(error, PolicyError::Evaluate { .. }), "{error}");
    let text = error.to_string();
    assert!(text.contains("data.main"), "{text}");
    assert!(text.contains("conflict.rego"), "{text}");
}

#[test]
fn a_mistyped_directory_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut policies = PolicySet::new();
    let empty = policies
        .load(dir.path(), Enforcement::Mandatory)
        .unwrap_err();
    assert!(empty.to_string().contains("holds no .rego file"), "{empty}");
    let missing = policies
        .load(&dir.path().join("nope"), Enforcement::Mandatory)
        .unwrap_err();
    assert!(matches!(missing, PolicyError::Read { .. }), "{missing}");
    assert!(policies.is_empty());
}
