//! The seed deployment end to end, through the sandbox as a user meets it: `yolo` applied
//! against moto behind girder's AWS behaviour layer, whose EKS cluster is served by a
//! Kubernetes API emulator once ACTIVE — HTTPS with the cluster's own CA, EKS tokens
//! verified through the sandbox's STS, access entries. No `--kubeconfig`: the program's
//! Kubernetes provider is configured from the cluster's outputs (endpoint, CA) and
//! authenticates with girder's own EKS tokens. Checked on both sides; a re-plan is empty; an
//! image change is a one-resource update; destroy leaves nothing of the program's on either
//! side. Then the same split into two stacks joined by a typed stack reference.

use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use girder::aws::eks::token::presigned_token_for;
use girder_testing::aws_layer::Behaviours;
use girder_testing::sandbox::{Sandbox, SandboxOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, ListParams};
use tempfile::TempDir;

const CLUSTER: &str = "yolo";

/// One sandbox (a moto process, the layer, the cluster's emulator, the program's CLI runs)
/// at a time: on a two-core machine, two of them at once only make both slower.
static ONE_SANDBOX_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct World {
    sandbox: Sandbox,
    dir: TempDir,
    runtime: tokio::runtime::Runtime,
    // Last: released after the sandbox has stopped.
    _turn: std::sync::MutexGuard<'static, ()>,
}

fn world() -> World {
    // Slow lifecycles at 1/100: the program waits for the cluster and nodegroups as on AWS.
    world_with(Behaviours::parse_list("lifecycle").unwrap())
}

fn world_with(behaviours: Behaviours) -> World {
    // A test that failed while holding the turn poisons the lock; the next one may still run.
    let turn = ONE_SANDBOX_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let sandbox = Sandbox::start(SandboxOptions {
        behaviours,
        scale: girder_testing::sandbox::test_scale(0.01),
        ..SandboxOptions::default()
    })
    .expect("the sandbox starts (moto_server must be installed: run scripts/python-deps.sh)");
    World {
        sandbox,
        dir: TempDir::new().unwrap(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        _turn: turn,
    }
}

/// The environment the sandbox hands a program, as a map.
fn env_of(sandbox: &Sandbox) -> std::collections::BTreeMap<&'static str, String> {
    sandbox.env().into_iter().collect()
}

impl World {
    fn girder(&self, bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(bin);
        command
            .current_dir(self.dir.path())
            .envs(self.sandbox.env())
            .env("GIRDER_PASSPHRASE", "e2e passphrase")
            .env("NO_COLOR", "1")
            .env_remove("GIRDER_STATE")
            .env_remove("GIRDER_STACK")
            .env_remove("GIRDER_KUBECONFIG")
            .env_remove("KUBECONFIG")
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    fn sdk_config(&self) -> aws_config::SdkConfig {
        let env = env_of(&self.sandbox);
        self.sdk_config_at(&env["AWS_ENDPOINT_URL"])
    }

    /// SDK configuration for `endpoint` with the sandbox's credentials. The test's own reads
    /// retry throttling as any AWS client does; the program's calls are what is under test.
    fn sdk_config_at(&self, endpoint: &str) -> aws_config::SdkConfig {
        let env = env_of(&self.sandbox);
        aws_config::SdkConfig::builder()
            .endpoint_url(endpoint)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
            .region(aws_config::Region::new(env["AWS_REGION"].clone()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        env["AWS_ACCESS_KEY_ID"].clone(),
                        env["AWS_SECRET_ACCESS_KEY"].clone(),
                        Some(env["AWS_SESSION_TOKEN"].clone()),
                        None,
                        "tests",
                    ),
                ),
            )
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    }

    fn aws(&self) -> Aws {
        Aws::new(&self.sdk_config())
    }

    /// What moto itself holds of the program (stack `dev`), read bypassing the layer: the
    /// truth, with no behaviour between the test and it.
    fn census(&self) -> girder::aws::census::Census {
        let config = self.sdk_config_at(&self.sandbox.moto_endpoint());
        self.runtime
            .block_on(girder::aws::census::census(&config, "dev"))
            .expect("moto answers every list call")
    }
}

/// What the cluster made on the program's behalf, read from moto directly: the classic load
/// balancers, the security groups the cloud controller names `k8s-elb-…`, and the records of
/// every zone other than its SOA and NS.
#[derive(Debug, Default, PartialEq)]
struct ClusterMade {
    load_balancers: Vec<(String, String)>,
    security_groups: Vec<String>,
    records: Vec<(String, String)>,
}

impl World {
    /// What the cluster made, once `done` holds: its controllers work after the apply has
    /// returned (the frontend's Service does not wait for its load balancer), so the test
    /// waits for the observable outcome, with a deadline generous for a busy machine.
    fn cluster_made_once(&self, done: impl Fn(&ClusterMade) -> bool) -> ClusterMade {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let made = self.cluster_made();
            if done(&made) {
                return made;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster's controllers never got there: {made:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn cluster_made(&self) -> ClusterMade {
        let moto = self.sandbox.moto_endpoint();
        let aws = Aws::new(&self.sdk_config_at(&moto));
        let elb = aws_sdk_elasticloadbalancing::Client::new(&self.sdk_config_at(&moto));
        self.runtime.block_on(async {
            let described = elb.describe_load_balancers().send().await.unwrap();
            let load_balancers = described
                .load_balancer_descriptions()
                .iter()
                .filter_map(|lb| {
                    Some((
                        lb.load_balancer_name()?.to_owned(),
                        lb.dns_name()?.to_owned(),
                    ))
                })
                .collect();
            let groups = aws.ec2.describe_security_groups().send().await.unwrap();
            let security_groups = groups
                .security_groups()
                .iter()
                .filter_map(|g| g.group_name())
                .filter(|name| name.starts_with("k8s-elb-"))
                .map(str::to_owned)
                .collect();
            let mut records = Vec::new();
            let zones = aws.route53.list_hosted_zones().send().await.unwrap();
            for zone in zones.hosted_zones() {
                let sets = aws
                    .route53
                    .list_resource_record_sets()
                    .hosted_zone_id(zone.id())
                    .send()
                    .await
                    .unwrap();
                for set in sets.resource_record_sets() {
                    let kind = set.r#type().as_str().to_owned();
                    if kind != "SOA" && kind != "NS" {
                        records.push((set.name().to_owned(), kind));
                    }
                }
            }
            records.sort();
            ClusterMade {
                load_balancers,
                security_groups,
                records,
            }
        })
    }
}

impl Aws {
    fn new(config: &aws_config::SdkConfig) -> Aws {
        Aws {
            ec2: aws_sdk_ec2::Client::new(config),
            eks: aws_sdk_eks::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
        }
    }
}

impl World {
    /// A client of the cluster as its users reach it: the endpoint and CA DescribeCluster
    /// reports, and an EKS token of the sandbox's credentials (the cluster's creator) made by
    /// girder for the endpoint in use.
    fn kube(&self) -> kube::Client {
        let env = env_of(&self.sandbox);
        let eks = self.aws().eks;
        let cluster = self
            .runtime
            .block_on(eks.describe_cluster().name(CLUSTER).send())
            .unwrap()
            .cluster
            .unwrap();
        let endpoint = cluster.endpoint().unwrap().to_owned();
        let ca = cluster
            .certificate_authority()
            .and_then(|c| c.data())
            .unwrap()
            .to_owned();
        assert_eq!(
            Some(endpoint.clone()),
            self.sandbox.host().url(CLUSTER),
            "DescribeCluster names the emulator serving the cluster"
        );
        assert!(endpoint.starts_with("https://"), "{endpoint}");
        let credentials = aws_credential_types::Credentials::new(
            env["AWS_ACCESS_KEY_ID"].clone(),
            env["AWS_SECRET_ACCESS_KEY"].clone(),
            Some(env["AWS_SESSION_TOKEN"].clone()),
            None,
            "tests",
        );
        let token = presigned_token_for(
            CLUSTER,
            &env["AWS_REGION"],
            &env["AWS_ENDPOINT_URL"],
            &credentials,
            SystemTime::now(),
        )
        .unwrap();
        client(&endpoint, &ca, &token, &self.runtime)
    }

    fn served(&self) -> bool {
        self.sandbox.host().url(CLUSTER).is_some()
    }

    fn names<K>(&self, client: &kube::Client) -> Vec<String>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::all(client.clone());
        let list = self
            .runtime
            .block_on(api.list(&ListParams::default()))
            .unwrap();
        let mut names: Vec<String> = list
            .items
            .iter()
            .map(|item| {
                format!(
                    "{}/{}",
                    item.meta().namespace.clone().unwrap_or_default(),
                    item.meta().name.clone().unwrap_or_default()
                )
            })
            .collect();
        names.sort();
        names
    }

    fn get<K>(&self, client: &kube::Client, namespace: &str, name: &str) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(client.clone(), namespace);
        self.runtime.block_on(api.get(name)).unwrap()
    }
}

/// A `kube::Client` for `endpoint`, trusting the base64 PEM `ca`, sending `token`.
fn client(
    endpoint: &str,
    ca: &str,
    token: &str,
    runtime: &tokio::runtime::Runtime,
) -> kube::Client {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {endpoint}\n    certificate-authority-data: {ca}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {token}\n"
    );
    runtime.block_on(async {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        kube::Client::try_from(config).unwrap()
    })
}

struct Aws {
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    route53: aws_sdk_route53::Client,
    iam: aws_sdk_iam::Client,
}

impl Aws {
    /// The IAM roles and OIDC providers of the program (roles named `yolo-…`).
    fn iam_left(&self) -> Vec<String> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let roles = self.iam.list_roles().send().await.unwrap();
                let providers = self
                    .iam
                    .list_open_id_connect_providers()
                    .send()
                    .await
                    .unwrap();
                roles
                    .roles()
                    .iter()
                    .map(|r| r.role_name().to_owned())
                    .filter(|name| name.starts_with("yolo-"))
                    .chain(
                        providers
                            .open_id_connect_provider_list()
                            .iter()
                            .filter_map(|p| p.arn().map(str::to_owned)),
                    )
                    .collect()
            })
    }

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
    let started = Instant::now();
    let world = world();
    let yolo = env!("CARGO_BIN_EXE_yolo");

    // Before the apply, the IRSA roles' ARNs are unknown: `render` refuses to write
    // placeholders that `kubectl apply` would take literally, and names the fields.
    let early = world.girder(yolo, &["render", "-"], &[]);
    assert_eq!(early.status.code(), Some(1), "{}", text(&early));
    assert!(
        text(&early).contains("is known only after apply") && early.stdout.is_empty(),
        "{}",
        text(&early)
    );

    let apply_started = Instant::now();
    let apply = world.girder(yolo, &["apply", "--yes"], &[]);
    eprintln!("the seed's apply took {:?}", apply_started.elapsed());
    assert!(apply.status.success(), "{}", text(&apply));
    assert!(
        text(&apply).contains("Apply complete! Resources: 84 created"),
        "{}",
        text(&apply)
    );

    // AWS: the network, the cluster with its logs and both capacity types, the zone.
    let (vpcs, clusters, log_types, capacity, zones) = world.aws().snapshot();
    assert_eq!(vpcs, 1);
    assert_eq!(clusters, [CLUSTER]);
    assert_eq!(log_types, 3, "api, controllerManager, scheduler");
    assert_eq!(capacity, ["ON_DEMAND", "SPOT"]);
    assert_eq!(zones, 1);

    // Kubernetes, as the cluster's users reach it: its version, the add-ons, the app.
    let kube = world.kube();
    let version = world.runtime.block_on(kube.apiserver_version()).unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "36")
    );
    assert!(
        version.git_version.contains("-eks-"),
        "{}",
        version.git_version
    );
    let deployments = world.names::<Deployment>(&kube);
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
    let backend: Deployment = world.get(&kube, "default", "backend");
    let status = backend.status.unwrap();
    assert_eq!(status.available_replicas, status.replicas);

    // The frontend's BACKEND_URL names the backend Service and one of its ports.
    let config: ConfigMap = world.get(&kube, "default", "frontend-configmap");
    let url = config.data.unwrap()["BACKEND_URL"].clone();
    let service: Service = world.get(&kube, "default", "backend-service");
    let ports: Vec<i32> = service
        .spec
        .unwrap()
        .ports
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    let rest = url
        .strip_prefix("http://backend-service.default.svc.cluster.local:")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(
        ports.contains(&rest.parse::<i32>().unwrap()),
        "{url} vs {ports:?}"
    );
    let frontend: Deployment = world.get(&kube, "default", "frontend");
    let env =
        serde_json::to_string(&frontend.spec.unwrap().template.spec.unwrap().containers[0].env)
            .unwrap();
    assert!(
        env.contains("frontend-configmap") && env.contains("BACKEND_URL"),
        "{env}"
    );

    // What the cluster made: the frontend's load balancer (its DNS name in the Service's
    // status), its security group, and external-dns's records for the frontend's hostname.
    let made = world.cluster_made_once(|made| {
        !made.load_balancers.is_empty() && made.records.iter().any(|(_, kind)| kind == "CNAME")
    });
    assert_eq!(made.load_balancers.len(), 1, "{made:?}");
    assert_eq!(made.security_groups.len(), 1, "{made:?}");
    let frontend_service: Service = world.get(&kube, "default", "frontend-service");
    let hostname = frontend_service
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|lb| lb.ingress)
        .and_then(|ingress| ingress.first().and_then(|i| i.hostname.clone()));
    assert_eq!(hostname.as_deref(), Some(made.load_balancers[0].1.as_str()));
    assert!(
        made.records
            .iter()
            .any(|(name, kind)| name.starts_with("app.") && kind == "CNAME"),
        "{made:?}"
    );
    assert!(
        made.records
            .iter()
            .any(|(name, kind)| name.starts_with("app.") && kind == "TXT"),
        "{made:?}"
    );

    let plan = world.girder(yolo, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // After it, `render -` writes every object as the apply sent it, the roles' ARNs read
    // from the state, as one multi-document stream.
    let rendered = world.girder(yolo, &["render", "-"], &[]);
    assert!(rendered.status.success(), "{}", text(&rendered));
    let stream = String::from_utf8_lossy(&rendered.stdout);
    assert!(!stream.contains("known after apply"), "{stream}");
    assert!(
        stream.contains("eks.amazonaws.com/role-arn: arn:aws:iam::"),
        "{stream}"
    );
    assert!(stream.matches("\n---\n").count() >= 20, "{stream}");

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
    let backend: Deployment = world.get(&world.kube(), "default", "backend");
    assert_eq!(
        backend.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("ghcr.io/acme/backend:1.5")
    );

    // The destroy's plan says what it will wait for and clean up besides the deletes: the
    // frontend's load balancer, the records external-dns wrote, the cluster's leftovers.
    let plan = world.girder(yolo, &["plan", "--destroy", "--detailed-exitcode"], &image);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    let shown = text(&plan);
    for effect in [
        "then: waits until the cloud controller has deleted its load balancer and removed the `service.kubernetes.io/load-balancer-cleanup` finalizer",
        &format!(
            "then: first deletes the records external-dns wrote in `yolo.example.com` for owner id(s) `{CLUSTER}`"
        ),
        "then: waits until EKS has deleted the control plane",
        &format!(
            "then: once the cluster is gone, deletes what its controllers left in the account: load balancers, target groups and security groups tagged `kubernetes.io/cluster/{CLUSTER}=owned`"
        ),
    ] {
        assert!(shown.contains(effect), "{effect:?} missing from:\n{shown}");
    }

    // Destroy: the Kubernetes objects go first, while the cluster still serves them.
    let before_destroy = world.kube();
    let destroy = world.girder(yolo, &["destroy", "--yes"], &image);
    assert!(destroy.status.success(), "{}", text(&destroy));
    // The progress display shows the wait for the load balancer's finalizer.
    assert!(
        text(&destroy).contains(
            "service/default/frontend-service: waiting until deleted (finalizers: service.kubernetes.io/load-balancer-cleanup)"
        ),
        "{}",
        text(&destroy)
    );
    let (vpcs, clusters, _, capacity, zones) = world.aws().snapshot();
    assert_eq!(
        (vpcs, clusters.len(), capacity.len(), zones),
        (0, 0, 0, 0),
        "AWS is empty"
    );
    let iam_left = world.aws().iam_left();
    assert!(iam_left.is_empty(), "IAM holds {iam_left:?}");
    // Nothing the cluster made outlives it: load balancer, security group and records went
    // before the subnets and the zone.
    assert_eq!(world.cluster_made(), ClusterMade::default());
    // The cluster is gone, and so is its emulator (once its DELETING period is over).
    // The cluster stays DELETING for 240 s of AWS time first.
    let deadline = Instant::now()
        + Duration::from_secs(120).max(Duration::from_secs_f64(
            480.0 * girder_testing::sandbox::test_scale(0.01),
        ));
    while world.served() {
        assert!(
            Instant::now() < deadline,
            "the cluster's emulator was not stopped"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        world
            .runtime
            .block_on(before_destroy.apiserver_version())
            .is_err(),
        "nothing serves the deleted cluster"
    );
    eprintln!("the seed end to end took {:?}", started.elapsed());
}

/// The behaviours the layer has met since its counters were last reset, with their counts.
fn fired(sandbox: &Sandbox) -> std::collections::BTreeMap<String, u64> {
    sandbox
        .layer()
        .counters()
        .behaviours
        .iter()
        .map(|(behaviour, ops)| (behaviour.clone(), ops.values().sum()))
        .collect()
}

/// Requests the layer has answered since its counters were last reset.
fn requests(sandbox: &Sandbox) -> u64 {
    sandbox
        .layer()
        .counters()
        .requests
        .values()
        .flat_map(|ops| ops.values())
        .sum()
}

/// The whole seed through the layer with the behaviours `name` (`all`, or one switch), shaped
/// so each one is met on every run: slow lifecycles, new ids invisible for a second, young
/// roles unusable for ten, the first response of every create lost, one call in ten
/// throttled, subnets and IAM deletes refused while dependencies drain. It converges,
/// re-plans to nothing, never makes two of anything, and its destroy leaves moto — read
/// directly — holding nothing, the cluster's load balancer and records included.
fn the_seed_survives(name: &str) {
    let world = world_with(Behaviours::deterministic(name).unwrap());
    let yolo = env!("CARGO_BIN_EXE_yolo");
    let sandbox = &world.sandbox;
    sandbox.layer().reset_counters();
    let started = Instant::now();
    let apply = world.girder(yolo, &["apply", "--yes"], &[]);
    let apply_time = started.elapsed();
    assert!(apply.status.success(), "{}", text(&apply));
    assert!(
        text(&apply).contains("Apply complete! Resources: 84 created"),
        "{}",
        text(&apply)
    );
    let apply_fired = fired(sandbox);
    let apply_requests = requests(sandbox);
    // What the apply must have met (idempotency only shows when a response is lost too;
    // draining only in a destroy).
    let apply_must: Vec<&str> = [
        "lifecycle",
        "consistency",
        "propagation",
        "throttling",
        "lost_responses",
    ]
    .into_iter()
    .filter(|b| name == "all" || name == *b)
    .collect();
    for behaviour in apply_must {
        assert!(
            apply_fired.get(behaviour).copied().unwrap_or(0) > 0,
            "the apply never met {behaviour}: {apply_fired:?}"
        );
    }

    // moto, read directly: one object per resource, never two.
    let made = world.cluster_made_once(|made| !made.load_balancers.is_empty());
    assert_eq!(
        (made.load_balancers.len(), made.security_groups.len()),
        (1, 1),
        "the frontend's load balancer and its security group: {made:?}"
    );
    let held = world.census();
    let twice = girder::aws::census::duplicates(&held);
    assert!(twice.is_empty(), "moto holds duplicates: {twice:?}");
    let count = |type_name: &str| held.get(type_name).map_or(0, Vec::len);
    assert_eq!(
        (
            count("aws:ec2/vpc"),
            count("aws:ec2/subnet"),
            count("aws:eks/cluster"),
            count("aws:eks/nodegroup"),
            count("aws:route53/hostedZone"),
        ),
        (1, 9, 1, 2, 1),
        "one VPC with nine subnets, one cluster with two nodegroups, one zone: {held:#?}"
    );

    let plan = world.girder(yolo, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    sandbox.layer().reset_counters();
    let started = Instant::now();
    let destroy = world.girder(yolo, &["destroy", "--yes"], &[]);
    let destroy_time = started.elapsed();
    assert!(destroy.status.success(), "{}", text(&destroy));
    let destroy_fired = fired(sandbox);
    if name == "all" || name == "draining" {
        assert!(
            destroy_fired.get("draining").copied().unwrap_or(0) > 0,
            "the destroy never met draining: {destroy_fired:?}"
        );
    }
    let left: std::collections::BTreeMap<_, _> = world
        .census()
        .into_iter()
        // EKS makes the control plane's log group itself; girder deletes the one it declares.
        .filter(|(type_name, objects)| !objects.is_empty() && *type_name != "aws:logs/logGroup")
        .collect();
    assert!(left.is_empty(), "moto holds after destroy: {left:#?}");
    assert_eq!(
        world.cluster_made(),
        ClusterMade::default(),
        "what the cluster made outlived the destroy"
    );
    eprintln!(
        "{name}: apply {apply_time:?} ({apply_requests} requests, met {apply_fired:?}); destroy {destroy_time:?} ({} requests, met {destroy_fired:?})",
        requests(sandbox)
    );
}

#[test]
fn the_seed_survives_every_aws_behaviour_at_once() {
    the_seed_survives("all");
}

#[test]
fn the_seed_survives_eventual_consistency() {
    the_seed_survives("consistency");
}

#[test]
fn the_seed_survives_iam_propagation() {
    the_seed_survives("propagation");
}

#[test]
fn the_seed_survives_throttling() {
    the_seed_survives("throttling");
}

#[test]
fn the_seed_survives_draining() {
    the_seed_survives("draining");
}

#[test]
fn the_seed_survives_lost_responses() {
    the_seed_survives("lost_responses");
}

#[test]
fn the_seed_survives_idempotency_checks() {
    the_seed_survives("idempotency");
}

/// The program's Kubernetes objects are deleted by destroy while the cluster exists.
#[test]
fn destroy_removes_the_programs_kubernetes_objects_before_the_cluster() {
    let world = world();
    let infra = world.girder(
        env!("CARGO_BIN_EXE_yolo_infra"),
        &["--stack", "yolo-infra", "apply", "--yes"],
        &[],
    );
    assert!(infra.status.success(), "{}", text(&infra));
    let app = world.girder(
        env!("CARGO_BIN_EXE_yolo_app"),
        &["--stack", "yolo-app", "apply", "--yes"],
        &[],
    );
    assert!(app.status.success(), "{}", text(&app));
    let kube = world.kube();
    // The app stack read the infra stack's roles through the reference.
    let sa: k8s_openapi::api::core::v1::ServiceAccount =
        world.get(&kube, "kube-system", "cluster-autoscaler");
    assert!(
        sa.metadata.annotations.unwrap()["eks.amazonaws.com/role-arn"].starts_with("arn:aws:iam::")
    );
    let again = world.girder(
        env!("CARGO_BIN_EXE_yolo_app"),
        &["--stack", "yolo-app", "plan", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let destroy = world.girder(
        env!("CARGO_BIN_EXE_yolo_app"),
        &["--stack", "yolo-app", "destroy", "--yes"],
        &[],
    );
    assert!(destroy.status.success(), "{}", text(&destroy));
    // The cluster still runs: nothing of the program's is left in it.
    let kube = world.kube();
    let left: Vec<String> = world
        .names::<Deployment>(&kube)
        .into_iter()
        .chain(world.names::<ConfigMap>(&kube))
        .chain(world.names::<Service>(&kube))
        .filter(|name| {
            name.starts_with("default/")
                || name.contains("autoscaler")
                || name.contains("external-dns")
                || name.contains("metrics-server")
        })
        .filter(|name| name != "default/kubernetes" && name != "default/kube-root-ca.crt")
        .collect();
    assert!(left.is_empty(), "left in the cluster: {left:?}");
    let destroy = world.girder(
        env!("CARGO_BIN_EXE_yolo_infra"),
        &["--stack", "yolo-infra", "destroy", "--yes"],
        &[],
    );
    assert!(destroy.status.success(), "{}", text(&destroy));
    let (vpcs, clusters, _, _, zones) = world.aws().snapshot();
    assert_eq!((vpcs, clusters.len(), zones), (0, 0, 0));
    let iam_left = world.aws().iam_left();
    assert!(iam_left.is_empty(), "IAM holds {iam_left:?}");
}
