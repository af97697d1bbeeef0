//! Team state in S3 against moto, through the compiled `sim_dag` program: round trips, both
//! lock kinds, concurrent applies from separate processes, a holder killed with SIGKILL whose
//! lease expires, and migration both ways.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::str::FromStr;
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

    /// The lock record of stack `dev` under `prefix`, as the store wrote it.
    fn lock_record(&self, lock: Lock, prefix: &str) -> Option<serde_json::Value> {
        runtime().block_on(async {
            let text = match lock {
                Lock::DynamoDb => {
                    let item = self
                        .dynamodb
                        .get_item()
                        .table_name("locks")
                        .key(
                            "LockID",
                            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                                "team-state/{prefix}/dev/state.json"
                            )),
                        )
                        .consistent_read(true)
                        .send()
                        .await
                        .unwrap();
                    item.item()?.get("Info")?.as_s().ok()?.clone()
                }
                Lock::S3 => {
                    let object = self
                        .s3
                        .get_object()
                        .bucket("team-state")
                        .key(format!("{prefix}/dev/.lock"))
                        .send()
                        .await
                        .ok()?;
                    let bytes = object.body.collect().await.unwrap().into_bytes();
                    String::from_utf8(bytes.to_vec()).unwrap()
                }
            };
            Some(serde_json::from_str(&text).unwrap())
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

#[derive(Clone, Copy, Debug)]
enum Lock {
    DynamoDb,
    S3,
}

/// The two lock kinds, each with its own state prefix: `s3://team-state/{prefix}{-d|-s}?…`.
fn both_locks(prefix: &str, options: &str) -> [(Lock, String, String); 2] {
    [
        (
            Lock::DynamoDb,
            format!("{prefix}-d"),
            format!("s3://team-state/{prefix}-d?lock=dynamodb:locks{options}"),
        ),
        (
            Lock::S3,
            format!("{prefix}-s"),
            format!("s3://team-state/{prefix}-s?lock=s3{options}"),
        ),
    ]
}

/// The expiry a lock record names, as a Unix time in seconds.
fn expires(record: &serde_json::Value) -> i64 {
    let text = record["expires"]
        .as_str()
        .expect("a remote lock has an expiry");
    jiff::Timestamp::from_str(text).unwrap().as_second()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Polls `condition` every 20 ms until it holds; fails with `what` after a generous deadline
/// (these tests run on busy machines).
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An apply started in the background whose creates after the first `after` wait until
/// [`Held::release`] (the sim provider's hold file).
struct Held {
    child: std::process::Child,
    hold: std::path::PathBuf,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Held {
    fn start(aws: &Aws, dir: &Path, state: &str, n: usize, after: usize) -> Held {
        let hold = dir.join("hold");
        std::fs::write(&hold, b"").unwrap();
        let mut child = aws
            .sim(dir, state, n, 0)
            .env("GIRDER_SIM_HOLD_FILE", &hold)
            .env("GIRDER_SIM_HOLD_AFTER", after.to_string())
            .args(["apply", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, stderr) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Held {
            child,
            hold,
            stderr,
        }
    }

    fn release(&self) {
        std::fs::remove_file(&self.hold).unwrap();
    }

    /// Waits for a line of the run's stderr containing `needle`.
    fn wait_for_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("the run never printed `{needle}`"),
            }
        }
    }

    /// The rest of stderr and the exit status.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.stderr.iter().collect();
        (status, rest.join("\n"))
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
    for (lock, prefix, state) in both_locks("race", "") {
        let dir = TempDir::new().unwrap();
        // The first apply stops after 10 creates and holds the lock until released.
        let first = Held::start(&aws, dir.path(), &state, 100, 10);
        wait_for("the first apply holds the lock and created 10", || {
            cloud_count(dir.path()) == 10 && aws.lock_record(lock, &prefix).is_some()
        });
        let second = aws.run(dir.path(), &state, 100, &["apply", "--yes"]);
        assert_eq!(second.status.code(), Some(1), "{}", text(&second));
        let message = text(&second);
        assert!(
            message.contains("is locked: apply by")
                && message.contains(&format!("pid {}", first.child.id())),
            "{message}"
        );
        first.release();
        let (status, stderr) = first.finish();
        assert!(status.success(), "{stderr}");
        assert_eq!(cloud_count(dir.path()), 100);
        assert_eq!(listed(&aws, dir.path(), &state), 100);
        assert!(aws.lock_record(lock, &prefix).is_none(), "released");
    }
}

#[test]
fn a_killed_holders_lock_is_refused_while_its_lease_lasts() {
    let aws = aws();
    // A 10-minute lease: the refusal below cannot race its expiry, however busy the machine.
    for (lock, prefix, state) in both_locks("killed", "&lease=10m") {
        let dir = TempDir::new().unwrap();
        let mut holder = Held::start(&aws, dir.path(), &state, 200, 30);
        // Killed mid-apply: 30 resources exist, the next creates are journaled and in flight.
        wait_for("the holder created 30 and holds the lock", || {
            cloud_count(dir.path()) == 30 && aws.lock_record(lock, &prefix).is_some()
        });
        holder.child.kill().unwrap();
        holder.child.wait().unwrap();
        let record = aws
            .lock_record(lock, &prefix)
            .expect("the dead holder's lock stays");

        let refused = aws.run(dir.path(), &state, 200, &["apply", "--yes"]);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(text(&refused).contains("is locked"), "{}", text(&refused));
        assert_eq!(cloud_count(dir.path()), 30, "a refused run changes nothing");

        // Breaking the dead holder's lock by its id lets the next run recover and converge.
        let id = record["id"].as_str().unwrap();
        let unlock = aws.run(dir.path(), &state, 200, &["state", "unlock", id]);
        assert!(unlock.status.success(), "{}", text(&unlock));
        std::fs::remove_file(dir.path().join("hold")).unwrap();
        let converge = aws.run(dir.path(), &state, 200, &["apply", "--yes"]);
        assert!(converge.status.success(), "{state}: {}", text(&converge));
        assert_eq!(cloud_count(dir.path()), 200, "no duplicates, nothing lost");
        assert_eq!(listed(&aws, dir.path(), &state), 200);
    }
}

#[test]
fn a_killed_holders_lease_expires_and_the_next_apply_converges() {
    let aws = aws();
    for (lock, prefix, state) in both_locks("crash", "&lease=2s") {
        let dir = TempDir::new().unwrap();
        let mut holder = Held::start(&aws, dir.path(), &state, 200, 30);
        wait_for("the holder created 30 and holds the lock", || {
            cloud_count(dir.path()) == 30 && aws.lock_record(lock, &prefix).is_some()
        });
        holder.child.kill().unwrap();
        holder.child.wait().unwrap();
        std::fs::remove_file(dir.path().join("hold")).unwrap();
        // Nobody renews the dead holder's lease: wait until the record itself says it ran out
        // (whole seconds, as the stores compare them).
        wait_for("the dead holder's lease ran out", || {
            aws.lock_record(lock, &prefix)
                .is_none_or(|record| expires(&record) < now())
        });

        let converge = aws.run(dir.path(), &state, 200, &["apply", "--yes"]);
        assert!(converge.status.success(), "{state}: {}", text(&converge));
        assert!(
            text(&converge).contains("took over the expired lock"),
            "{}",
            text(&converge)
        );
        assert_eq!(cloud_count(dir.path()), 200, "no duplicates, nothing lost");
        assert_eq!(listed(&aws, dir.path(), &state), 200);
        let plan = aws.run(dir.path(), &state, 200, &["plan", "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    }
}

#[test]
fn the_heartbeat_keeps_an_apply_locked_long_past_its_lease() {
    let aws = aws();
    for (lock, prefix, state) in both_locks("beat", "&lease=3s") {
        let dir = TempDir::new().unwrap();
        let holder = Held::start(&aws, dir.path(), &state, 60, 20);
        wait_for("the holder created 20 and holds the lock", || {
            cloud_count(dir.path()) == 20 && aws.lock_record(lock, &prefix).is_some()
        });
        let first = aws.lock_record(lock, &prefix).unwrap();
        // Well past the first lease: only renewals keep the lock.
        wait_for("the lease was renewed past its first expiry", || {
            now() > expires(&first) + 1
                && aws
                    .lock_record(lock, &prefix)
                    .is_some_and(|record| expires(&record) >= now())
        });
        let refused = aws.run(dir.path(), &state, 60, &["apply", "--yes"]);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(text(&refused).contains("is locked"), "{}", text(&refused));
        let renewed = aws.lock_record(lock, &prefix).unwrap();
        assert_eq!(renewed["id"], first["id"], "the same holder");

        holder.release();
        let (status, stderr) = holder.finish();
        assert!(status.success(), "{stderr}");
        assert_eq!(cloud_count(dir.path()), 60);
        assert_eq!(listed(&aws, dir.path(), &state), 60);
    }
}

#[test]
fn a_holder_whose_lock_is_broken_stops_before_its_next_write() {
    let aws = aws();
    for (lock, prefix, state) in both_locks("broken", "&lease=3s") {
        let dir = TempDir::new().unwrap();
        let holder = Held::start(&aws, dir.path(), &state, 100, 20);
        wait_for("the holder created 20 and holds the lock", || {
            cloud_count(dir.path()) == 20 && aws.lock_record(lock, &prefix).is_some()
        });
        // Someone breaks the lock while the holder still works.
        let record = aws.lock_record(lock, &prefix).unwrap();
        let id = record["id"].as_str().unwrap();
        let unlock = aws.run(dir.path(), &state, 100, &["state", "unlock", id]);
        assert!(unlock.status.success(), "{}", text(&unlock));
        // Its next heartbeat finds the lock gone; from then on it writes nothing.
        holder.wait_for_stderr("lost the state lock");
        let journal_before = journal_objects(&aws, &prefix);
        holder.release();
        let (status, stderr) = holder.finish();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("the lock on stack `dev` was lost"),
            "{stderr}"
        );
        assert_eq!(
            journal_objects(&aws, &prefix),
            journal_before,
            "nothing was written after the lock was lost"
        );
        assert!(cloud_count(dir.path()) < 100, "it stopped starting work");

        // The next run recovers the calls left in flight and converges without duplicates.
        let converge = aws.run(dir.path(), &state, 100, &["apply", "--yes"]);
        assert!(converge.status.success(), "{state}: {}", text(&converge));
        assert_eq!(cloud_count(dir.path()), 100, "no duplicates, nothing lost");
        assert_eq!(listed(&aws, dir.path(), &state), 100);
    }
}

fn journal_objects(aws: &Aws, prefix: &str) -> usize {
    aws.keys(&format!("{prefix}/dev/"))
        .iter()
        .filter(|k| k.contains("/journal/"))
        .count()
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
