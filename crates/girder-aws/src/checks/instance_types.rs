//! A nodegroup's instance types against the compiled-in catalogue: the type exists, the
//! region offers it, the types share one architecture and it is the AMI type's. Written once
//! for the `Eks` builder and for raw nodegroup inputs (the field names are the same).

use std::collections::BTreeSet;

use crate::ec2::catalogue::{self, Architecture, InstanceType};

/// A problem with a nodegroup's instance types or AMI type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeProblem {
    /// `instance_types` or `ami_type`.
    pub field: &'static str,
    /// The value at fault.
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// Every problem of a nodegroup's `types`, in the program's `region` when it is known at
/// build time, booting `ami_type` when given.
pub(crate) fn problems(
    types: &[&str],
    region: Option<&str>,
    ami_type: Option<&str>,
) -> Vec<TypeProblem> {
    let mut found = Vec::new();
    let mut known: Vec<&'static InstanceType> = Vec::new();
    for name in types {
        if let Some((message, fix)) = super::instance_type_problem(name) {
            found.push(problem("instance_types", name, message, fix));
            continue;
        }
        let Some(instance_type) = catalogue::get(name) else {
            found.push(unknown(name));
            continue;
        };
        if let Some(region) = region
            && instance_type.offered_in(region) == Some(false)
        {
            found.push(not_offered(instance_type, region));
        }
        if !known.iter().any(|k| k.name() == instance_type.name()) {
            known.push(instance_type);
        }
    }
    let shared: Vec<Architecture> = [Architecture::X86_64, Architecture::Arm64]
        .into_iter()
        .filter(|a| known.iter().all(|t| t.supports(*a)))
        .collect();
    if shared.is_empty() && !known.is_empty() {
        found.push(mixed(&known));
    } else if let Some(ami_type) = ami_type
        && let Some(ami_arch) = Architecture::of_ami_type(ami_type)
        && let Some(other) = known.iter().find(|t| !t.supports(ami_arch))
    {
        found.push(ami_mismatch(ami_type, ami_arch, other));
    }
    found
}

fn problem(field: &'static str, value: &str, message: String, fix: String) -> TypeProblem {
    TypeProblem {
        field,
        value: value.to_owned(),
        message,
        fix,
    }
}

fn quoted<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown(name: &str) -> TypeProblem {
    let near = catalogue::nearest(name, 3);
    let fix = match near.split_first() {
        Some((first, [])) => format!("did you mean `{first}`?"),
        Some((first, rest)) => format!(
            "did you mean `{first}`? (also close: {})",
            quoted(rest.iter().copied())
        ),
        None => "use an EC2 instance type such as `t3.medium`".into(),
    };
    problem(
        "instance_types",
        name,
        "EC2 has no such instance type".into(),
        fix,
    )
}

fn not_offered(instance_type: &InstanceType, region: &str) -> TypeProblem {
    // Types offered in the region as large as the one asked for, of its architecture: the
    // smallest first, then the nearest name (the same family's next generation, usually).
    let mut similar: Vec<&InstanceType> = catalogue::catalogue()
        .types()
        .iter()
        .filter(|t| {
            t.offered_in(region) == Some(true)
                && t.vcpus() >= instance_type.vcpus()
                && t.memory_mib() >= instance_type.memory_mib()
                && instance_type.architectures().iter().all(|a| t.supports(*a))
                && t.is_bare_metal() == instance_type.is_bare_metal()
                && t.has_gpus() == instance_type.has_gpus()
        })
        .collect();
    similar.sort_by_key(|t| {
        (
            t.vcpus(),
            t.memory_mib(),
            t.family() != instance_type.family(),
            t.size() != instance_type.size(),
            !t.is_current_generation(),
            t.name(),
        )
    });
    let regions: Vec<&str> = instance_type.regions().take(4).collect();
    let mut fix = String::new();
    if !similar.is_empty() {
        fix = format!(
            "use a similar type offered there, such as {}",
            quoted(similar.iter().take(3).map(|t| t.name()))
        );
    }
    if !regions.is_empty() {
        if !fix.is_empty() {
            fix.push_str("; or ");
        }
        fix.push_str(&format!(
            "deploy to a region offering it ({}{})",
            regions.join(", "),
            if instance_type.regions().count() > regions.len() {
                ", …"
            } else {
                ""
            }
        ));
    }
    problem(
        "instance_types",
        instance_type.name(),
        format!(
            "{region} does not offer the instance type `{}`",
            instance_type.name()
        ),
        fix,
    )
}

fn mixed(known: &[&InstanceType]) -> TypeProblem {
    let by_arch = |arch: Architecture| -> Vec<&str> {
        known
            .iter()
            .filter(|t| t.architectures() == [arch])
            .map(|t| t.name())
            .collect()
    };
    let (x86, arm) = (by_arch(Architecture::X86_64), by_arch(Architecture::Arm64));
    let arches: BTreeSet<String> = known
        .iter()
        .map(|t| format!("`{}` is {}", t.name(), arch_names(t)))
        .collect();
    let first = known
        .first()
        .and_then(|t| t.architectures().first().copied())
        .unwrap_or(Architecture::X86_64);
    let keep = if first == Architecture::X86_64 {
        &x86
    } else {
        &arm
    };
    problem(
        "instance_types",
        &known
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", "),
        format!(
            "a nodegroup boots one AMI, of one architecture, but {}",
            arches.into_iter().collect::<Vec<_>>().join(" and ")
        ),
        format!(
            "keep the {first} types ({}) and move the others to a nodegroup of their own",
            quoted(keep.iter().copied())
        ),
    )
}

fn arch_names(t: &InstanceType) -> String {
    t.architectures()
        .iter()
        .map(Architecture::as_str)
        .collect::<Vec<_>>()
        .join("/")
}

fn ami_mismatch(ami_type: &str, ami_arch: Architecture, other: &InstanceType) -> TypeProblem {
    let (other_ami, example) = match ami_arch {
        Architecture::Arm64 => ("AL2023_x86_64_STANDARD", "t4g.medium"),
        Architecture::X86_64 => ("AL2023_ARM_64_STANDARD", "t3.medium"),
    };
    problem(
        "ami_type",
        ami_type,
        format!(
            "the AMI type is {ami_arch}, but the instance type `{}` is {}",
            other.name(),
            arch_names(other)
        ),
        format!(
            "use an AMI type of the instance types' architecture (such as `{other_ami}`), or {ami_arch} instance types (such as `{example}`)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_of_one_architecture_pass() {
        assert!(problems(&["t3.medium", "t3a.medium"], Some("us-east-1"), None).is_empty());
        assert!(problems(&["t4g.medium"], None, Some("AL2023_ARM_64_STANDARD")).is_empty());
        assert!(problems(&["t3.medium"], Some("xx-unknown-1"), Some("CUSTOM")).is_empty());
    }

    #[test]
    fn each_rule_reports_once() {
        let found = problems(&["t3.mediun"], None, None);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].fix.starts_with("did you mean `t3.medium`?"),
            "{found:?}"
        );

        let found = problems(&["t3.medium", "t4g.medium"], None, None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value, "t3.medium, t4g.medium");
        assert!(
            found[0].message.contains("`t4g.medium` is arm64"),
            "{found:?}"
        );

        let found = problems(&["t3.medium"], None, Some("AL2023_ARM_64_STANDARD"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "ami_type");

        let found = problems(&["T3.medium"], None, None);
        assert_eq!(found[0].message, "not an EC2 instance type");
    }

    #[test]
    fn a_type_the_region_lacks_is_reported_with_alternatives() {
        let missing = catalogue::catalogue()
            .types()
            .iter()
            .find(|t| t.offered_in("af-south-1") == Some(false) && t.regions().next().is_some())
            .expect("some type is not offered in af-south-1");
        let found = problems(&[missing.name()], Some("af-south-1"), None);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.starts_with("af-south-1 does not offer"));
        assert!(
            found[0].fix.contains("deploy to a region offering it"),
            "{found:?}"
        );
    }
}
