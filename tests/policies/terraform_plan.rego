# A conftest-style policy written for Terraform plans (`terraform show -json`): it knows only
# Terraform's plan format and the Terraform AWS provider's vocabulary, nothing of girder.
# tests/terraform_plan.rs runs it unchanged on girder's plans (`plan --format terraform-json`).
package main

import rego.v1

# The resources the plan creates, updates or keeps, of one Terraform type.
planned(type) := [rc |
	some rc in input.resource_changes
	rc.type == type
	rc.mode == "managed"
	not rc.change.actions == ["delete"]
]

# The configuration of the resource at `address`.
configured(address) := [r |
	some r in input.configuration.root_module.resources
	r.address == address
]

# CIS EKS 5.4.2: the public API endpoint must not be open to the whole internet.
deny contains msg if {
	some rc in planned("aws_eks_cluster")
	some vpc in rc.change.after.vpc_config
	vpc.endpoint_public_access == true
	"0.0.0.0/0" in vpc.public_access_cidrs
	msg := sprintf("%s: the public API endpoint is open to 0.0.0.0/0", [rc.address])
}

# CIS EKS 5.3.1: Kubernetes secrets are encrypted with a KMS key.
deny contains msg if {
	some rc in planned("aws_eks_cluster")
	count(object.get(rc.change.after, "encryption_config", [])) == 0
	msg := sprintf("%s: secrets are not encrypted with a KMS key (encryption_config)", [rc.address])
}

# CIS EKS 2.1.1: every control-plane log type goes to CloudWatch Logs.
warn contains msg if {
	some rc in planned("aws_eks_cluster")
	some log_type in ["api", "audit", "authenticator", "controllerManager", "scheduler"]
	not log_type in rc.change.after.enabled_cluster_log_types
	msg := sprintf("%s: control-plane log type %s is not enabled", [rc.address, log_type])
}

# CIS AWS 3.9: every VPC has a flow log. The VPC's id is known only after apply, so the flow
# log is found by the reference its configuration makes.
deny contains msg if {
	some vpc in planned("aws_vpc")
	not has_flow_log(vpc.address)
	msg := sprintf("%s: no aws_flow_log captures this VPC's traffic", [vpc.address])
}

has_flow_log(address) if {
	some flow_log in planned("aws_flow_log")
	some config in configured(flow_log.address)
	sprintf("%s.id", [address]) in config.expressions.vpc_id.references
}

# CIS AWS 5.2: no ingress from the whole internet to administration ports.
deny contains msg if {
	some rc in planned("aws_vpc_security_group_ingress_rule")
	rc.change.after.cidr_ipv4 == "0.0.0.0/0"
	some port in [22, 3389]
	rc.change.after.from_port <= port
	port <= rc.change.after.to_port
	msg := sprintf("%s: port %d is open to 0.0.0.0/0", [rc.address, port])
}

# No role anyone may assume.
deny contains msg if {
	some rc in planned("aws_iam_role")
	is_string(rc.change.after.assume_role_policy)
	some statement in json.unmarshal(rc.change.after.assume_role_policy).Statement
	statement.Effect == "Allow"
	statement.Principal in ["*", {"AWS": "*"}]
	msg := sprintf("%s: anyone may assume this role", [rc.address])
}

# S3 buckets keep every version of every object.
deny contains msg if {
	some bucket in planned("aws_s3_bucket")
	not versioned(bucket.address)
	msg := sprintf("%s: versioning is not enabled (aws_s3_bucket_versioning)", [bucket.address])
}

versioned(address) if {
	some versioning in planned("aws_s3_bucket_versioning")
	some config in configured(versioning.address)
	sprintf("%s.id", [address]) in config.expressions.bucket.references
	some setting in versioning.change.after.versioning_configuration
	setting.status == "Enabled"
}

# CIS AWS 2.1.4: S3 buckets block every kind of public access.
deny contains msg if {
	some bucket in planned("aws_s3_bucket")
	not public_access_blocked(bucket.address)
	msg := sprintf("%s: public access is not blocked (aws_s3_bucket_public_access_block)", [bucket.address])
}

public_access_blocked(address) if {
	some block in planned("aws_s3_bucket_public_access_block")
	some config in configured(block.address)
	sprintf("%s.id", [address]) in config.expressions.bucket.references
	block.change.after.block_public_acls == true
	block.change.after.block_public_policy == true
	block.change.after.ignore_public_acls == true
	block.change.after.restrict_public_buckets == true
}
