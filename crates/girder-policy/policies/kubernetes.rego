# Kubernetes workloads: pod security, probes, NetworkPolicy coverage. Objects are in the
# Terraform Kubernetes provider's block shape (`spec[0].template[0].spec[0].container[_]`).
package girder.kubernetes

import data.girder.lib
import rego.v1

# Workloads whose pods run until stopped, and those that run to completion.
long_running := {"kubernetes_deployment_v1", "kubernetes_stateful_set_v1", "kubernetes_daemon_set_v1"}

with_pod_template := long_running | {"kubernetes_job_v1"}

# Each workload with its pod spec: [resource change, pod spec].
pods contains [rc, pod] if {
	some type in with_pod_template
	some rc in lib.planned(type)
	some spec in rc.change.after.spec
	some template in spec.template
	some pod in template.spec
}

pods contains [rc, pod] if {
	some rc in lib.planned("kubernetes_cron_job_v1")
	some spec in rc.change.after.spec
	some job in spec.job_template
	some job_spec in job.spec
	some template in job_spec.template
	some pod in template.spec
}

containers contains [rc, pod, c] if {
	some workload in pods
	[rc, pod] := workload
	some kind in ["container", "init_container"]
	some c in object.get(pod, kind, [])
}

namespace(rc) := ns if {
	some metadata in rc.change.after.metadata
	ns := object.get(metadata, "namespace", "default")
} else := "default"

# The first value of a one-element block list, or {}.
first(value, key) := object.get(value, key, [{}])[0]

deny_privileged contains f if {
	some item in containers
	[rc, _, c] := item
	first(c, "security_context").privileged == true
	f := lib.finding(
		rc, sprintf("container %s: security_context.privileged", [c.name]), "the container is privileged",
		"drop `privileged`; grant only the capabilities it needs",
		"CIS Amazon EKS Benchmark 4.2.1",
	)
}

deny_host_namespaces contains f if {
	some workload in pods
	[rc, pod] := workload
	some field in ["host_pid", "host_ipc", "host_network"]
	pod[field] == true
	f := lib.finding(
		rc, sprintf("spec.template.spec.%s", [field]), "the pod shares a namespace of the node",
		sprintf("set %s to false", [field]),
		"CIS Amazon EKS Benchmark 4.2.2-4.2.4",
	)
}

deny_privilege_escalation contains f if {
	some item in containers
	[rc, _, c] := item
	not first(c, "security_context").allow_privilege_escalation == false
	f := lib.finding(
		rc, sprintf("container %s: security_context.allow_privilege_escalation", [c.name]),
		"is not false, so a process can gain more privileges than its parent",
		"set allowPrivilegeEscalation to false (girder's secure defaults do)",
		"CIS Amazon EKS Benchmark 4.2.5",
	)
}

deny_root contains f if {
	some item in containers
	[rc, pod, c] := item
	not first(c, "security_context").run_as_non_root == true
	not first(pod, "security_context").run_as_non_root == true
	not non_root_user(first(c, "security_context"))
	f := lib.finding(
		rc, sprintf("container %s: security_context.run_as_non_root", [c.name]),
		"may run as root (neither the container nor the pod sets runAsNonRoot)",
		"set runAsNonRoot (and a non-zero runAsUser) on the container or the pod",
		"CIS Amazon EKS Benchmark 4.2.6",
	)
}

non_root_user(security_context) if to_number(security_context.run_as_user) > 0

warn_probes contains f if {
	some item in containers
	[rc, _, c] := item
	rc.type in long_running
	some probe in ["readiness_probe", "liveness_probe"]
	count(object.get(c, probe, [])) == 0
	f := lib.finding(
		rc, sprintf("container %s: %s", [c.name, probe]),
		"is not set, so a rollout waits for nothing and a hung process is never restarted",
		"add an HTTP, TCP or exec probe",
		"Amazon EKS Best Practices Guide, Reliability: 'Configure liveness and readiness probes'",
	)
}

deny_network_policy_coverage contains f if {
	some workload in pods
	[rc, _] := workload
	ns := namespace(rc)
	not ns in {"kube-system", "kube-public", "kube-node-lease"}
	not covered(ns)
	f := lib.finding(
		rc, "metadata.namespace",
		sprintf("namespace %s has no NetworkPolicy, so its pods accept traffic from anywhere", [ns]),
		"add a NetworkPolicy (a default deny and the allowed paths) in the namespace",
		"CIS Amazon EKS Benchmark 4.3.2",
	)
}

covered(ns) if {
	some np in lib.planned("kubernetes_network_policy_v1")
	namespace(np) == ns
}
