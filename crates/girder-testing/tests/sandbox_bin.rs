//! The `sandbox` binary end to end: it starts, writes the environment, serves the AWS SDK
//! through the behaviour layer, serves an ACTIVE EKS cluster with a Kubernetes emulator as
//! EKS does (HTTPS with the cluster's CA, its Kubernetes version, an admin kubeconfig with
//! `--kubeconfig-out`), and on SIGTERM stops everything, moto's process included.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_eks::types::{ClusterStatus, VpcConfigRequest};

/// Waits for `condition` with a generous deadline, polling.
fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_env(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect()
}

/// Whether a process runs (exists and is not a zombie waiting to be reaped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
        .unwrap_or(false)
}

fn http_get(url: &str) -> Option<String> {
    let address = url.strip_prefix("http://")?.trim_end_matches('/');
    let (host, path) = address
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((address, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn the_sandbox_serves_aws_and_eks_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("sandbox.env");
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args([
            "--env-out",
            env_file.to_str().unwrap(),
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
            "--behaviours",
            "lifecycle,consistency",
            "--scale",
            "0.01",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_until("the environment file", Duration::from_secs(90), || {
        env_file.exists()
    });
    let env = read_env(&env_file);
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    let moto_pid: u32 = env["GIRDER_SANDBOX_MOTO_PID"].parse().unwrap();
    assert!(alive(moto_pid));
    let behaviours = http_get(&format!("{}/behaviours", env["GIRDER_AWS_LAYER_CONTROL"])).unwrap();
    assert!(
        behaviours.contains("\"lifecycle\":{\"enabled\":true"),
        "{behaviours}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime.block_on(async {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new(env["AWS_REGION"].clone()))
            .credentials_provider(Credentials::new(
                env["AWS_ACCESS_KEY_ID"].clone(),
                env["AWS_SECRET_ACCESS_KEY"].clone(),
                None,
                None,
                "sandbox",
            ))
            .load()
            .await;
        let eks = aws_sdk_eks::Client::new(&config);
        let created = eks
            .create_cluster()
            .name("sandboxed")
            .version("1.36")
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
            .send()
            .await
            .unwrap();
        assert_eq!(
            created.cluster().unwrap().status(),
            Some(&ClusterStatus::Creating)
        );
        // Ten minutes at scale 0.01: six seconds. Poll with a generous deadline.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let cluster = eks
                .describe_cluster()
                .name("sandboxed")
                .send()
                .await
                .unwrap()
                .cluster
                .unwrap();
            if cluster.status() == Some(&ClusterStatus::Active) {
                let ca = cluster
                    .certificate_authority()
                    .and_then(|c| c.data())
                    .unwrap_or_default();
                assert!(ca.starts_with("LS0tLS1CRUdJTi"), "a base64 PEM CA: {ca}");
                break cluster.endpoint().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "the cluster never became ACTIVE");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert!(emulator.starts_with("https://127.0.0.1:"), "{emulator}");
    wait_until("the admin kubeconfig", Duration::from_secs(60), || {
        kubeconfig.exists()
    });
    let kubectl = girder_testing::tools::venv_tool("kubectl", "GIRDER_KUBECTL");
    let version = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["version", "-o", "json"])
        .output()
        .expect("kubectl runs (scripts/kubectl.sh installs it)");
    assert!(
        version.status.success(),
        "{}",
        String::from_utf8_lossy(&version.stderr)
    );
    let version: serde_json::Value = serde_json::from_slice(&version.stdout).unwrap();
    assert_eq!(version["serverVersion"]["minor"], "36", "{version}");
    assert_eq!(
        std::fs::read_to_string(&kubeconfig)
            .unwrap()
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: ")),
        Some(emulator.as_str())
    );
    let address = emulator.trim_start_matches("https://").to_owned();

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    let mut summary = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut summary)
        .unwrap();
    assert!(summary.contains("AWS endpoint"), "{summary}");
    assert!(summary.contains("lifecycle fired"), "{summary}");
    wait_until("moto to exit", Duration::from_secs(30), || !alive(moto_pid));
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "the emulator stopped"
    );
    assert!(!env_file.exists(), "the environment file is removed");
    assert!(!kubeconfig.exists(), "the kubeconfig is removed");
}
