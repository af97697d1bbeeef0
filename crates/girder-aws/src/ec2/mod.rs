//! EC2 networking resources: VPC, subnets, gateways, routing, security groups, flow logs.

pub mod eip;
pub mod flow_log;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod route;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;
