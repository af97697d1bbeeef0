//! What the policies found.

use serde::Serialize;

use crate::Waiver;

/// How much a policy's `deny` rules weigh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// `deny` and `violation` only warn: for rolling a new policy out before it gates.
    Advisory,
    /// `deny` and `violation` stop `apply` (and fail `plan`).
    Mandatory,
}

/// What kind of rule produced a finding, by conftest's conventions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A `deny` or `violation` rule (or one starting `deny_` or `violation_`).
    Deny,
    /// A `warn` rule (or one starting `warn_`).
    Warn,
}

/// What a finding means for the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// A mandatory `deny`: the plan may not be applied.
    Violation,
    /// A `warn`, or an advisory `deny`: shown, not enforced.
    Warning,
    /// Excused for this resource by a waiver.
    Waived {
        /// The waiver's reason.
        reason: String,
    },
}

/// One message of one policy rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The Rego package, without `data.` (`main`).
    pub package: String,
    /// The rule (`deny`, `warn_public_endpoint`, …).
    pub rule: String,
    /// The rule's message.
    pub message: String,
    /// The Terraform address of the resource the finding is about: the message object's
    /// `resource` field, or else the longest planned address the message names.
    pub resource: Option<String>,
    /// The kind of rule.
    pub severity: Severity,
    /// The level its policy directory was loaded with.
    pub enforcement: Enforcement,
    /// What it means for the run.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The rest of a message object (conftest's `details`, metadata), if it had more fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl Finding {
    /// `package.rule`, as waivers name rules.
    pub fn rule_path(&self) -> String {
        format!("{}.{}", self.package, self.rule)
    }
}

/// Everything the policies found in one plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyReport {
    /// The policy files evaluated.
    pub files: usize,
    /// The findings, mandatory violations first, then warnings, then waived ones; in each
    /// group by package, rule and message.
    pub findings: Vec<Finding>,
    /// Waivers that excused nothing in this plan: stale ones to remove (or a typo in the
    /// resource address or rule).
    pub unused_waivers: Vec<Waiver>,
}

impl PolicyReport {
    /// Whether a mandatory violation forbids applying the plan.
    pub fn blocks(&self) -> bool {
        self.violations().next().is_some()
    }

    /// The mandatory violations.
    pub fn violations(&self) -> impl Iterator<Item = &Finding> {
        self.with(|o| matches!(o, Outcome::Violation))
    }

    /// The warnings (`warn` rules and advisory `deny` rules).
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.with(|o| matches!(o, Outcome::Warning))
    }

    /// The findings a waiver excused.
    pub fn waived(&self) -> impl Iterator<Item = &Finding> {
        self.with(|o| matches!(o, Outcome::Waived { .. }))
    }

    fn with(&self, keep: impl Fn(&Outcome) -> bool) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| keep(&f.outcome))
    }

    /// One line: `2 violations, 1 warning, 1 waived (3 policy files)`.
    pub fn summary(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}, {}, {} waived ({})",
            plural(self.violations().count(), "violation", "violations"),
            plural(self.warnings().count(), "warning", "warnings"),
            self.waived().count(),
            plural(self.files, "policy file", "policy files"),
        )
    }
}
