// A subnet id where a VPC id is expected does not compile, and says why.
use girder_core::{FieldPath, Input, IntoInput, NodeId, Output, typed_id};

typed_id!(
    /// A VPC id.
    VpcId
);
typed_id!(
    /// A subnet id.
    SubnetId
);

fn route_table_in(vpc: impl IntoInput<VpcId>) -> Input<VpcId> {
    vpc.into_input()
}

fn main() {
    let subnet: Output<SubnetId> = Output::from_ref(NodeId::for_tests(0), FieldPath::key("id"));
    route_table_in(subnet);
}
