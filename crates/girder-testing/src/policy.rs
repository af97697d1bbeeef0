//! Policy assertions on plans made in memory: a module's tests check it against the same
//! policies `plan --policy` and `plan --builtin-policies` run, with no cloud and no CLI.
//!
//! ```
//! use girder_testing::plan::TestProgram;
//! use girder_testing::policy::{Enforcement, PolicySet};
//! use girder_testing::sim::SimResource;
//!
//! let mut policies = PolicySet::new();
//! policies
//!     .add_source(
//!         "zones.rego",
//!         r#"package main
//!         import rego.v1
//!         deny contains msg if {
//!             some rc in input.resource_changes
//!             rc.change.after.zone == "b"
//!             msg := sprintf("%s: zone b is being retired", [rc.address])
//!         }"#,
//!         Enforcement::Mandatory,
//!     )
//!     .unwrap();
//! let good = TestProgram::new()
//!     .plan(|s| {
//!         SimResource::new("db").zone("a").add(s);
//!     })
//!     .unwrap();
//! good.assert_policies_pass(&policies);
//! let bad = TestProgram::new()
//!     .plan(|s| {
//!         SimResource::new("db").zone("b").add(s);
//!     })
//!     .unwrap();
//! bad.assert_policy_finds(&policies, "main.deny", "db");
//! ```

pub use girder_policy::{Enforcement, Finding, Outcome, PolicyReport, PolicySet, Waiver};

use crate::plan::PlanView;

impl PlanView {
    /// The plan in Terraform's JSON plan format, as `plan --format terraform-json` prints it
    /// (the input policies see).
    pub fn terraform_json(&self) -> serde_json::Value {
        girder_cli::display::terraform::terraform_json_with(self.plan(), Some(self.graph()))
    }

    /// The findings of `policies` on this plan. Panics, with the policy's file and line, if a
    /// policy cannot be evaluated.
    pub fn check_policies(&self, policies: &PolicySet) -> PolicyReport {
        policies
            .evaluate(&self.terraform_json())
            .unwrap_or_else(|e| panic!("the policies could not be checked: {e}"))
    }

    /// Panics listing every mandatory violation of `policies`, if there are any.
    pub fn assert_policies_pass(&self, policies: &PolicySet) {
        let report = self.check_policies(policies);
        let violations: Vec<String> = report.violations().map(describe).collect();
        assert!(
            violations.is_empty(),
            "the plan violates {} mandatory polic(ies):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }

    /// Panics unless rule `rule` (`package.rule`, as findings name it) has a finding — of any
    /// outcome — about the girder resource `resource`; returns it.
    pub fn assert_policy_finds(&self, policies: &PolicySet, rule: &str, resource: &str) -> Finding {
        let document = self.terraform_json();
        let addresses: Vec<&str> = document["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|rc| rc["girder"]["resource"] == resource)
            .filter_map(|rc| rc["address"].as_str())
            .collect();
        if addresses.is_empty() {
            let names: Vec<&str> = self.resources().map(|r| r.name()).collect();
            panic!(
                "the plan has no resource `{resource}`; it has: {}",
                names.join(", ")
            );
        }
        let report = policies
            .evaluate(&document)
            .unwrap_or_else(|e| panic!("the policies could not be checked: {e}"));
        let found = report.findings.iter().find(|f| {
            f.rule_path() == rule
                && f.resource
                    .as_deref()
                    .is_some_and(|r| addresses.contains(&r))
        });
        match found {
            Some(finding) => finding.clone(),
            None => panic!(
                "`{rule}` finds nothing about `{resource}` ({}); it found:\n{}",
                addresses.join(", "),
                report
                    .findings
                    .iter()
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

fn describe(finding: &Finding) -> String {
    format!("  {}: {}", finding.rule_path(), finding.message)
}
