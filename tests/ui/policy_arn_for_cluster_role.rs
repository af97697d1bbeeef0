// An EKS cluster runs as an IAM role: a managed policy's ARN is not a role's ARN.
use girder::prelude::*;

fn main() {
    let mut s = Stack::new("dev");
    let policy = ManagedPolicy::new("eks-extra")
        .document(PolicyDocument::new().statement(Statement::allow(["ec2:Describe*"]).resource("*")))
        .add(&mut s);
    Eks::new("prod").cluster_role(policy.arn()).add(&mut s);
}
