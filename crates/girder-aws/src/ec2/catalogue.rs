//! The EC2 instance types, compiled in, so a program's instance types are checked when it is
//! built (no AWS call): a misspelt or retired type, or one the region does not offer, fails at
//! plan instead of ten minutes into a nodegroup's create.
//!
//! The data is `instance_types.tsv`, written by `scripts/ec2-instance-types.py` from the EC2
//! API (`DescribeRegions`, `DescribeInstanceTypeOfferings`, `DescribeInstanceTypes`); its
//! header says how it was generated. It is parsed once, at first use.
//!
//! ```
//! use girder_aws::ec2::catalogue::{self, Architecture};
//! let t3 = catalogue::get("t3.medium").expect("a known type");
//! assert_eq!((t3.vcpus(), t3.memory_mib()), (2, 4096));
//! assert!(t3.supports(Architecture::X86_64));
//! assert_eq!(t3.eks_max_pods(), 17);
//! assert!(catalogue::get("t3.mediun").is_none());
//! assert_eq!(catalogue::nearest("t3.mediun", 1), ["t3.medium"]);
//! ```

use std::fmt;
use std::sync::OnceLock;

/// The generated data (see the module docs).
const DATA: &str = include_str!("instance_types.tsv");

/// A CPU architecture an instance type runs (and so the architecture of the AMI it boots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Architecture {
    /// 64-bit x86 (Intel, AMD).
    X86_64,
    /// 64-bit Arm (AWS Graviton).
    Arm64,
}

impl Architecture {
    /// The EC2 name (`x86_64`, `arm64`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The architecture an EKS AMI type boots (`AL2023_ARM_64_STANDARD` → arm64), or `None`
    /// for `CUSTOM` and names girder cannot place.
    pub fn of_ami_type(ami_type: &str) -> Option<Architecture> {
        if ami_type.contains("ARM_64") {
            Some(Architecture::Arm64)
        } else if ami_type.contains("x86_64") || ami_type.starts_with("WINDOWS_") {
            // Windows AMIs exist for x86_64 only.
            Some(Architecture::X86_64)
        } else {
            None
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One EC2 instance type, as `DescribeInstanceTypes` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceType {
    name: &'static str,
    x86_64: bool,
    arm64: bool,
    vcpus: u32,
    memory_mib: u64,
    max_enis: u32,
    ipv4_per_eni: u32,
    current_generation: bool,
    bare_metal: bool,
    gpus: bool,
    /// Bit `i` is set when region `i` of [`Catalogue::regions`] offers the type.
    regions: u64,
}

/// What a node leaves for pods, by EKS's formula (the EKS AMIs' bootstrap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocatable {
    /// Pods the node takes with the VPC CNI (one IP address each).
    pub max_pods: u32,
    /// CPU for pods, in millicores: capacity minus kube-reserved CPU.
    pub cpu_millis: u64,
    /// Memory for pods, in MiB: capacity minus kube-reserved memory and the 100Mi eviction
    /// threshold.
    pub memory_mib: u64,
}

impl InstanceType {
    /// The name, such as `m7i.large`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The family, such as `m7i` (the part before the dot).
    pub fn family(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(f, _)| f)
    }

    /// The size, such as `large` (the part after the dot).
    pub fn size(&self) -> &'static str {
        self.name.split_once('.').map_or("", |(_, s)| s)
    }

    /// Whether the type runs `architecture`.
    pub fn supports(&self, architecture: Architecture) -> bool {
        match architecture {
            Architecture::X86_64 => self.x86_64,
            Architecture::Arm64 => self.arm64,
        }
    }

    /// The architectures the type runs.
    pub fn architectures(&self) -> Vec<Architecture> {
        [Architecture::X86_64, Architecture::Arm64]
            .into_iter()
            .filter(|a| self.supports(*a))
            .collect()
    }

    /// Default vCPUs.
    pub fn vcpus(&self) -> u32 {
        self.vcpus
    }

    /// Memory in MiB.
    pub fn memory_mib(&self) -> u64 {
        self.memory_mib
    }

    /// The most network interfaces an instance takes.
    pub fn max_network_interfaces(&self) -> u32 {
        self.max_enis
    }

    /// The IPv4 addresses each network interface takes.
    pub fn ipv4_per_interface(&self) -> u32 {
        self.ipv4_per_eni
    }

    /// Whether EC2 calls the type current generation.
    pub fn is_current_generation(&self) -> bool {
        self.current_generation
    }

    /// Whether the type is bare metal.
    pub fn is_bare_metal(&self) -> bool {
        self.bare_metal
    }

    /// Whether the type has GPUs.
    pub fn has_gpus(&self) -> bool {
        self.gpus
    }

    /// Whether `region` offers the type, or `None` when the catalogue has no offerings for
    /// the region (a region newer than the data: the check is skipped, not failed).
    pub fn offered_in(&self, region: &str) -> Option<bool> {
        let index = catalogue().region_index(region)?;
        Some(self.regions & (1 << index) != 0)
    }

    /// The regions offering the type, in the catalogue's (alphabetical) order.
    pub fn regions(&self) -> impl Iterator<Item = &'static str> + '_ {
        catalogue()
            .regions
            .iter()
            .enumerate()
            .filter(|(i, _)| self.regions & (1 << i) != 0)
            .map(|(_, r)| *r)
    }

    /// The pods EKS lets a node run with the VPC CNI: one address per pod on every network
    /// interface but the interface's own, plus two host-network pods (`aws-node`,
    /// `kube-proxy`) — the numbers in EKS's `eni-max-pods.txt`.
    pub fn eks_max_pods(&self) -> u32 {
        self.max_enis
            .saturating_mul(self.ipv4_per_eni.saturating_sub(1))
            .saturating_add(2)
    }

    /// What a node of this type leaves for pods in EKS.
    pub fn eks_allocatable(&self) -> Allocatable {
        let max_pods = self.eks_max_pods();
        // kube-reserved memory: 255Mi + 11Mi per pod; then the 100Mi hard eviction threshold.
        let reserved_mib = 255 + 11 * u64::from(max_pods) + 100;
        Allocatable {
            max_pods,
            cpu_millis: (u64::from(self.vcpus) * 1000)
                .saturating_sub(reserved_cpu_millis(self.vcpus)),
            memory_mib: self.memory_mib.saturating_sub(reserved_mib),
        }
    }
}

/// kube-reserved CPU as the EKS AMIs compute it: 6% of the first core, 1% of the second,
/// 0.5% of the next two and 0.25% of any above four, each range rounded down in millicores
/// (the bootstrap script's integer arithmetic).
pub fn reserved_cpu_millis(vcpus: u32) -> u64 {
    let total = u64::from(vcpus) * 1000;
    // (range start, range end, hundredths of a percent reserved)
    let ranges = [
        (0, 1000, 600),
        (1000, 2000, 100),
        (2000, 4000, 50),
        (4000, u64::MAX, 25),
    ];
    ranges
        .iter()
        .filter(|(start, _, _)| total > *start)
        .map(|(start, end, rate)| (total.min(*end) - start) * rate / 10_000)
        .sum()
}

/// The whole catalogue.
#[derive(Debug)]
pub struct Catalogue {
    regions: Vec<&'static str>,
    types: Vec<InstanceType>,
}

impl Catalogue {
    /// Every instance type, sorted by name.
    pub fn types(&self) -> &[InstanceType] {
        &self.types
    }

    /// The regions the catalogue has offerings for, sorted.
    pub fn regions(&self) -> &[&'static str] {
        &self.regions
    }

    fn region_index(&self, region: &str) -> Option<usize> {
        self.regions.iter().position(|r| *r == region)
    }
}

/// The catalogue, parsed at first use.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| parse(DATA))
}

/// The instance type called `name`.
pub fn get(name: &str) -> Option<&'static InstanceType> {
    let types = &catalogue().types;
    types
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .map(|i| &types[i])
}

/// Up to `n` known names nearest to `name` by edit distance (for "did you mean"): closest
/// first, then current generation, then by name.
pub fn nearest(name: &str, n: usize) -> Vec<&'static str> {
    let mut scored: Vec<(usize, bool, &'static str)> = catalogue()
        .types
        .iter()
        .map(|t| (edit_distance(name, t.name), !t.current_generation, t.name))
        .collect();
    scored.sort_unstable();
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, name)| name)
        .collect()
}

/// Levenshtein distance over bytes (instance type names are ASCII; anything else only
/// counts as more different).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Parses the data file; a line that does not parse is left out (the unit tests check that
/// every line of the committed file parses, so none is in practice).
fn parse(data: &'static str) -> Catalogue {
    let mut regions = Vec::new();
    let mut types = Vec::new();
    for line in data.lines() {
        if let Some(list) = line.strip_prefix("#regions\t") {
            // A mask is a u64: more regions than that would need a wider mask.
            regions = list.split(',').take(64).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            types.extend(parse_type(line));
        }
    }
    types.sort_unstable_by(|a, b| a.name.cmp(b.name));
    Catalogue { regions, types }
}

fn parse_type(line: &'static str) -> Option<InstanceType> {
    let fields: Vec<&'static str> = line.split('\t').collect();
    let [name, arch, vcpus, memory, enis, ipv4, flags, regions] = fields[..] else {
        return None;
    };
    Some(InstanceType {
        name,
        x86_64: arch.split(',').any(|a| a == "x86_64"),
        arm64: arch.split(',').any(|a| a == "arm64"),
        vcpus: vcpus.parse().ok()?,
        memory_mib: memory.parse().ok()?,
        max_enis: enis.parse().ok()?,
        ipv4_per_eni: ipv4.parse().ok()?,
        current_generation: flags.contains('c'),
        bare_metal: flags.contains('m'),
        gpus: flags.contains('g'),
        regions: u64::from_str_radix(regions, 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_data_parses() {
        let lines = DATA
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert_eq!(catalogue().types().len(), lines);
        assert!(catalogue().types().len() > 1000);
        assert!(catalogue().regions().contains(&"us-east-1"));
        assert!(catalogue().regions().len() <= 64);
    }

    #[test]
    fn current_families_are_known() {
        for name in [
            "m7i.large",
            "m7g.large",
            "c7g.xlarge",
            "m8g.large",
            "t4g.medium",
            "r7i.large",
        ] {
            let t = get(name).unwrap_or_else(|| panic!("{name} is in the catalogue"));
            assert!(t.is_current_generation(), "{name}");
        }
        assert!(get("m7g.large").is_some_and(|t| t.supports(Architecture::Arm64)));
        assert!(get("m7i.large").is_some_and(|t| !t.supports(Architecture::Arm64)));
        assert!(get("p5.48xlarge").is_some_and(InstanceType::has_gpus));
        assert!(get("m7i.metal-24xl").is_some_and(InstanceType::is_bare_metal));
        assert_eq!(get("m7i.large").map(InstanceType::family), Some("m7i"));
    }

    #[test]
    fn max_pods_match_eks() {
        // From EKS's eni-max-pods.txt.
        for (name, pods) in [
            ("t3.medium", 17),
            ("m5.large", 29),
            ("t3.micro", 4),
            ("m5.xlarge", 58),
            ("c5.18xlarge", 737),
            ("t4g.medium", 17),
        ] {
            assert_eq!(
                get(name).map(InstanceType::eks_max_pods),
                Some(pods),
                "{name}"
            );
        }
    }

    #[test]
    fn allocatable_follows_the_eks_formula() {
        // 2 vCPUs: 60m + 10m reserved; 4096Mi - (255 + 11 × 17)Mi - 100Mi.
        let t3 = get("t3.medium").map(InstanceType::eks_allocatable);
        assert_eq!(
            t3,
            Some(Allocatable {
                max_pods: 17,
                cpu_millis: 1930,
                memory_mib: 3554
            })
        );
        assert_eq!(reserved_cpu_millis(1), 60);
        assert_eq!(reserved_cpu_millis(4), 80);
        // 8 cores: 80m + 4 × 2.5m.
        assert_eq!(reserved_cpu_millis(8), 90);
        assert_eq!(reserved_cpu_millis(0), 0);
        let m5 = get("m5.large").map(InstanceType::eks_allocatable);
        assert_eq!(m5.map(|a| a.memory_mib), Some(8192 - 255 - 11 * 29 - 100));
    }

    #[test]
    fn offerings_and_suggestions() {
        let t3 = get("t3.medium").expect("known");
        assert_eq!(t3.offered_in("us-east-1"), Some(true));
        assert_eq!(t3.offered_in("xx-nowhere-1"), None);
        assert!(t3.regions().any(|r| r == "eu-west-1"));
        assert_eq!(nearest("t3.mediun", 1), ["t3.medium"]);
        assert_eq!(nearest("", 2).len(), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            Architecture::of_ami_type("AL2023_ARM_64_STANDARD"),
            Some(Architecture::Arm64)
        );
        assert_eq!(
            Architecture::of_ami_type("BOTTLEROCKET_x86_64"),
            Some(Architecture::X86_64)
        );
        assert_eq!(Architecture::of_ami_type("CUSTOM"), None);
    }
}
