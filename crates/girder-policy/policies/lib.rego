# Helpers of girder's built-in policy pack, over Terraform's JSON plan format.
package girder.lib

import rego.v1

# The resources of one Terraform type that exist after the apply (created, updated or kept).
planned(type) := [rc |
	some rc in input.resource_changes
	rc.type == type
	rc.mode == "managed"
	not rc.change.actions == ["delete"]
]

# Whether the configuration of `address` refers to `target` (a resource address) in `field`.
refers(address, field, target) if {
	some r in input.configuration.root_module.resources
	r.address == address
	some ref in r.expressions[field].references
	refers_to(ref, target)
}

refers_to(ref, target) if ref == target

refers_to(ref, target) if startswith(ref, concat("", [target, "."]))

# A finding: what is wrong, where, and the fix, with the benchmark item it comes from.
finding(rc, field, problem, fix, benchmark) := {
	"msg": sprintf("%s: %s: %s; %s [%s]", [rc.address, field, problem, fix, benchmark]),
	"resource": rc.address,
	"field": field,
	"benchmark": benchmark,
}
