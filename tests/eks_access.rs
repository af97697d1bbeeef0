//! Who may use an EKS cluster the sandbox serves, as EKS decides it: a principal without an
//! access entry is refused (401), one with `AmazonEKSViewPolicy` reads but cannot write
//! (403), and the cluster's creator is admin (bootstrapped). Tokens are girder's own, made
//! for the sandbox's AWS endpoint.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_eks::types::{
    AccessScope, AccessScopeType, AuthenticationMode, CreateAccessConfigRequest, VpcConfigRequest,
};
use girder::aws::eks::token::presigned_token_for;
use girder_testing::aws_layer::Behaviours;
use girder_testing::sandbox::{Sandbox, SandboxOptions};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};

const CLUSTER: &str = "access";

fn credentials(key: &str, secret: &str) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(key, secret, None, None, "tests")
}

fn sdk_config(
    endpoint: &str,
    credentials: aws_credential_types::Credentials,
) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// A client of `endpoint` trusting the base64 PEM `ca`, with an EKS token of `who` made by
/// girder for the sandbox's endpoint.
async fn client(
    endpoint: &str,
    ca: &str,
    aws_endpoint: &str,
    who: &aws_credential_types::Credentials,
) -> kube::Client {
    let token =
        presigned_token_for(CLUSTER, "us-east-1", aws_endpoint, who, SystemTime::now()).unwrap();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {endpoint}\n    certificate-authority-data: {ca}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {token}\n"
    );
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn code<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Err(kube::Error::Api(status)) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn iam_user(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> (String, aws_credential_types::Credentials) {
    let user = iam.create_user().user_name(name).send().await.unwrap();
    let arn = user.user().unwrap().arn().to_owned();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    (
        arn,
        credentials(key.access_key_id(), key.secret_access_key()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_get_what_their_access_entries_give() {
    let started = Instant::now();
    let sandbox = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            behaviours: Behaviours::parse_list("lifecycle").unwrap(),
            scale: 0.01,
            ..SandboxOptions::default()
        })
    })
    .await
    .unwrap()
    .expect("the sandbox starts (moto_server must be installed)");
    let endpoint = sandbox.layer().endpoint();
    let admin = credentials("testing", "testing");
    let config = sdk_config(&endpoint, admin.clone());
    let iam = aws_sdk_iam::Client::new(&config);
    let eks = aws_sdk_eks::Client::new(&config);
    let (viewer_arn, viewer) = iam_user(&iam, "viewer").await;
    let (_, stranger) = iam_user(&iam, "stranger").await;

    eks.create_cluster()
        .name(CLUSTER)
        .version("1.36")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
        .access_config(
            CreateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::ApiAndConfigMap)
                .bootstrap_cluster_creator_admin_permissions(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let cluster = loop {
        let cluster = eks
            .describe_cluster()
            .name(CLUSTER)
            .send()
            .await
            .unwrap()
            .cluster
            .unwrap();
        if cluster.status() == Some(&aws_sdk_eks::types::ClusterStatus::Active) {
            break cluster;
        }
        assert!(Instant::now() < deadline, "the cluster never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let server = cluster.endpoint().unwrap().to_owned();
    let ca = cluster
        .certificate_authority()
        .and_then(|c| c.data())
        .unwrap()
        .to_owned();
    assert!(server.starts_with("https://127.0.0.1:"), "{server}");

    eks.create_access_entry()
        .cluster_name(CLUSTER)
        .principal_arn(&viewer_arn)
        .send()
        .await
        .unwrap();
    eks.associate_access_policy()
        .cluster_name(CLUSTER)
        .principal_arn(&viewer_arn)
        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // The creator (bootstrapped admin) writes.
    let creator = client(&server, &ca, &endpoint, &admin).await;
    let configmap: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "settings"}, "data": {"k": "v"}}),
    )
    .unwrap();
    Api::<ConfigMap>::namespaced(creator, "default")
        .create(&PostParams::default(), &configmap)
        .await
        .unwrap();

    // The viewer reads, and cannot write.
    let viewing = client(&server, &ca, &endpoint, &viewer).await;
    let api = Api::<ConfigMap>::namespaced(viewing, "default");
    let names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert!(names.contains(&"settings".to_owned()), "{names:?}");
    let mut other = configmap.clone();
    other.metadata.name = Some("mine".into());
    assert_eq!(code(api.create(&PostParams::default(), &other).await), 403);
    assert_eq!(code(api.delete("settings", &Default::default()).await), 403);

    // A principal without an access entry is not let in.
    let strange = client(&server, &ca, &endpoint, &stranger).await;
    assert_eq!(
        code(
            Api::<ConfigMap>::namespaced(strange, "default")
                .list(&ListParams::default())
                .await
        ),
        401
    );

    // Deleting the viewer's entry takes effect at once (no cached decision).
    eks.delete_access_entry()
        .cluster_name(CLUSTER)
        .principal_arn(&viewer_arn)
        .send()
        .await
        .unwrap();
    let viewing = client(&server, &ca, &endpoint, &viewer).await;
    assert_eq!(
        code(
            Api::<ConfigMap>::namespaced(viewing, "default")
                .list(&ListParams::default())
                .await
        ),
        401
    );
    tokio::task::spawn_blocking(move || sandbox.stop())
        .await
        .unwrap();
    eprintln!("took {:?}", started.elapsed());
}
