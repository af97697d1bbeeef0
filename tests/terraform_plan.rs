//! The seed's plans as Terraform plan JSON, read by the tools that read Terraform plans:
//! `yolo` and `state_backend` plan offline (`plan --refresh=false --format terraform-json`, an
//! empty state, no AWS call), then
//!
//! - the pinned checkov (`scripts/requirements-checkov.txt`, in `.venv-checkov`) evaluates
//!   them with its `terraform_plan` framework: every AWS resource is recognised and checked,
//!   except those of the few types checkov has no check for at all (listed below with that
//!   reason), and its findings are the ones Terraform's plan of the same resources gets;
//! - a conftest-style Rego policy written for Terraform plans
//!   (`tests/policies/terraform_plan.rego`) runs unchanged through `regorus` and finds what it
//!   should — also what it finds only through `configuration`'s references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use tempfile::TempDir;

/// Terraform AWS types checkov 3.3.30 has no check for, not even a graph check: their
/// resources cannot appear in its results.
const NO_CHECKS: [(&str, &str); 3] = [
    (
        "aws_internet_gateway",
        "no checkov check reads internet gateways",
    ),
    (
        "aws_route_table_association",
        "no checkov check reads route table associations",
    ),
    (
        "aws_iam_openid_connect_provider",
        "no checkov check reads OIDC providers",
    ),
];

/// Terraform AWS types checkov reads only as the connected resource of a graph check that
/// reports on another resource: `(type, check, reported type)`. The test finds the reported
/// resource through the reference the configuration makes and asserts that the check passed
/// there — which it does only through that connection.
const CHECKED_THROUGH: [(&str, &str, &str); 4] = [
    // "Ensure VPC flow logging is enabled in all VPCs"
    ("aws_flow_log", "CKV2_AWS_11", "aws_vpc"),
    // "Ensure that all EIP addresses allocated to a VPC are attached" (to a NAT gateway here)
    ("aws_nat_gateway", "CKV2_AWS_19", "aws_eip"),
    // "Ensure all data stored in the S3 bucket have versioning enabled"
    ("aws_s3_bucket_versioning", "CKV_AWS_21", "aws_s3_bucket"),
    // "Ensure all data stored in the S3 bucket is securely encrypted at rest"
    (
        "aws_s3_bucket_server_side_encryption_configuration",
        "CKV_AWS_19",
        "aws_s3_bucket",
    ),
];

/// The addresses the configuration of `address` references.
fn referenced(plan: &Json, address: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    fn walk(value: &Json, found: &mut BTreeSet<String>) {
        match value {
            Json::Object(map) => {
                for reference in map
                    .get("references")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    found.insert(reference.as_str().unwrap().to_owned());
                }
                map.values().for_each(|v| walk(v, found));
            }
            Json::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    for resource in plan["configuration"]["root_module"]["resources"]
        .as_array()
        .unwrap()
    {
        if resource["address"] == address {
            walk(&resource["expressions"], &mut found);
        }
    }
    found
}

/// A program's plan against an empty state, as Terraform plan JSON, written to `plan.json`.
fn plan(bin: &str, dir: &Path) -> (PathBuf, Json) {
    let output = Command::new(bin)
        .current_dir(dir)
        .env("GIRDER_PASSPHRASE", "e2e passphrase")
        .env("NO_COLOR", "1")
        .env_remove("GIRDER_STATE")
        .env_remove("GIRDER_STACK")
        .env_remove("GIRDER_KUBECONFIG")
        .env_remove("KUBECONFIG")
        .env_remove("AWS_ENDPOINT_URL")
        .args(["plan", "--refresh=false", "--format", "terraform-json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{bin} plan: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Json = serde_json::from_slice(&output.stdout).expect("stdout is the plan JSON");
    let path = dir.join(format!(
        "{}.json",
        Path::new(bin).file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&path, &output.stdout).unwrap();
    (path, json)
}

/// The pinned checkov: `GIRDER_CHECKOV`, else the one `scripts/python-deps.sh` installs.
fn checkov() -> PathBuf {
    let path = std::env::var_os("GIRDER_CHECKOV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            girder_testing::tools::workspace_root()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".venv-checkov/bin/checkov")
        });
    assert!(
        path.exists(),
        "checkov is missing at {}: run scripts/python-deps.sh or set GIRDER_CHECKOV",
        path.display()
    );
    path
}

/// checkov's `terraform_plan` results for one plan file: `(check id, resource, passed)`,
/// and its summary.
fn scan(plan: &Path) -> (Vec<(String, String, bool)>, Json) {
    let output = Command::new(checkov())
        .args([
            "--framework",
            "terraform_plan",
            "-o",
            "json",
            "--skip-download",
        ])
        .arg("-f")
        .arg(plan)
        // No network, no platform: the pinned checks only.
        .env_remove("BC_API_KEY")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .unwrap();
    // checkov exits 1 when a check fails; anything else is an error.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "checkov: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's report: {e}\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let report = match report {
        Json::Array(reports) => reports
            .into_iter()
            .find(|r| r["check_type"] == "terraform_plan")
            .expect("a terraform_plan report"),
        report => report,
    };
    let mut results = Vec::new();
    for (key, passed) in [("passed_checks", true), ("failed_checks", false)] {
        for check in report["results"][key].as_array().into_iter().flatten() {
            results.push((
                check["check_id"].as_str().unwrap().to_owned(),
                check["resource"].as_str().unwrap().to_owned(),
                passed,
            ));
        }
    }
    (results, report["summary"].clone())
}

fn bin(name: &str) -> String {
    match name {
        "yolo" => env!("CARGO_BIN_EXE_yolo").to_owned(),
        "state_backend" => env!("CARGO_BIN_EXE_state_backend").to_owned(),
        other => panic!("no program {other}"),
    }
}

#[test]
fn checkov_evaluates_every_aws_resource_of_the_seed() {
    let dir = TempDir::new().unwrap();
    let mut total_aws = 0;
    let mut evaluated_aws = 0;
    let mut failed: BTreeSet<(String, String)> = BTreeSet::new();
    let mut counts = (0, 0);
    for program in ["yolo", "state_backend"] {
        let work = dir.path().join(program);
        std::fs::create_dir(&work).unwrap();
        let (path, json) = plan(&bin(program), &work);
        let changes = json["resource_changes"].as_array().unwrap();
        let (results, summary) = scan(&path);
        assert_eq!(summary["parsing_errors"], 0, "{summary}");
        assert_eq!(summary["checkov_version"], "3.3.30", "{summary}");
        assert_eq!(
            summary["resource_count"].as_u64(),
            Some(changes.len() as u64),
            "checkov reads every resource of {program}'s plan: {summary}"
        );
        let evaluated: BTreeSet<&str> = results.iter().map(|(_, r, _)| r.as_str()).collect();
        let passed: BTreeSet<(&str, &str)> = results
            .iter()
            .filter(|(_, _, passed)| *passed)
            .map(|(check, resource, _)| (check.as_str(), resource.as_str()))
            .collect();
        let no_checks: BTreeMap<&str, &str> = NO_CHECKS.into_iter().collect();
        for change in changes
            .iter()
            .filter(|c| c["type"].as_str().unwrap().starts_with("aws_"))
        {
            let address = change["address"].as_str().unwrap();
            let tf_type = change["type"].as_str().unwrap();
            total_aws += 1;
            if let Some(reason) = no_checks.get(tf_type) {
                assert!(
                    !evaluated.contains(address),
                    "{address} is in checkov's results although the test says {reason}: update NO_CHECKS"
                );
                continue;
            }
            evaluated_aws += 1;
            if let Some((_, check, reported)) =
                CHECKED_THROUGH.iter().find(|(t, _, _)| *t == tf_type)
            {
                assert!(
                    !evaluated.contains(address),
                    "{address} is in checkov's results: update CHECKED_THROUGH"
                );
                let prefix = format!("{reported}.");
                let target: Vec<String> = referenced(&json, address)
                    .into_iter()
                    .filter(|r| r.starts_with(&prefix) && r.matches('.').count() == 1)
                    .collect();
                assert_eq!(
                    target.len(),
                    1,
                    "{address} references one {reported}: {target:?}"
                );
                assert!(
                    passed.contains(&(*check, target[0].as_str())),
                    "{check} passed on {} through {address}",
                    target[0]
                );
                continue;
            }
            assert!(
                evaluated.contains(address),
                "checkov did not evaluate {address} ({program}): {:?}",
                change["girder"]
            );
        }
        for (check, resource, passed) in &results {
            if *passed {
                counts.0 += 1;
            } else {
                counts.1 += 1;
                failed.insert((check.clone(), resource.clone()));
            }
        }
    }
    eprintln!(
        "checkov: {evaluated_aws} of {total_aws} AWS resources evaluated (the others of types it has no check for); {} checks passed, {} failed",
        counts.0, counts.1
    );
    // What Terraform's plan of the same resources is told too: the seed's known gaps.
    for expected in [
        ("CKV_AWS_58", "aws_eks_cluster.yolo-cluster"), // no secrets encryption
        ("CKV_AWS_38", "aws_eks_cluster.yolo-cluster"), // public endpoint open to 0.0.0.0/0
        ("CKV_AWS_39", "aws_eks_cluster.yolo-cluster"), // public endpoint on
        ("CKV_AWS_37", "aws_eks_cluster.yolo-cluster"), // not every control-plane log type
    ] {
        assert!(
            failed.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} among the failed checks: {failed:#?}"
        );
    }
}

/// The policy's `deny` and `warn` messages for one plan.
fn policy(plan: &Json) -> (BTreeSet<String>, BTreeSet<String>) {
    let root = girder_testing::tools::workspace_root().expect("the workspace");
    let mut engine = regorus::Engine::new();
    engine
        .add_policy_from_file(root.join("tests/policies/terraform_plan.rego"))
        .expect("the policy parses");
    engine.set_input_json(&plan.to_string()).unwrap();
    let mut rule = |name: &str| -> BTreeSet<String> {
        let value = engine
            .eval_rule(format!("data.main.{name}"))
            .unwrap_or_else(|e| panic!("data.main.{name}: {e}"));
        let json: Json = serde_json::from_str(&value.to_json_str().unwrap()).unwrap();
        json.as_array()
            .into_iter()
            .flatten()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect()
    };
    (rule("deny"), rule("warn"))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_rego_policy_for_terraform_plans_runs_unchanged() {
    let dir = TempDir::new().unwrap();
    let (_, yolo) = plan(&bin("yolo"), dir.path());
    let (deny, warn) = policy(&yolo);
    assert_eq!(
        deny,
        set(&[
            "aws_eks_cluster.yolo-cluster: the public API endpoint is open to 0.0.0.0/0",
            "aws_eks_cluster.yolo-cluster: secrets are not encrypted with a KMS key (encryption_config)",
        ])
    );
    assert_eq!(
        warn,
        set(&[
            "aws_eks_cluster.yolo-cluster: control-plane log type audit is not enabled",
            "aws_eks_cluster.yolo-cluster: control-plane log type authenticator is not enabled",
        ])
    );

    // The flow-log rule is found only through `configuration`: without the flow log, it denies.
    let mut without = yolo.clone();
    without["configuration"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["type"] != "aws_flow_log");
    assert!(
        policy(&without)
            .0
            .contains("aws_vpc.main-vpc: no aws_flow_log captures this VPC's traffic")
    );

    // Trust policies are JSON strings the policy parses.
    let roles: Vec<&Json> = yolo["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["type"] == "aws_iam_role" && c["change"]["after"]["assume_role_policy"].is_string()
        })
        .collect();
    assert!(roles.len() >= 3, "{roles:#?}");

    // The state bucket is versioned and blocks public access: nothing to deny. Without its
    // versioning resource, the policy says so.
    let other = TempDir::new().unwrap();
    let (_, backend) = plan(&bin("state_backend"), other.path());
    assert_eq!(policy(&backend), (set(&[]), set(&[])));
    let bucket = backend["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "aws_s3_bucket")
        .unwrap()["address"]
        .clone();
    let mut unversioned = backend.clone();
    unversioned["resource_changes"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["type"] != "aws_s3_bucket_versioning");
    assert_eq!(
        policy(&unversioned).0,
        set(&[&format!(
            "{}: versioning is not enabled (aws_s3_bucket_versioning)",
            bucket.as_str().unwrap()
        )])
    );
}

/// The same policy through `plan --policy`, in-process: the same findings as the library
/// gives on the printed plan, the plan refused on its two denies, and a waiver with its reason.
#[test]
fn plan_policy_runs_the_same_policy_and_enforces_it() {
    let dir = TempDir::new().unwrap();
    let root = girder_testing::tools::workspace_root().expect("the workspace");
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::copy(
        root.join("tests/policies/terraform_plan.rego"),
        policies.join("terraform_plan.rego"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(bin("yolo"))
            .current_dir(dir.path())
            .env("GIRDER_PASSPHRASE", "e2e passphrase")
            .env("NO_COLOR", "1")
            .env_remove("GIRDER_STATE")
            .env_remove("GIRDER_STACK")
            .env_remove("GIRDER_KUBECONFIG")
            .env_remove("KUBECONFIG")
            .env_remove("AWS_ENDPOINT_URL")
            .args(["plan", "--refresh=false", "--policy"])
            .arg(&policies)
            .args(args)
            .output()
            .unwrap()
    };
    let refused = run(&["--format", "terraform-json"]);
    assert_eq!(refused.status.code(), Some(1));
    let document: Json = serde_json::from_slice(&refused.stdout).expect("one JSON document");
    let findings = |outcome: &str| -> BTreeSet<String> {
        document["policy_results"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["outcome"] == outcome)
            .map(|f| f["message"].as_str().unwrap().to_owned())
            .collect()
    };
    // What the library finds on the plan document printed beside the results.
    let mut printed = document.clone();
    printed.as_object_mut().unwrap().remove("policy_results");
    let (deny, warn) = policy(&printed);
    assert_eq!(findings("violation"), deny);
    assert_eq!(findings("warning"), warn);
    assert_eq!(deny.len(), 2, "{deny:?}");

    std::fs::write(
        policies.join("waivers.toml"),
        r#"
[[waiver]]
resource = "aws_eks_cluster.yolo-cluster"
rule = "main.deny"
reason = "the seed keeps its public endpoint and unencrypted secrets; the platform example changes both"
"#,
    )
    .unwrap();
    let waived = run(&[]);
    let out = String::from_utf8_lossy(&waived.stdout);
    assert!(
        waived.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&waived.stderr)
    );
    assert!(
        out.contains("Policies: 0 violations, 2 warnings, 2 waived (1 policy file)"),
        "{out}"
    );
    assert!(
        out.contains("(waived: the seed keeps its public endpoint"),
        "{out}"
    );
}

/// girder's built-in pack on the seed: every finding is either fixed in the example or waived
/// with its reason in `examples/policy/yolo-waivers.toml` (and no waiver there is stale); the
/// state backend passes the pack as it is. Without the waivers, the two mandatory findings
/// stop the plan, each naming the resource, the field, the fix and the benchmark item.
#[test]
fn the_builtin_pack_on_the_seed_is_fixed_or_waived() {
    let dir = TempDir::new().unwrap();
    let root = girder_testing::tools::workspace_root().expect("the workspace");
    let waivers = root.join("examples/policy/yolo-waivers.toml");
    let run = |program: &str, args: &[&str]| {
        let output = Command::new(bin(program))
            .current_dir(dir.path())
            .env("GIRDER_PASSPHRASE", "e2e passphrase")
            .env("NO_COLOR", "1")
            .env_remove("GIRDER_STATE")
            .env_remove("GIRDER_STACK")
            .env_remove("GIRDER_KUBECONFIG")
            .env_remove("KUBECONFIG")
            .env_remove("AWS_ENDPOINT_URL")
            .args(["plan", "--refresh=false", "--builtin-policies"])
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output, text)
    };
    let (refused, text) = run("yolo", &[]);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✗ girder.eks.deny_secrets_encryption: aws_eks_cluster.yolo-cluster: encryption_config: Kubernetes Secrets are not envelope-encrypted with a KMS key; give the cluster a customer-managed KMS key for `secrets` [CIS Amazon EKS Benchmark 5.3.1]"),
        "{text}"
    );
    assert!(
        text.contains("✗ girder.eks.deny_public_endpoint_open: aws_eks_cluster.yolo-cluster: vpc_config.public_access_cidrs: the public API endpoint is open to 0.0.0.0/0"),
        "{text}"
    );

    let (waived, text) = run(
        "yolo",
        &["--format", "json", "--waivers", waivers.to_str().unwrap()],
    );
    assert!(waived.status.success(), "{text}");
    let document: Json = serde_json::from_slice(&waived.stdout).unwrap();
    let results = &document["policy_results"];
    let findings = results["findings"].as_array().unwrap();
    assert!(findings.len() >= 6, "{results:#}");
    for finding in findings {
        assert_eq!(finding["outcome"], "waived", "not waived: {finding:#}");
        assert!(!finding["reason"].as_str().unwrap().is_empty());
        assert!(finding["details"]["benchmark"].is_string(), "{finding:#}");
    }
    assert_eq!(
        results["unused_waivers"],
        serde_json::json!([]),
        "stale waivers"
    );

    let (state_backend, text) = run("state_backend", &[]);
    assert!(state_backend.status.success(), "{text}");
    assert!(
        text.contains("Policies: 0 violations, 0 warnings, 0 waived (6 policy files)"),
        "{text}"
    );
}
