//! Policies as code on `plan` and `apply`: load the `--policy` directories, evaluate them on
//! the plan in Terraform's JSON plan format, show the findings, refuse on a violation.

use girder_engine::Plan;
use girder_policy::{Enforcement, Outcome, PolicyReport, PolicySet, RegoVersion};

use super::Run;
use crate::CliError;
use crate::args::{PolicyArgs, PolicyLevel, RegoVersionArg};
use crate::display::terraform::terraform_json_with;

impl Run {
    /// Evaluates the policies `args` names on `plan`: `None` when it names none.
    pub(super) fn check_policies(
        &self,
        plan: &Plan,
        args: &PolicyArgs,
    ) -> Result<Option<PolicyReport>, CliError> {
        if args.policy.is_empty()
            && args.advisory_policy.is_empty()
            && args.builtin_policies.is_none()
        {
            if let Some(file) = args.waivers.first() {
                return Err(CliError::Refused(format!(
                    "--waivers {} given without policies to waive: add --policy DIR or --builtin-policies",
                    file.display()
                )));
            }
            return Ok(None);
        }
        let version = match args.rego_version {
            RegoVersionArg::V0 => RegoVersion::V0,
            RegoVersionArg::V1 => RegoVersion::V1,
        };
        let mut policies = PolicySet::new().with_rego_version(version);
        for dir in &args.policy {
            policies.load(dir, Enforcement::Mandatory)?;
        }
        for dir in &args.advisory_policy {
            policies.load(dir, Enforcement::Advisory)?;
        }
        match args.builtin_policies {
            Some(PolicyLevel::Mandatory) => policies.load_builtin(Enforcement::Mandatory)?,
            Some(PolicyLevel::Advisory) => policies.load_builtin(Enforcement::Advisory)?,
            None => {}
        }
        for file in &args.waivers {
            policies.load_waivers(file)?;
        }
        // The same document `plan --format terraform-json` prints, so a policy tried with
        // `conftest test plan.json` sees here exactly what it saw there.
        let input = terraform_json_with(plan, Some(&self.graph));
        Ok(Some(policies.evaluate(&input)?))
    }

    /// Shows `report` after a plan shown by `apply`: lines after the human plan, one `policy`
    /// event in the `--json` stream.
    fn print_policy_report(&self, report: &PolicyReport) {
        if self.global.json {
            let mut event = serde_json::json!({ "event": "policy" });
            if let (Some(fields), Ok(serde_json::Value::Object(report))) =
                (event.as_object_mut(), serde_json::to_value(report))
            {
                fields.extend(report);
            }
            self.say_event(event);
        } else {
            self.say(&self.render_policy_report(report));
        }
    }

    pub(super) fn render_policy_report(&self, report: &PolicyReport) -> String {
        let palette = self.palette();
        let mut lines = vec![format!("\nPolicies: {}", report.summary())];
        for finding in &report.findings {
            let rule = finding.rule_path();
            let line = match &finding.outcome {
                Outcome::Violation => palette.red(&format!("  ✗ {rule}: {}", finding.message)),
                Outcome::Warning => {
                    let advisory = if finding.enforcement == Enforcement::Advisory
                        && finding.severity == girder_policy::Severity::Deny
                    {
                        " (advisory)"
                    } else {
                        ""
                    };
                    palette.yellow(&format!("  ! {rule}{advisory}: {}", finding.message))
                }
                Outcome::Waived { reason } => palette.dim(&format!(
                    "  ~ {rule}: {} (waived: {reason})",
                    finding.message
                )),
            };
            lines.push(line);
        }
        for waiver in &report.unused_waivers {
            let file = waiver
                .file
                .as_ref()
                .map(|f| format!(" in {}", f.display()))
                .unwrap_or_default();
            lines.push(palette.dim(&format!(
                "  unused waiver{file}: {} {} excuses nothing in this plan; remove it, or correct its resource address or rule",
                waiver.resource,
                waiver.rule.as_deref().unwrap_or("(every rule)"),
            )));
        }
        lines.join("\n")
    }

    /// Checks, shows and enforces the policies before `command` (`plan`, `apply`) goes on:
    /// an error when a policy cannot be evaluated or a mandatory rule is violated.
    pub(super) fn enforce_policies(
        &self,
        plan: &Plan,
        args: &PolicyArgs,
        command: &str,
    ) -> Result<(), CliError> {
        if let Some(report) = self.check_policies(plan, args)? {
            self.print_policy_report(&report);
            refuse_on_violations(&report, command)?;
        }
        Ok(())
    }
}

/// An error naming the violations when `report` blocks `command`.
pub(super) fn refuse_on_violations(report: &PolicyReport, command: &str) -> Result<(), CliError> {
    if !report.blocks() {
        return Ok(());
    }
    let violations: Vec<String> = report
        .violations()
        .map(|f| format!("  {}: {}", f.rule_path(), f.message))
        .collect();
    Err(CliError::PolicyViolations(format!(
        "{command} refused: {} mandatory policy violation(s):\n{}\nchange the program so the plan passes, or waive a rule for one resource in the policy directory's waivers.toml with a reason",
        violations.len(),
        violations.join("\n")
    )))
}

/// `document` (a plan as JSON) with the policy results added, when there are any.
pub(super) fn with_policy_results(
    mut document: serde_json::Value,
    report: Option<&PolicyReport>,
) -> serde_json::Value {
    if let (Some(report), Some(fields)) = (report, document.as_object_mut()) {
        fields.insert(
            "policy_results".into(),
            serde_json::to_value(report).unwrap_or_default(),
        );
    }
    document
}
