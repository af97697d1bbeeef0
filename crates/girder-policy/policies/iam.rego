# IAM: roles for service accounts (IRSA) trust one service account, not the whole cluster.
package girder.iam

import data.girder.lib
import rego.v1

deny_irsa_unscoped contains f if {
	some rc in lib.planned("aws_iam_role")
	is_string(rc.change.after.assume_role_policy)
	some statement in json.unmarshal(rc.change.after.assume_role_policy).Statement
	statement.Effect == "Allow"
	web_identity(statement)
	not names_service_account(statement)
	f := lib.finding(
		rc, "assume_role_policy",
		"the OIDC trust does not name a service account (no StringEquals condition on `:sub`), so every pod of the cluster can assume the role",
		"condition the trust on `<issuer>:sub` = `system:serviceaccount:<namespace>:<name>` (girder's IRSA role does)",
		"Amazon EKS Best Practices Guide, Security: IAM 'Scope the IAM Role trust policy for IRSA'",
	)
}

web_identity(statement) if contains(statement.Action, "AssumeRoleWithWebIdentity")

web_identity(statement) if {
	some action in statement.Action
	contains(action, "AssumeRoleWithWebIdentity")
}

names_service_account(statement) if {
	some key, value in statement.Condition.StringEquals
	endswith(key, ":sub")
	startswith(value, "system:serviceaccount:")
}
