//! Waivers: one resource excused from one rule, with a reason.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Finding, PolicyError};

/// One resource excused from one rule (or from every rule), with the reason why. Kept in a
/// policy directory's `waivers.toml`:
///
/// ```toml
/// [[waiver]]
/// resource = "aws_eks_cluster.yolo"   # the Terraform address, as in the plan
/// rule = "main.deny"                  # package.rule; omit to waive every rule
/// reason = "secrets encryption comes with the KMS key in the next change"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The Terraform address of the resource (`aws_vpc.main`).
    pub resource: String,
    /// The rule it is excused from, as `package.rule` (`main.deny`), or every rule if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why: shown wherever the finding is.
    pub reason: String,
    /// The file it came from.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

impl Waiver {
    /// A waiver of `rule` (`package.rule`, or `None` for every rule) for `resource`.
    ///
    /// ```
    /// let waiver = girder_policy::Waiver::new("aws_vpc.main", Some("main.deny"), "legacy VPC");
    /// assert_eq!(waiver.resource, "aws_vpc.main");
    /// ```
    pub fn new(resource: &str, rule: Option<&str>, reason: &str) -> Self {
        Waiver {
            resource: resource.to_owned(),
            rule: rule.map(str::to_owned),
            reason: reason.to_owned(),
            file: None,
        }
    }

    /// Whether this waiver excuses `finding`.
    pub fn excuses(&self, finding: &Finding) -> bool {
        finding.resource.as_deref() == Some(self.resource.as_str())
            && self
                .rule
                .as_ref()
                .is_none_or(|rule| *rule == finding.rule_path())
    }

    fn check(&self, path: &Path, index: usize) -> Result<(), PolicyError> {
        let invalid = |message: String| PolicyError::Waivers {
            path: path.to_owned(),
            message,
        };
        if self.resource.trim().is_empty() {
            return Err(invalid(format!(
                "waiver {index}: `resource` is empty: give the Terraform address of the resource the plan shows (e.g. aws_vpc.main)"
            )));
        }
        if self.reason.trim().is_empty() {
            return Err(invalid(format!(
                "waiver {index} for {}: `reason` is empty: say why the rule does not apply to this resource",
                self.resource
            )));
        }
        if let Some(rule) = &self.rule
            && (!rule.contains('.') || rule.starts_with("data."))
        {
            return Err(invalid(format!(
                "waiver {index} for {}: rule `{rule}` is not `package.rule`: write it as the package and rule the finding shows (e.g. main.deny)",
                self.resource
            )));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    waiver: Vec<Waiver>,
}

/// The waivers of a `waivers.toml`.
pub(crate) fn read(path: &Path) -> Result<Vec<Waiver>, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    parse(path, &text)
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<Waiver>, PolicyError> {
    let file: WaiverFile = toml::from_str(text).map_err(|e| PolicyError::Waivers {
        path: path.to_owned(),
        message: format!(
            "{e}\nexpected [[waiver]] tables with `resource`, `reason` and optionally `rule`"
        ),
    })?;
    let mut waivers = file.waiver;
    for (index, waiver) in waivers.iter_mut().enumerate() {
        waiver.check(path, index + 1)?;
        waiver.file = Some(path.to_owned());
    }
    Ok(waivers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiver_needs_a_reason_and_a_package_rule() {
        let path = Path::new("policy/waivers.toml");
        let ok = parse(
            path,
            "[[waiver]]\nresource = \"aws_vpc.a\"\nrule = \"main.deny\"\nreason = \"legacy\"\n",
        )
        .unwrap();
        assert_eq!(ok[0].rule.as_deref(), Some("main.deny"));
        assert_eq!(ok[0].file.as_deref(), Some(path));

        let no_reason = parse(
            path,
            "[[waiver]]\nresource = \"aws_vpc.a\"\nreason = \" \"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(no_reason.contains("waiver 1 for aws_vpc.a: `reason` is empty"));
        let bare_rule = parse(
            path,
            "[[waiver]]\nresource = \"aws_vpc.a\"\nrule = \"deny\"\nreason = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(bare_rule.contains("(e.g. main.deny)"), "{bare_rule}");
        let typo = parse(path, "[[waiver]]\nresource = \"a\"\nreasn = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(typo.contains("reasn"), "{typo}");
        assert!(typo.starts_with("waivers policy/waivers.toml"), "{typo}");
    }
}
