# The network: every VPC's traffic is logged.
package girder.network

import data.girder.lib
import rego.v1

deny_vpc_flow_logs contains f if {
	some vpc in lib.planned("aws_vpc")
	not flow_logged(vpc.address)
	f := lib.finding(
		vpc, "aws_flow_log",
		"no flow log captures this VPC's traffic",
		"add a flow log for the VPC (its traffic to CloudWatch Logs or S3)",
		"CIS AWS Foundations Benchmark 1.5.0 3.9",
	)
}

flow_logged(address) if {
	some log in lib.planned("aws_flow_log")
	lib.refers(log.address, "vpc_id", address)
}
