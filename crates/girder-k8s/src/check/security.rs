//! The secure-by-default rules for containers (the seed's Cluster Security section, made
//! mandatory) and their explicit, per-container opt-outs.
//!
//! Every container must run as non-root with a non-zero user, without privilege escalation,
//! with all capabilities dropped (which covers `NET_RAW`), a read-only root filesystem, the
//! `RuntimeDefault` seccomp profile, and CPU and memory requests and limits. A container that
//! needs an exception carries an annotation on its workload,
//! `security.girder.dev/CONTAINER.SETTING: REASON`, which the DSL writes for
//! `.allow(OptOut::RunAsRoot, "reason")` and which raw manifests can carry too; the reason
//! stays on the object for reviewers and auditors.

use girder_core::{Diagnostic, Diagnostics, Value};

use super::{ContainerView, ObjectView, at};

/// The annotation prefix of security opt-outs.
pub const OPT_OUT_PREFIX: &str = "security.girder.dev/";

/// A security default a container may opt out of, with a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OptOut {
    /// Run as root (`runAsNonRoot: false` or `runAsUser: 0`).
    RunAsRoot,
    /// Allow privilege escalation (or a privileged container).
    PrivilegeEscalation,
    /// Keep or add Linux capabilities instead of dropping ALL.
    Capabilities,
    /// A writable root filesystem.
    WritableRootFilesystem,
    /// A seccomp profile other than `RuntimeDefault` / `Localhost`.
    Seccomp,
    /// No CPU/memory requests or limits.
    Resources,
    /// An image without a version (untagged or `:latest`), and no advice to pin a digest.
    MutableImage,
}

impl OptOut {
    /// Every opt-out.
    pub const ALL: [OptOut; 7] = [
        OptOut::RunAsRoot,
        OptOut::PrivilegeEscalation,
        OptOut::Capabilities,
        OptOut::WritableRootFilesystem,
        OptOut::Seccomp,
        OptOut::Resources,
        OptOut::MutableImage,
    ];

    /// The setting's name in the annotation key.
    pub fn setting(&self) -> &'static str {
        match self {
            OptOut::RunAsRoot => "run-as-root",
            OptOut::PrivilegeEscalation => "privilege-escalation",
            OptOut::Capabilities => "capabilities",
            OptOut::WritableRootFilesystem => "writable-root-filesystem",
            OptOut::Seccomp => "seccomp",
            OptOut::Resources => "resources",
            OptOut::MutableImage => "mutable-image",
        }
    }

    /// The annotation key for `container`.
    pub fn annotation(&self, container: &str) -> String {
        format!("{OPT_OUT_PREFIX}{container}.{}", self.setting())
    }

    /// The DSL call that opts out, for fixes.
    pub(super) fn dsl(&self) -> &'static str {
        match self {
            OptOut::RunAsRoot => "OptOut::RunAsRoot",
            OptOut::PrivilegeEscalation => "OptOut::PrivilegeEscalation",
            OptOut::Capabilities => "OptOut::Capabilities",
            OptOut::WritableRootFilesystem => "OptOut::WritableRootFilesystem",
            OptOut::Seccomp => "OptOut::Seccomp",
            OptOut::Resources => "OptOut::Resources",
            OptOut::MutableImage => "OptOut::MutableImage",
        }
    }
}

struct Rule<'a> {
    object: &'a ObjectView<'a>,
    container: &'a ContainerView<'a>,
    diagnostics: &'a mut Diagnostics,
}

impl Rule<'_> {
    fn opted_out(&self, opt_out: OptOut) -> bool {
        self.object
            .annotations()
            .get(&opt_out.annotation(&self.container.name))
            .is_some_and(|reason| !reason.trim().is_empty())
    }

    fn report(
        &mut self,
        opt_out: OptOut,
        field: &str,
        value: Option<&Value>,
        problem: &str,
        fix: &str,
    ) {
        if self.opted_out(opt_out) {
            return;
        }
        let mut diagnostic = Diagnostic::error(format!(
            "container `{}` of {} {problem}",
            self.container.name,
            self.object.describe()
        ))
        .resource(self.object.resource)
        .field(format!("{}.{field}", self.container.path))
        .fix(format!(
            "{fix}; if the image really needs it, opt out for this container with a reason: `.allow({}, \"why\")` (or the annotation `{}: \"why\"`)",
            opt_out.dsl(),
            opt_out.annotation(&self.container.name)
        ));
        if let Some(value) = value {
            diagnostic = diagnostic.value(value.display());
        }
        self.diagnostics.push(diagnostic);
    }
}

/// Effective setting: the container's, else the pod's.
fn effective<'a>(container: &'a Value, pod: Option<&'a Value>, path: &[&str]) -> Option<&'a Value> {
    let mut full = vec!["securityContext"];
    full.extend_from_slice(path);
    at(container, &full).or_else(|| pod.and_then(|p| at(p, &full)))
}

/// Checks every container of a pod-bearing object against the secure defaults.
pub(crate) fn check(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let pod = object.pod_spec();
    for container in object.containers() {
        let c = container.value;
        let mut rule = Rule {
            object,
            container: &container,
            diagnostics,
        };
        let non_root = effective(c, pod, &["runAsNonRoot"]);
        if non_root.is_none_or(|v| !v.is_unknown() && v.as_bool() != Some(true)) {
            rule.report(
                OptOut::RunAsRoot,
                "securityContext.runAsNonRoot",
                non_root,
                "may run as root",
                "set `runAsNonRoot: true` (the DSL does by default)",
            );
        }
        match effective(c, pod, &["runAsUser"]) {
            None => rule.report(
                OptOut::RunAsRoot,
                "securityContext.runAsUser",
                None,
                "has no `runAsUser`, so it runs as the image's user, which is often root",
                "set a non-zero `runAsUser` such as 10001 (`.run_as_user(10001)`)",
            ),
            Some(user) if user.as_i64() == Some(0) => rule.report(
                OptOut::RunAsRoot,
                "securityContext.runAsUser",
                Some(user),
                "runs as user 0 (root)",
                "set a non-zero `runAsUser` such as 10001",
            ),
            Some(_) => {}
        }
        let escalation = at(c, &["securityContext", "allowPrivilegeEscalation"]);
        if escalation.is_none_or(|v| !v.is_unknown() && v.as_bool() != Some(false)) {
            rule.report(
                OptOut::PrivilegeEscalation,
                "securityContext.allowPrivilegeEscalation",
                escalation,
                "allows privilege escalation",
                "set `allowPrivilegeEscalation: false`",
            );
        }
        if let Some(privileged) = at(c, &["securityContext", "privileged"])
            && privileged.as_bool() == Some(true)
        {
            rule.report(
                OptOut::PrivilegeEscalation,
                "securityContext.privileged",
                Some(privileged),
                "is privileged (full access to the node)",
                "remove `privileged: true`",
            );
        }
        let drop = at(c, &["securityContext", "capabilities", "drop"]);
        let drops_all = drop
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|i| i.as_str() == Some("ALL")));
        if !drops_all && !drop.is_some_and(Value::contains_unknown) {
            rule.report(
                OptOut::Capabilities,
                "securityContext.capabilities.drop",
                drop,
                "keeps Linux capabilities such as NET_RAW",
                "drop them all: `capabilities: {drop: [ALL]}`",
            );
        }
        if let Some(add) = at(c, &["securityContext", "capabilities", "add"])
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            rule.report(
                OptOut::Capabilities,
                "securityContext.capabilities.add",
                Some(&Value::Array(add.to_vec())),
                "adds Linux capabilities",
                "remove `capabilities.add`",
            );
        }
        let read_only = at(c, &["securityContext", "readOnlyRootFilesystem"]);
        if read_only.is_none_or(|v| !v.is_unknown() && v.as_bool() != Some(true)) {
            rule.report(
                OptOut::WritableRootFilesystem,
                "securityContext.readOnlyRootFilesystem",
                read_only,
                "has a writable root filesystem",
                "set `readOnlyRootFilesystem: true` and mount an emptyDir where the program writes (`.writable_dir(\"/tmp\")`)",
            );
        }
        let seccomp = effective(c, pod, &["seccompProfile", "type"]);
        if seccomp.is_none_or(|v| {
            !v.is_unknown() && !matches!(v.as_str(), Some("RuntimeDefault" | "Localhost"))
        }) {
            rule.report(
                OptOut::Seccomp,
                "securityContext.seccompProfile.type",
                seccomp,
                "runs without a seccomp profile",
                "set `seccompProfile: {type: RuntimeDefault}`",
            );
        }
        for (section, resource) in [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "cpu"),
            ("limits", "memory"),
        ] {
            if at(c, &["resources", section, resource]).is_none() {
                rule.report(
                    OptOut::Resources,
                    &format!("resources.{section}.{resource}"),
                    None,
                    &format!("has no {resource} {}", &section[..section.len() - 1]),
                    "set CPU and memory requests and limits (`.resources(Resources::new().cpu(\"100m\", \"500m\").memory(\"128Mi\", \"256Mi\"))`): the scheduler places pods by requests, HPAs scale on them, and limits keep one pod from starving the node",
                );
            }
        }
    }
}
