//! The seed deployment, as the pieces the `yolo`, `yolo_infra` and `yolo_app` programs share.
//!
//! - [`infra`]: the network (three AZs, public/private/intra subnets, one NAT gateway, flow
//!   logs), the EKS cluster (control-plane logs, an ON_DEMAND and a SPOT nodegroup, OIDC), the
//!   Route 53 zone external-dns manages, and the IRSA roles of cluster-autoscaler and
//!   external-dns.
//! - [`platform_and_app`]: metrics-server, cluster-autoscaler, external-dns and the app
//!   (frontend and backend wired by `BACKEND_URL`, autoscalers, locked-down pods).
//! - [`outputs`]: the typed contract between the infra stack and the app stack.

use girder::prelude::*;
use yolo_app::{BackendValues, FrontendValues, YoloApp, YoloAppHandle, YoloAppValues};

/// The cluster's name.
pub const CLUSTER: &str = "yolo";

/// What varies between environments, from the environment (with the seed's values as
/// defaults): `GIRDER_YOLO_REGION`, `GIRDER_YOLO_DOMAIN`, `GIRDER_YOLO_FRONTEND_IMAGE`,
/// `GIRDER_YOLO_BACKEND_IMAGE`, `GIRDER_YOLO_INFRA_STACK`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The AWS region.
    pub region: String,
    /// The DNS zone external-dns manages; the frontend is published as `app.<domain>`.
    pub domain: String,
    /// The frontend image.
    pub frontend_image: String,
    /// The backend image.
    pub backend_image: String,
    /// The stack `yolo_app` reads the infra outputs from.
    pub infra_stack: String,
}

impl Settings {
    /// The settings from the environment.
    pub fn from_env() -> Settings {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Settings {
            region: var("GIRDER_YOLO_REGION", "us-east-1"),
            domain: var("GIRDER_YOLO_DOMAIN", "yolo.example.com"),
            frontend_image: var("GIRDER_YOLO_FRONTEND_IMAGE", "ghcr.io/acme/frontend:2.0"),
            backend_image: var("GIRDER_YOLO_BACKEND_IMAGE", "ghcr.io/acme/backend:1.4"),
            infra_stack: var("GIRDER_YOLO_INFRA_STACK", "yolo-infra"),
        }
    }

    fn azs(&self) -> [String; 3] {
        ["a", "b", "c"].map(|zone| format!("{}{zone}", self.region))
    }
}

/// The typed contract between `yolo_infra` (which exports) and `yolo_app` (which reads).
pub mod outputs {
    use girder::aws::prelude::{HostedZoneId, RoleArn};
    use girder::core::OutputKey;

    /// The cluster's name.
    pub const CLUSTER_NAME: OutputKey<String> = OutputKey::new("cluster_name");
    /// The cluster's API endpoint.
    pub const ENDPOINT: OutputKey<String> = OutputKey::new("cluster_endpoint");
    /// The cluster's certificate authority (base64 PEM).
    pub const CERTIFICATE_AUTHORITY: OutputKey<String> =
        OutputKey::new("cluster_certificate_authority");
    /// The region.
    pub const REGION: OutputKey<String> = OutputKey::new("region");
    /// cluster-autoscaler's IRSA role.
    pub const CLUSTER_AUTOSCALER_ROLE: OutputKey<RoleArn> =
        OutputKey::new("cluster_autoscaler_role_arn");
    /// external-dns's IRSA role.
    pub const EXTERNAL_DNS_ROLE: OutputKey<RoleArn> = OutputKey::new("external_dns_role_arn");
    /// The Route 53 zone.
    pub const ZONE_ID: OutputKey<HostedZoneId> = OutputKey::new("zone_id");
    /// The zone's domain.
    pub const DOMAIN: OutputKey<String> = OutputKey::new("domain");
}

/// The infrastructure's handles.
#[derive(Debug)]
pub struct Infra {
    /// The network.
    pub vpc: VpcHandle,
    /// The cluster.
    pub eks: EksHandle,
    /// The zone external-dns manages.
    pub zone: HostedZoneHandle,
    /// cluster-autoscaler's role.
    pub cluster_autoscaler_role: IamRoleHandle,
    /// external-dns's role.
    pub external_dns_role: IamRoleHandle,
}

/// The network, the cluster, the zone and the add-ons' IAM roles.
pub fn infra(s: &mut Stack, settings: &Settings) -> Infra {
    let vpc = Vpc::new("main")
        .cidr("10.10.0.0/16")
        .region(settings.region.clone())
        .azs(settings.azs().to_vec())
        .public_subnets(Auto)
        .private_subnets(Auto)
        .intra_subnets(Auto)
        .nat(Nat::Single)
        .flow_logs(FlowLogs::cloudwatch().retention_days(30))
        .eks_cluster(CLUSTER)
        .tag("project", "yolo")
        .add(s);

    let eks = Eks::new(CLUSTER)
        .version("1.36")
        .region(settings.region.clone())
        .vpc(&vpc)
        .control_plane_logs([Api, ControllerManager, Scheduler])
        .nodegroups([
            Eks::nodegroup(OnDemand)
                .instance_types(["t3.medium"])
                .size(1..=3, 2),
            Eks::nodegroup(Spot)
                .instance_types(["t3.medium", "t3a.medium"])
                .size(1..=10, 2),
        ])
        .tag("project", "yolo")
        .add(s);

    // The zone's destroy removes what the cluster's external-dns (owner id: the cluster's
    // name, see `platform_and_app`) wrote into it.
    let zone = HostedZone::new(settings.domain.clone())
        .external_dns_owner(CLUSTER)
        .tag("project", "yolo")
        .add(s);

    // IRSA: roles that only `kube-system/<add-on>` can assume, allowed only what it needs.
    let cluster_autoscaler_role = eks
        .service_account_role("kube-system", "cluster-autoscaler")
        .policy("autoscaling", policies::cluster_autoscaler(CLUSTER))
        .add(s);
    let external_dns_role = eks
        .service_account_role("kube-system", "external-dns")
        .policy("route53", policies::external_dns([zone.arn()]))
        .add(s);

    Infra {
        vpc,
        eks,
        zone,
        cluster_autoscaler_role,
        external_dns_role,
    }
}

/// Exports the infra stack's half of [`outputs`].
pub fn export_infra(s: &mut Stack, infra: &Infra, settings: &Settings) {
    s.export_key(outputs::CLUSTER_NAME, infra.eks.name());
    s.export_key(outputs::ENDPOINT, infra.eks.endpoint());
    s.export_key(
        outputs::CERTIFICATE_AUTHORITY,
        infra.eks.certificate_authority_data(),
    );
    s.export_key(outputs::REGION, settings.region.clone());
    s.export_key(
        outputs::CLUSTER_AUTOSCALER_ROLE,
        infra.cluster_autoscaler_role.arn(),
    );
    s.export_key(outputs::EXTERNAL_DNS_ROLE, infra.external_dns_role.arn());
    s.export_key(outputs::ZONE_ID, infra.zone.zone_id());
    s.export_key(outputs::DOMAIN, settings.domain.clone());
}

/// What the platform needs from the infrastructure.
pub struct ClusterFacts {
    /// The cluster's name.
    pub cluster_name: Output<String>,
    /// cluster-autoscaler's role.
    pub cluster_autoscaler_role: Output<RoleArn>,
    /// external-dns's role.
    pub external_dns_role: Output<RoleArn>,
}

/// metrics-server, cluster-autoscaler, external-dns and the app, on the cluster `k8s`.
pub fn platform_and_app(
    s: &mut Stack,
    k8s: &ProviderHandle,
    facts: ClusterFacts,
    settings: &Settings,
) -> YoloAppHandle {
    let metrics = MetricsServer::new().add(k8s, s);
    ClusterAutoscaler::new(facts.cluster_name)
        .region(settings.region.clone())
        .role_arn(facts.cluster_autoscaler_role)
        .scale_down_unneeded(std::time::Duration::from_secs(600))
        .add(k8s, s);
    ExternalDns::new()
        .domain_filter(settings.domain.clone())
        .txt_owner_id(CLUSTER)
        .role_arn(facts.external_dns_role)
        .add(k8s, s);

    let values = YoloAppValues::builder()
        .frontend(
            FrontendValues::builder()
                .image(settings.frontend_image.clone())
                .hostname(format!("app.{}", settings.domain))
                .build(),
        )
        .backend(
            BackendValues::builder()
                .image(settings.backend_image.clone())
                .build(),
        )
        .build();
    YoloApp::new(values).depends_on(&metrics).add(k8s, s)
}

/// Exports what people look up after an apply.
pub fn export_app(s: &mut Stack, app: &YoloAppHandle, settings: &Settings) {
    s.export("backend_url", app.backend_url());
    s.export(
        "frontend_hostname",
        Value::from(format!("app.{}", settings.domain)),
    );
}
