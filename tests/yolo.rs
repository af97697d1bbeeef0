//! The seed deployment end to end: `yolo` applied against moto (AWS) and girder's Kubernetes
//! API emulator (through `--kubeconfig`), checked on both sides; a re-plan is empty; an image
//! change is a one-resource update; destroy leaves nothing on either side. Then the same
//! split into two stacks joined by a typed stack reference.

use std::path::Path;
use std::process::{Command, Output};

use girder_testing::kube::KubeEmulator;
use girder_testing::moto::MotoServer;
use tempfile::TempDir;

struct World {
    moto: MotoServer,
    kube: KubeEmulator,
    kubeconfig: std::path::PathBuf,
    dir: TempDir,
}

fn world() -> World {
    // moto only knows AWS managed policies (AmazonEKSClusterPolicy, …) when asked to load them.
    let moto = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
        .expect("moto_server must be installed: run scripts/python-deps.sh");
    let kube = KubeEmulator::start().expect("the Kubernetes emulator starts");
    let dir = TempDir::new().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    kube.write_kubeconfig(&kubeconfig).unwrap();
    World {
        moto,
        kube,
        kubeconfig,
        dir,
    }
}

impl World {
    fn girder(&self, bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(bin);
        command
            .current_dir(self.dir.path())
            .envs(self.moto.env())
            .env("GIRDER_PASSPHRASE", "e2e passphrase")
            .env("NO_COLOR", "1")
            .env_remove("GIRDER_STATE")
            .env_remove("GIRDER_STACK")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    fn kubectl(&self, args: &[&str]) -> serde_json::Value {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .args(["-o", "json"])
            .output()
            .expect("kubectl is installed");
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn names(&self, kind: &str) -> Vec<String> {
        let list = self.kubectl(&["get", kind, "--all-namespaces"]);
        let mut names: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                format!(
                    "{}/{}",
                    item["metadata"]["namespace"].as_str().unwrap_or(""),
                    item["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        names.sort();
        names
    }

    fn aws(&self) -> Aws {
        let config = aws_config::SdkConfig::builder()
            .endpoint_url(self.moto.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        "testing", "testing", None, None, "tests",
                    ),
                ),
            )
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Aws {
            ec2: aws_sdk_ec2::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            route53: aws_sdk_route53::Client::new(&config),
        }
    }
}

struct Aws {
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    route53: aws_sdk_route53::Client,
}

impl Aws {
    fn snapshot(&self) -> (usize, Vec<String>, usize, Vec<String>, usize) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let vpcs = self
                    .ec2
                    .describe_vpcs()
                    .filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name("tag-key")
                            .values("girder:stack")
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                let clusters = self
                    .eks
                    .list_clusters()
                    .send()
                    .await
                    .unwrap()
                    .clusters()
                    .to_vec();
                let mut capacity = Vec::new();
                for cluster in &clusters {
                    for group in self
                        .eks
                        .list_nodegroups()
                        .cluster_name(cluster)
                        .send()
                        .await
                        .unwrap()
                        .nodegroups()
                    {
                        let described = self
                            .eks
                            .describe_nodegroup()
                            .cluster_name(cluster)
                            .nodegroup_name(group)
                            .send()
                            .await
                            .unwrap();
                        capacity.push(
                            described
                                .nodegroup()
                                .and_then(|n| n.capacity_type())
                                .map(|c| c.as_str().to_owned())
                                .unwrap_or_default(),
                        );
                    }
                }
                capacity.sort();
                let logging = match clusters.first() {
                    Some(name) => self
                        .eks
                        .describe_cluster()
                        .name(name)
                        .send()
                        .await
                        .unwrap()
                        .cluster()
                        .and_then(|c| c.logging())
                        .map(|l| {
                            l.cluster_logging()
                                .iter()
                                .filter(|s| s.enabled() == Some(true))
                                .map(|s| s.types().len())
                                .sum()
                        })
                        .unwrap_or(0),
                    None => 0,
                };
                let zones = self
                    .route53
                    .list_hosted_zones()
                    .send()
                    .await
                    .unwrap()
                    .hosted_zones()
                    .len();
                (vpcs.vpcs().len(), clusters, logging, capacity, zones)
            })
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_seed_deployment_end_to_end() {
    let world = world();
    let yolo = env!("CARGO_BIN_EXE_yolo");

    let apply = world.girder(yolo, &["apply", "--yes"], &[]);
    assert!(apply.status.success(), "{}", text(&apply));
    assert!(
        text(&apply).contains("Apply complete! Resources: 84 created"),
        "{}",
        text(&apply)
    );

    // AWS: the network, the cluster with its logs and both capacity types, the zone.
    let (vpcs, clusters, log_types, capacity, zones) = world.aws().snapshot();
    assert_eq!(vpcs, 1);
    assert_eq!(clusters, ["yolo"]);
    assert_eq!(log_types, 3, "api, controllerManager, scheduler");
    assert_eq!(capacity, ["ON_DEMAND", "SPOT"]);
    assert_eq!(zones, 1);

    // Kubernetes: the add-ons and the app rolled out.
    let deployments = world.names("deployments");
    for expected in [
        "default/backend",
        "default/frontend",
        "kube-system/cluster-autoscaler",
        "kube-system/external-dns",
        "kube-system/metrics-server",
    ] {
        assert!(
            deployments.contains(&expected.to_owned()),
            "{expected} in {deployments:?}"
        );
    }
    let backend = world.kubectl(&["get", "deployment", "backend", "-n", "default"]);
    assert_eq!(
        backend["status"]["availableReplicas"],
        backend["status"]["replicas"]
    );

    // The frontend's BACKEND_URL names the backend Service and one of its ports.
    let config = world.kubectl(&["get", "configmap", "frontend-configmap", "-n", "default"]);
    let url = config["data"]["BACKEND_URL"].as_str().unwrap().to_owned();
    let service = world.kubectl(&["get", "service", "backend-service", "-n", "default"]);
    let ports: Vec<i64> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    let rest = url
        .strip_prefix("http://backend-service.default.svc.cluster.local:")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(
        ports.contains(&rest.parse::<i64>().unwrap()),
        "{url} vs {ports:?}"
    );
    let frontend = world.kubectl(&["get", "deployment", "frontend", "-n", "default"]);
    let env = frontend["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains("frontend-configmap") && env.contains("BACKEND_URL"),
        "{env}"
    );

    let plan = world.girder(yolo, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // A new backend image: exactly one resource changes.
    let image = [("GIRDER_YOLO_BACKEND_IMAGE", "ghcr.io/acme/backend:1.5")];
    let plan = world.girder(yolo, &["plan", "--detailed-exitcode"], &image);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(
        text(&plan).contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete"),
        "{}",
        text(&plan)
    );
    let apply = world.girder(yolo, &["apply", "--yes"], &image);
    assert!(apply.status.success(), "{}", text(&apply));
    let backend = world.kubectl(&["get", "deployment", "backend", "-n", "default"]);
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/backend:1.5"
    );

    let destroy = world.girder(yolo, &["destroy", "--yes"], &image);
    assert!(destroy.status.success(), "{}", text(&destroy));
    let (vpcs, clusters, _, capacity, zones) = world.aws().snapshot();
    assert_eq!(
        (vpcs, clusters.len(), capacity.len(), zones),
        (0, 0, 0, 0),
        "AWS is empty"
    );
    let left: Vec<String> = world
        .names("deployments")
        .into_iter()
        .filter(|d| {
            d.starts_with("default/")
                || d.contains("autoscaler")
                || d.contains("dns")
                || d.contains("metrics")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        world
            .names("configmaps")
            .iter()
            .all(|c| !c.contains("frontend-configmap"))
    );
    let _ = &world.kube;
}

#[test]
fn the_seed_split_into_two_stacks_joined_by_a_stack_reference() {
    let world = world();
    let infra = world.girder(
        env!("CARGO_BIN_EXE_yolo_infra"),
        &["--stack", "yolo-infra", "apply", "--yes"],
        &[],
    );
    assert!(infra.status.success(), "{}", text(&infra));
    let app_plan = world.girder(
        env!("CARGO_BIN_EXE_yolo_app"),
        &["--stack", "yolo-app", "plan"],
        &[],
    );
    assert!(app_plan.status.success(), "{}", text(&app_plan));
    // The reference was read while planning: the roles are known, not "(known after apply)".
    assert!(
        !text(&app_plan).contains("eks.amazonaws.com/role-arn\"] = (known after apply)"),
        "{}",
        text(&app_plan)
    );
    let app = world.girder(
        env!("CARGO_BIN_EXE_yolo_app"),
        &["--stack", "yolo-app", "apply", "--yes"],
        &[],
    );
    assert!(app.status.success(), "{}", text(&app));
    let sa = world.kubectl(&[
        "get",
        "serviceaccount",
        "cluster-autoscaler",
        "-n",
        "kube-system",
    ]);
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::")
    );
    let again = world.girder(
        env!("CARGO_BIN_EXE_yolo_app"),
        &["--stack", "yolo-app", "plan", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        world
            .girder(
                env!("CARGO_BIN_EXE_yolo_app"),
                &["--stack", "yolo-app", "destroy", "--yes"],
                &[]
            )
            .status
            .success()
    );
    assert!(
        world
            .girder(
                env!("CARGO_BIN_EXE_yolo_infra"),
                &["--stack", "yolo-infra", "destroy", "--yes"],
                &[]
            )
            .status
            .success()
    );
    let (vpcs, clusters, _, _, zones) = world.aws().snapshot();
    assert_eq!((vpcs, clusters.len(), zones), (0, 0, 0));
    let _ = Path::new(".");
}
