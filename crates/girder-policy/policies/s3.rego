# S3 buckets (the state bucket first): versioned, encrypted at rest, never public.
package girder.s3

import data.girder.lib
import rego.v1

deny_bucket_versioning contains f if {
	some bucket in lib.planned("aws_s3_bucket")
	not versioned(bucket.address)
	f := lib.finding(
		bucket, "aws_s3_bucket_versioning",
		"versioning is not enabled, so an overwritten or deleted object (a state file) is lost",
		"enable versioning on the bucket",
		"AWS Foundational Security Best Practices S3.14",
	)
}

deny_bucket_public_access contains f if {
	some bucket in lib.planned("aws_s3_bucket")
	not public_access_blocked(bucket.address)
	f := lib.finding(
		bucket, "aws_s3_bucket_public_access_block",
		"public access is not blocked in all four ways",
		"block public ACLs and policies, ignore public ACLs and restrict public buckets",
		"CIS AWS Foundations Benchmark 1.5.0 2.1.5",
	)
}

deny_bucket_encryption contains f if {
	some bucket in lib.planned("aws_s3_bucket")
	not encrypted(bucket.address)
	f := lib.finding(
		bucket, "aws_s3_bucket_server_side_encryption_configuration",
		"no default encryption at rest is configured",
		"configure SSE-KMS (or SSE-S3) default encryption",
		"CIS AWS Foundations Benchmark 1.5.0 2.1.1",
	)
}

# The bucket's settings are resources of their own that refer to it (`bucket = aws_s3_bucket.x.id`).
setting(type, address) := [s |
	some s in lib.planned(type)
	lib.refers(s.address, "bucket", address)
]

versioned(address) if {
	some s in setting("aws_s3_bucket_versioning", address)
	some v in s.change.after.versioning_configuration
	v.status == "Enabled"
}

public_access_blocked(address) if {
	some s in setting("aws_s3_bucket_public_access_block", address)
	s.change.after.block_public_acls == true
	s.change.after.block_public_policy == true
	s.change.after.ignore_public_acls == true
	s.change.after.restrict_public_buckets == true
}

encrypted(address) if {
	some s in setting("aws_s3_bucket_server_side_encryption_configuration", address)
	some rule in s.change.after.rule
	some by_default in rule.apply_server_side_encryption_by_default
	by_default.sse_algorithm in {"aws:kms", "aws:kms:dsse", "AES256"}
}
