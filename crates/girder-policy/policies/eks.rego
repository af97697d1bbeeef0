# The EKS control plane: secrets encryption, control-plane logs, endpoint exposure.
package girder.eks

import data.girder.lib
import rego.v1

deny_secrets_encryption contains f if {
	some rc in lib.planned("aws_eks_cluster")
	count(object.get(rc.change.after, "encryption_config", [])) == 0
	f := lib.finding(
		rc, "encryption_config",
		"Kubernetes Secrets are not envelope-encrypted with a KMS key",
		"give the cluster a customer-managed KMS key for `secrets`",
		"CIS Amazon EKS Benchmark 5.3.1",
	)
}

warn_control_plane_logs contains f if {
	some rc in lib.planned("aws_eks_cluster")
	enabled := {t | some t in object.get(rc.change.after, "enabled_cluster_log_types", [])}
	missing := {"api", "audit", "authenticator", "controllerManager", "scheduler"} - enabled
	count(missing) > 0
	f := lib.finding(
		rc, "enabled_cluster_log_types",
		sprintf("control-plane log types %v are not sent to CloudWatch Logs", [sort(missing)]),
		"enable every log type (at least audit and authenticator)",
		"CIS Amazon EKS Benchmark 2.1.1",
	)
}

deny_public_endpoint_open contains f if {
	some rc in lib.planned("aws_eks_cluster")
	some vpc in rc.change.after.vpc_config
	vpc.endpoint_public_access == true
	some cidr in object.get(vpc, "public_access_cidrs", ["0.0.0.0/0"])
	cidr in {"0.0.0.0/0", "::/0"}
	f := lib.finding(
		rc, "vpc_config.public_access_cidrs",
		sprintf("the public API endpoint is open to %s", [cidr]),
		"allow only the networks that administer the cluster, or turn the public endpoint off and use the private one",
		"CIS Amazon EKS Benchmark 5.4.1",
	)
}
