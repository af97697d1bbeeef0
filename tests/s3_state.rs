//! Team state in S3 against moto, through the compiled `sim_dag` program: round trips, both
//! lock kinds, concurrent applies from separate processes, a holder killed with SIGKILL whose
//! lease expires, and migration both ways.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use girder_testing::moto::MotoServer;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_sim_dag");

struct Aws {
    moto: MotoServer,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn aws() -> Aws {
    let moto =
        MotoServer::start().expect("moto_server must be installed: run scripts/python-deps.sh");
    let config = aws_config::SdkConfig::builder()
        .endpoint_url(moto.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("testing", "testing", None, None, "tests"),
            ),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    runtime().block_on(async {
        s3.create_bucket()
            .bucket("team-state")
            .send()
            .await
            .unwrap();
        s3.put_bucket_versioning()
            .bucket("team-state")
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        dynamodb
            .create_table()
            .table_name("locks")
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
    });
    Aws { moto, s3, dynamodb }
}

impl Aws {
    fn sim(&self, dir: &Path, state: &str, n: usize, latency_ms: u64) -> Command {
        let mut command = Command::new(BIN);
        command
            .current_dir(dir)
            .envs(self.moto.env())
            .env("GIRDER_STATE", state)
            .env("GIRDER_SIM_DIR", dir.join("cloud"))
            .env("GIRDER_SIM_N", n.to_string())
            .env("GIRDER_SIM_LATENCY_MS", latency_ms.to_string())
            .env("GIRDER_PASSPHRASE", "team passphrase")
            .env("NO_COLOR", "1")
            .env_remove("GIRDER_STACK");
        command
    }

    fn run(&self, dir: &Path, state: &str, n: usize, args: &[&str]) -> Output {
        self.sim(dir, state, n, 0).args(args).output().unwrap()
    }

    fn keys(&self, prefix: &str) -> Vec<String> {
        runtime().block_on(async {
            let listed = self
                .s3
                .list_objects_v2()
                .bucket("team-state")
                .prefix(prefix)
                .send()
                .await
                .unwrap();
            listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect()
        })
    }

    fn dynamo_lock_held(&self) -> bool {
        runtime().block_on(async {
            let scan = self
                .dynamodb
                .scan()
                .table_name("locks")
                .send()
                .await
                .unwrap();
            scan.count() > 0
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

fn cloud_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("cloud"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

fn listed(aws: &Aws, dir: &Path, state: &str) -> usize {
    let output = aws.run(dir, state, 0, &["state", "list"]);
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout).lines().count()
}

#[test]
fn state_round_trips_through_s3_with_both_lock_kinds() {
    let aws = aws();
    for (state, prefix) in [
        ("s3://team-state/dynamo?lock=dynamodb:locks", "dynamo/dev/"),
        ("s3://team-state/lockfile?lock=s3", "lockfile/dev/"),
    ] {
        let dir = TempDir::new().unwrap();
        let apply = aws.run(dir.path(), state, 40, &["apply", "--yes"]);
        assert!(apply.status.success(), "{state}: {}", text(&apply));
        assert!(
            aws.keys(prefix).iter().any(|k| k.ends_with("state.json")),
            "{:?}",
            aws.keys(prefix)
        );
        // Each journal write is its own object until the next command compacts them.
        assert!(
            aws.keys(prefix)
                .iter()
                .filter(|k| k.contains("/journal/"))
                .count()
                >= 80
        );
        let plan = aws.run(dir.path(), state, 40, &["plan", "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{state}: {}", text(&plan));
        // A mutating command first compacts the journal into state.json (refresh finds no drift,
        // so nothing new is journaled after that).
        let refresh = aws.run(dir.path(), state, 40, &["refresh"]);
        assert!(refresh.status.success(), "{}", text(&refresh));
        assert_eq!(
            aws.keys(prefix)
                .iter()
                .filter(|k| k.contains("/journal/"))
                .count(),
            0,
            "{:?}",
            aws.keys(prefix)
        );
        assert!(
            aws.keys(prefix)
                .iter()
                .any(|k| k.ends_with("state.backup.json"))
        );
        assert_eq!(listed(&aws, dir.path(), state), 40);
        let output = aws.run(dir.path(), state, 40, &["output", "first"]);
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("sim-"));
        let destroy = aws.run(dir.path(), state, 40, &["destroy", "--yes"]);
        assert!(destroy.status.success(), "{}", text(&destroy));
        assert_eq!(cloud_count(dir.path()), 0);
        assert_eq!(listed(&aws, dir.path(), state), 0);
        assert!(
            !aws.keys(prefix).iter().any(|k| k.ends_with(".lock")),
            "the lock is released"
        );
    }
    assert!(!aws.dynamo_lock_held());
}

#[test]
fn a_second_apply_is_refused_with_the_holder_named() {
    let aws = aws();
    for (state, lock_held) in [
        (
            "s3://team-state/race-d?lock=dynamodb:locks",
            Box::new(|aws: &Aws| aws.dynamo_lock_held()) as Box<dyn Fn(&Aws) -> bool>,
        ),
        (
            "s3://team-state/race-s?lock=s3",
            Box::new(|aws: &Aws| aws.keys("race-s/dev/.lock").len() == 1),
        ),
    ] {
        let dir = TempDir::new().unwrap();
        let first = aws
            .sim(dir.path(), state, 100, 40)
            .args(["apply", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !lock_held(&aws) {
            assert!(
                Instant::now() < deadline,
                "the first apply never took the lock"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let second = aws.run(dir.path(), state, 100, &["apply", "--yes"]);
        assert_eq!(second.status.code(), Some(1), "{}", text(&second));
        let message = text(&second);
        assert!(
            message.contains("is locked: apply by")
                && message.contains(&format!("pid {}", first.id())),
            "{message}"
        );
        assert!(first.wait_with_output().unwrap().status.success());
        assert_eq!(cloud_count(dir.path()), 100);
        assert_eq!(listed(&aws, dir.path(), state), 100);
    }
}

#[test]
fn a_killed_holders_lease_expires_and_the_next_apply_converges() {
    let aws = aws();
    for state in [
        "s3://team-state/crash-d?lock=dynamodb:locks&lease=2s",
        "s3://team-state/crash-s?lock=s3&lease=2s",
    ] {
        let dir = TempDir::new().unwrap();
        let mut holder = aws
            .sim(dir.path(), state, 200, 30)
            .args(["apply", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it mid-apply: some resources exist, some calls are pending.
        let deadline = Instant::now() + Duration::from_secs(20);
        while cloud_count(dir.path()) < 30 {
            assert!(Instant::now() < deadline, "the apply never got going");
            std::thread::sleep(Duration::from_millis(10));
        }
        holder.kill().unwrap();
        holder.wait().unwrap();

        // Right away the lock is still leased to the dead holder.
        let refused = aws.run(dir.path(), state, 200, &["apply", "--yes"]);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(text(&refused).contains("is locked"), "{}", text(&refused));

        std::thread::sleep(Duration::from_millis(2500));
        let converge = aws.run(dir.path(), state, 200, &["apply", "--yes"]);
        assert!(converge.status.success(), "{state}: {}", text(&converge));
        assert!(
            text(&converge).contains("took over the expired lock"),
            "{}",
            text(&converge)
        );
        assert_eq!(cloud_count(dir.path()), 200, "no duplicates, nothing lost");
        assert_eq!(listed(&aws, dir.path(), state), 200);
        let plan = aws.run(dir.path(), state, 200, &["plan", "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    }
}

#[test]
fn state_migrates_between_the_embedded_store_and_s3_both_ways() {
    let aws = aws();
    let dir = TempDir::new().unwrap();
    let local = dir.path().join("local-state");
    let local = local.to_str().unwrap();
    let remote = "s3://team-state/migrated?lock=dynamodb:locks&kms_key_id=alias/girder-state";
    assert!(
        aws.run(dir.path(), local, 30, &["apply", "--yes"])
            .status
            .success()
    );

    let to_s3 = aws.run(dir.path(), local, 30, &["state", "migrate", "--to", remote]);
    assert!(to_s3.status.success(), "{}", text(&to_s3));
    assert!(
        text(&to_s3).contains("Migrated stack `dev`: 30 resource(s)")
            && text(&to_s3).contains("checksum"),
        "{}",
        text(&to_s3)
    );
    let plan = aws.run(dir.path(), remote, 30, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        Path::new(local).join("dev.db").exists(),
        "the old state is kept"
    );

    // Refuses to overwrite a non-empty target.
    let again = aws.run(dir.path(), local, 30, &["state", "migrate", "--to", remote]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).contains("refusing to overwrite"),
        "{}",
        text(&again)
    );

    let back_dir = dir.path().join("back-state");
    let back = back_dir.to_str().unwrap();
    let to_local = aws.run(dir.path(), remote, 30, &["state", "migrate", "--to", back]);
    assert!(to_local.status.success(), "{}", text(&to_local));
    let plan = aws.run(dir.path(), back, 30, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert_eq!(listed(&aws, dir.path(), back), 30);
}

#[test]
fn bad_locations_are_explained() {
    let dir = TempDir::new().unwrap();
    let output = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--state", "s3://team-state/x?lock=redis", "plan"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("lock `redis` is neither `dynamodb:TABLE` nor `s3`"),
        "{}",
        text(&output)
    );
}

/// The seed's bootstrap made with girder itself: `state_backend` creates the bucket and the
/// lock table (its own state local), and its `state_url` output is the `--state` of the stacks
/// that follow.
#[test]
fn the_state_backend_bootstrap_serves_the_next_stacks() {
    let moto =
        MotoServer::start().expect("moto_server must be installed: run scripts/python-deps.sh");
    let dir = TempDir::new().unwrap();
    let bootstrap = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_state_backend"))
            .current_dir(dir.path())
            .envs(moto.env())
            .env("GIRDER_PASSPHRASE", "team passphrase")
            .env("NO_COLOR", "1")
            .env_remove("GIRDER_STATE")
            .env_remove("GIRDER_STACK")
            .args(args)
            .output()
            .unwrap()
    };
    let apply = bootstrap(&["apply", "--yes"]);
    assert!(apply.status.success(), "{}", text(&apply));
    let url = String::from_utf8(bootstrap(&["output", "state_url"]).stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        url.starts_with("s3://") && url.contains("lock=dynamodb:"),
        "{url}"
    );

    let sim = Command::new(BIN)
        .current_dir(dir.path())
        .envs(moto.env())
        .env("GIRDER_STATE", &url)
        .env("GIRDER_SIM_DIR", dir.path().join("cloud"))
        .env("GIRDER_SIM_N", "20")
        .env("GIRDER_PASSPHRASE", "team passphrase")
        .args(["--stack", "app", "apply", "--yes"])
        .output()
        .unwrap();
    assert!(sim.status.success(), "{}", text(&sim));
    assert_eq!(cloud_count(dir.path()), 20);
}
