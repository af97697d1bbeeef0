//! Nodegroup instance types checked against the compiled-in EC2 catalogue when the program is
//! built: unknown types, types the region does not offer, mixed architectures, an AMI type of
//! the other architecture. Each diagnostic names resource, field, value and fix, from the
//! builder and from raw inputs alike. No AWS call is made.

use girder_aws::prelude::*;
use girder_core::{Diagnostic, Diagnostics, Severity, Stack, Value, object};
use girder_engine::provider::ProviderPackage;

fn diagnostics_of(build: impl FnOnce(&mut Stack)) -> Diagnostics {
    let mut s = Stack::new("dev");
    build(&mut s);
    match s.finish() {
        Ok(graph) => graph.warnings().clone(),
        Err(diagnostics) => diagnostics,
    }
}

/// A cluster in `region` (when given) with one nodegroup `general` of `types`.
fn cluster(region: Option<&str>, types: &[&str], ami_type: Option<&str>) -> Diagnostics {
    diagnostics_of(|s| {
        let mut vpc = Vpc::new("net").cidr("10.0.0.0/16");
        vpc = match region {
            Some(region) => vpc.region(region).azs(2),
            None => vpc.azs(["us-east-1a", "us-east-1b"]),
        };
        let vpc = vpc
            .private_subnets(Auto)
            .public_subnets(Auto)
            .nat(Nat::Single)
            .eks_cluster("c")
            .add(s);
        let mut group = Eks::nodegroup(OnDemand)
            .name("general")
            .instance_types(types.iter().copied());
        if let Some(ami_type) = ami_type {
            group = group.ami_type(ami_type);
        }
        Eks::new("c").vpc(&vpc).with_nodegroup(group).add(s);
    })
}

fn at<'a>(diagnostics: &'a Diagnostics, field: &str) -> &'a Diagnostic {
    diagnostics
        .iter()
        .find(|d| d.resource.as_deref() == Some("c-general") && d.field.as_deref() == Some(field))
        .unwrap_or_else(|| panic!("no diagnostic for `c-general`.`{field}` in:\n{diagnostics}"))
}

fn raw_nodegroup(inputs: Value) -> Diagnostics {
    girder_aws::package().check("aws:eks/nodegroup", "raw", &inputs)
}

fn types(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|n| Value::from(*n)).collect())
}

#[test]
fn known_types_of_one_architecture_build_cleanly() {
    let diagnostics = cluster(Some("us-east-1"), &["m7g.large", "c7g.large"], None);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    let diagnostics = cluster(None, &["t3.medium"], Some("AL2023_x86_64_STANDARD"));
    assert!(diagnostics.is_empty(), "{diagnostics}");
}

#[test]
fn an_unknown_instance_type_is_refused_with_the_nearest_names() {
    let diagnostics = cluster(None, &["t3.mediun"], None);
    let d = at(&diagnostics, "instance_types");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.message, "EC2 has no such instance type");
    assert_eq!(d.value.as_deref(), Some("t3.mediun"));
    assert!(
        d.fix
            .as_deref()
            .is_some_and(|f| f.starts_with("did you mean `t3.medium`?")),
        "{d}"
    );

    let diagnostics = cluster(None, &["m9z.large"], None);
    let d = at(&diagnostics, "instance_types");
    assert_eq!(d.message, "EC2 has no such instance type");
    assert!(
        d.fix.as_deref().is_some_and(|f| f.contains("did you mean")),
        "{d}"
    );
}

#[test]
fn a_type_the_region_does_not_offer_is_refused_when_the_region_is_known() {
    // af-south-1 offers no m7a (the catalogue's data).
    let diagnostics = cluster(Some("af-south-1"), &["m7a.large"], None);
    let d = at(&diagnostics, "instance_types");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.message,
        "af-south-1 does not offer the instance type `m7a.large`"
    );
    assert_eq!(d.value.as_deref(), Some("m7a.large"));
    let fix = d.fix.as_deref().unwrap_or_default();
    assert!(
        fix.starts_with("use a similar type offered there, such as `"),
        "{fix}"
    );
    assert!(
        fix.contains("deploy to a region offering it (ap-northeast-1"),
        "{fix}"
    );

    // Where the catalogue has no offerings for the region (its data predates the region),
    // the offering is AWS's to check.
    let diagnostics = cluster(Some("ap-southeast-7"), &["m7a.large"], None);
    assert!(diagnostics.is_empty(), "{diagnostics}");
}

#[test]
fn a_nodegroup_of_two_architectures_is_refused() {
    let diagnostics = cluster(None, &["t3.medium", "t4g.medium"], None);
    let d = at(&diagnostics, "instance_types");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.message,
        "a nodegroup boots one AMI, of one architecture, but `t3.medium` is x86_64 and `t4g.medium` is arm64"
    );
    assert_eq!(d.value.as_deref(), Some("t3.medium, t4g.medium"));
    assert_eq!(
        d.fix.as_deref(),
        Some("keep the x86_64 types (`t3.medium`) and move the others to a nodegroup of their own")
    );
}

#[test]
fn the_ami_type_must_match_the_instance_types() {
    let diagnostics = cluster(None, &["t3.medium"], Some("AL2023_ARM_64_STANDARD"));
    let d = at(&diagnostics, "ami_type");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.message,
        "the AMI type is arm64, but the instance type `t3.medium` is x86_64"
    );
    assert_eq!(d.value.as_deref(), Some("AL2023_ARM_64_STANDARD"));
    assert!(
        d.fix
            .as_deref()
            .is_some_and(|f| f.contains("`AL2023_x86_64_STANDARD`") && f.contains("`t4g.medium`")),
        "{d}"
    );
}

/// Programs that declare nodegroups without the builder get the same rules, in the same words.
#[test]
fn raw_nodegroup_inputs_get_the_same_rules() {
    let unknown = raw_nodegroup(object! { "instance_types" => types(&["t3.mediun"]) });
    let built = cluster(None, &["t3.mediun"], None);
    assert_eq!(unknown.len(), 1, "{unknown}");
    let d = unknown.iter().next().expect("one diagnostic");
    assert_eq!(d.resource.as_deref(), Some("raw"));
    assert_eq!(d.field.as_deref(), Some("instance_types"));
    assert_eq!(d.message, at(&built, "instance_types").message);
    assert_eq!(d.fix, at(&built, "instance_types").fix);

    let mixed = raw_nodegroup(object! { "instance_types" => types(&["t3.medium", "t4g.medium"]) });
    assert_eq!(mixed.len(), 1, "{mixed}");
    assert!(mixed.iter().all(|d| d.message.contains("one architecture")));

    let ami = raw_nodegroup(object! {
        "instance_types" => types(&["t4g.medium"]),
        "ami_type" => "BOTTLEROCKET_x86_64",
    });
    let d = ami.iter().next().expect("one diagnostic");
    assert_eq!(d.field.as_deref(), Some("ami_type"));
    assert_eq!(
        d.message,
        "the AMI type is x86_64, but the instance type `t4g.medium` is arm64"
    );

    // A list with an unknown entry is not judged as a whole: the entry could be anything.
    let partly = raw_nodegroup(object! {
        "instance_types" => Value::Array(vec![Value::from("t3.medium"), Value::Unknown]),
        "ami_type" => "AL2023_ARM_64_STANDARD",
    });
    assert!(partly.is_empty(), "{partly}");
}

/// The planned resources of a program with one nodegroup of `types` and a Deployment `web`
/// whose one container requests `cpu` and `memory`, through the package's cross-package check
/// (what the engine runs at plan with every package's resources).
fn pods_fit(types: &[&str], cpu: &str, memory: &str) -> Diagnostics {
    use girder_engine::provider::PlannedResource;
    let group = object! { "instance_types" => self::types(types) };
    let deployment = Value::from_json(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "web", "resources": {"requests": {"cpu": cpu, "memory": memory}}},
        ]}}},
    }));
    girder_aws::package().check_across_packages(&[
        PlannedResource {
            name: "c-general",
            type_name: "aws:eks/nodegroup",
            provider: None,
            inputs: &group,
        },
        PlannedResource {
            name: "web",
            type_name: "k8s:apps/v1:Deployment",
            provider: Some("c-kubernetes"),
            inputs: &deployment,
        },
    ])
}

#[test]
fn a_pod_that_fits_no_node_is_refused_at_plan() {
    // t3.medium: 2 vCPUs, 4096Mi; EKS leaves 1930m and 3554Mi (17 pods).
    assert!(pods_fit(&["t3.medium"], "1500m", "3Gi").is_empty());

    let cpu = pods_fit(&["t3.medium"], "2", "1Gi");
    assert_eq!(cpu.len(), 1, "{cpu}");
    let d = cpu.iter().next().expect("one diagnostic");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.resource.as_deref(), Some("web"));
    assert_eq!(
        d.field.as_deref(),
        Some("spec.template.spec.containers[0].resources.requests.cpu")
    );
    assert_eq!(d.value.as_deref(), Some("2"));
    assert_eq!(
        d.message,
        "the pods of `web` request 2000m CPU, more than any node of the program's nodegroups has allocatable: the most is 1930m, on `t3.medium`"
    );
    assert_eq!(
        d.fix.as_deref(),
        Some(
            "add a larger instance type to a nodegroup, such as `t3.xlarge` (3920m CPU and 15391Mi allocatable), or lower the request"
        )
    );

    let memory = pods_fit(&["t3.medium", "t3a.medium"], "500m", "4Gi");
    let d = memory.iter().next().expect("one diagnostic");
    assert_eq!(
        d.field.as_deref(),
        Some("spec.template.spec.containers[0].resources.requests.memory")
    );
    assert_eq!(d.value.as_deref(), Some("4Gi"));
    assert!(
        d.message
            .ends_with("request 4096Mi of memory, more than any node of the program's nodegroups has allocatable: the most is 3554Mi, on `t3.medium`"),
        "{d}"
    );

    // Nothing fits 1000 CPUs: the fix says to ask for less.
    let huge = pods_fit(&["m7i.large"], "1000", "1Gi");
    let d = huge.iter().next().expect("one diagnostic");
    assert_eq!(
        d.fix.as_deref(),
        Some("lower the request: no EC2 instance type has that much allocatable")
    );
}
