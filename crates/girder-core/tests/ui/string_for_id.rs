// A plain string output is not an id either: ids come from the resource that owns them.
use girder_core::{Input, IntoInput, Output, typed_id};

typed_id!(
    /// A VPC id.
    VpcId
);

fn route_table_in(vpc: impl IntoInput<VpcId>) -> Input<VpcId> {
    vpc.into_input()
}

fn main() {
    let name: Output<String> = Output::known("vpc-123".to_owned());
    route_table_in(&name);
}
