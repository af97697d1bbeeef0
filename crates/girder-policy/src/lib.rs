//! Policy as code for girder plans.
//!
//! Policies are Rego, written for Terraform plans and evaluated in-process by `regorus` (no
//! OPA or conftest binary needed). They follow conftest's conventions, so policies a team
//! already runs with `conftest test plan.json` run here unchanged:
//!
//! - every `.rego` file under a policy directory is loaded (sub-directories too);
//! - `input` is the plan in Terraform's JSON plan format (`plan --format terraform-json`);
//! - in every package, the rules `deny`, `violation` and `warn` (and those starting `deny_`,
//!   `violation_` or `warn_`) are read: each member is a message, either a string or an
//!   object with a `msg` field; `deny` and `violation` fail, `warn` advises.
//!
//! On top of that girder adds enforcement levels (a directory can be loaded as advisory, so
//! its `deny` rules only warn — for rolling a new policy out) and waivers: a `waivers.toml`
//! in a policy directory excuses one resource from one rule, with a reason that is shown
//! wherever the finding is.
//!
//! ```
//! use girder_policy::{Enforcement, PolicySet};
//!
//! let mut policies = PolicySet::new();
//! policies
//!     .add_source(
//!         "vpc.rego",
//!         r#"
//!         package main
//!         import rego.v1
//!         deny contains msg if {
//!             some rc in input.resource_changes
//!             rc.type == "aws_vpc"
//!             not rc.change.after.enable_dns_hostnames
//!             msg := sprintf("%s: DNS hostnames are off", [rc.address])
//!         }
//!         "#,
//!         Enforcement::Mandatory,
//!     )
//!     .unwrap();
//! let plan = serde_json::json!({ "resource_changes": [{
//!     "address": "aws_vpc.main", "type": "aws_vpc",
//!     "change": { "actions": ["create"], "after": { "enable_dns_hostnames": false } }
//! }]});
//! let report = policies.evaluate(&plan).unwrap();
//! assert!(report.blocks());
//! assert_eq!(report.findings[0].message, "aws_vpc.main: DNS hostnames are off");
//! assert_eq!(report.findings[0].resource.as_deref(), Some("aws_vpc.main"));
//! ```

mod builtin;
mod error;
mod evaluate;
mod load;
mod report;
mod waivers;

pub use error::PolicyError;
pub use load::{PolicySet, RegoVersion};
pub use report::{Enforcement, Finding, Outcome, PolicyReport, Severity};
pub use waivers::Waiver;
