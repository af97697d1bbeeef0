//! The command line, end to end: the compiled `sim_dag` program against its simulated cloud
//! and the embedded state store.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_sim_dag");

fn sim(dir: &Path, n: usize, latency_ms: u64) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env("GIRDER_SIM_DIR", dir.join("cloud"))
        .env("GIRDER_SIM_N", n.to_string())
        .env("GIRDER_SIM_LAYERS", "10")
        .env("GIRDER_SIM_LATENCY_MS", latency_ms.to_string())
        .env("GIRDER_PASSPHRASE", "test passphrase")
        .env("NO_COLOR", "1")
        .env_remove("GIRDER_STATE")
        .env_remove("GIRDER_STACK");
    command
}

fn run(dir: &Path, n: usize, args: &[&str]) -> Output {
    sim(dir, n, 0)
        .args(args)
        .output()
        .expect("the sim_dag program runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn cloud_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("cloud")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().to_string_lossy().ends_with(".json")
                && !e.file_name().to_string_lossy().starts_with('.')
        })
        .map(|e| {
            let object: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            object["resource"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names
}

fn state_list(dir: &Path, n: usize) -> Vec<String> {
    let output = run(dir, n, &["state", "list"]);
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

#[test]
fn plan_apply_empty_plan_destroy() {
    let dir = TempDir::new().unwrap();
    let plan = run(dir.path(), 100, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(text(&plan).contains("Plan: 100 to create, 0 to update, 0 to replace, 0 to delete"));

    let apply = run(dir.path(), 100, &["apply", "--yes"]);
    assert!(apply.status.success(), "{}", text(&apply));
    assert!(
        text(&apply).contains("Apply complete! Resources: 100 created"),
        "{}",
        text(&apply)
    );
    assert_eq!(cloud_names(dir.path()).len(), 100);
    assert_eq!(state_list(dir.path(), 100).len(), 100);

    let again = run(dir.path(), 100, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("No changes."));

    let output = run(dir.path(), 100, &["output", "first"]);
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .starts_with("sim-")
    );

    let destroy = run(dir.path(), 100, &["destroy", "--yes"]);
    assert!(destroy.status.success(), "{}", text(&destroy));
    assert!(cloud_names(dir.path()).is_empty());
    assert!(state_list(dir.path(), 100).is_empty());
}

/// Resource names found more than once in the simulated cloud.
fn duplicates(cloud: &[String]) -> Vec<&String> {
    let mut seen = std::collections::BTreeSet::new();
    cloud.iter().filter(|name| !seen.insert(*name)).collect()
}

/// Polls `condition` until it holds; panics naming `what` after a generous deadline.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Eight applies are SIGKILLed while they are provably mid-apply: creates after a random
/// `after` are held (the sim provider's hold file), so the run cannot finish, and each kill
/// lands once a random number of the un-held creates has reached the cloud (others may still
/// be in flight). Every round leaves some but not all resources, never one twice; a last
/// apply converges to exactly N.
#[test]
fn applies_killed_at_random_moments_converge() {
    let dir = TempDir::new().unwrap();
    let n = 300;
    let hold = dir.path().join("hold");
    for round in 0..8 {
        let before = cloud_names(dir.path()).len();
        // At most 20 new creates a round: 8 rounds never reach n, so a held create remains.
        let after = 1 + rand::random::<u64>() as usize % 20;
        let kill_at = before + 1 + rand::random::<u64>() as usize % after;
        std::fs::write(&hold, b"").unwrap();
        let mut child = sim(dir.path(), n, 15)
            .env("GIRDER_SIM_HOLD_FILE", &hold)
            .env("GIRDER_SIM_HOLD_AFTER", after.to_string())
            .args(["apply", "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until(&format!("round {round}: {kill_at} objects exist"), || {
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the apply ended before it was killed"
            );
            cloud_names(dir.path()).len() >= kill_at
        });
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: the apply ended before it was killed"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        std::fs::remove_file(&hold).unwrap();

        let cloud = cloud_names(dir.path());
        assert!(
            (kill_at..n).contains(&cloud.len()),
            "round {round}: the kill landed mid-apply: {} of {n} objects, {kill_at} expected at least",
            cloud.len()
        );
        assert!(
            cloud.len() <= before + after,
            "round {round}: {} objects after at most {after} creates on top of {before}",
            cloud.len()
        );
        assert_eq!(
            duplicates(&cloud),
            Vec::<&String>::new(),
            "round {round}: no resource exists twice in the cloud"
        );
    }
    let last = run(dir.path(), n, &["apply", "--yes"]);
    assert!(last.status.success(), "{}", text(&last));
    let cloud = cloud_names(dir.path());
    assert_eq!(
        duplicates(&cloud),
        Vec::<&String>::new(),
        "no resource exists twice in the cloud"
    );
    assert_eq!(cloud.len(), n, "exactly N resources exist");
    let listed = state_list(dir.path(), n);
    assert_eq!(listed.len(), n, "exactly N resources are recorded");
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(listed_sorted, cloud, "the state and the cloud agree");
    let plan = run(dir.path(), n, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[test]
fn a_second_apply_is_refused_with_the_holder_named() {
    let dir = TempDir::new().unwrap();
    let first = sim(dir.path(), 200, 60)
        .args(["apply", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run holds the lock, then start the second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let db = dir.path().join(".girder/dev.db");
    loop {
        let held = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM lock", [], |row| row.get::<_, i64>(0)))
            .unwrap_or(0);
        if held == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first apply never took the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let refused = run(dir.path(), 200, &["apply", "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = text(&refused);
    assert!(message.contains("is locked: apply by"), "{message}");
    assert!(
        message.contains(&format!("pid {}", first.id())),
        "{message}"
    );
    let status = first.wait_with_output().unwrap().status;
    assert!(status.success());
    assert_eq!(cloud_names(dir.path()).len(), 200);
}

#[test]
fn a_corrupted_state_is_refused_with_the_fix() {
    let dir = TempDir::new().unwrap();
    assert!(run(dir.path(), 20, &["apply", "--yes"]).status.success());
    let db = dir.path().join(".girder/dev.db");
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .execute(
            "UPDATE resources SET body = replace(body, 'n0-0', 'n0-X') WHERE name = 'n0-0'",
            [],
        )
        .unwrap();
    drop(connection);
    let plan = run(dir.path(), 20, &["plan"]);
    assert_eq!(plan.status.code(), Some(1));
    let message = text(&plan);
    assert!(
        message.contains("corrupted")
            && message.contains("checksum")
            && message.contains("fix: restore"),
        "{message}"
    );

    // A file that is not a database at all.
    std::fs::write(&db, vec![b'x'; 8192]).unwrap();
    let _ = std::fs::remove_file(dir.path().join(".girder/dev.db-wal"));
    let _ = std::fs::remove_file(dir.path().join(".girder/dev.db-shm"));
    let plan = run(dir.path(), 20, &["plan"]);
    assert_eq!(plan.status.code(), Some(1));
    assert!(text(&plan).contains("corrupted"), "{}", text(&plan));
}

#[test]
fn saved_plans_apply_exactly_or_are_refused_when_stale() {
    let dir = TempDir::new().unwrap();
    let saved = dir.path().join("first.plan");
    let plan = run(dir.path(), 30, &["plan", "--out", saved.to_str().unwrap()]);
    assert!(plan.status.success(), "{}", text(&plan));
    let apply = run(dir.path(), 30, &["apply", saved.to_str().unwrap()]);
    assert!(apply.status.success(), "{}", text(&apply));
    assert_eq!(cloud_names(dir.path()).len(), 30);

    // Plan against the state, let the state move on, then the saved plan is stale.
    let stale = dir.path().join("stale.plan");
    assert!(
        run(dir.path(), 40, &["plan", "--out", stale.to_str().unwrap()])
            .status
            .success()
    );
    assert!(run(dir.path(), 50, &["apply", "--yes"]).status.success());
    let refused = run(dir.path(), 40, &["apply", stale.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("is stale"), "{}", text(&refused));
    assert_eq!(cloud_names(dir.path()).len(), 50);
}

#[test]
fn bad_flags_are_explained() {
    let dir = TempDir::new().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--parallelism", "many", "plan"], "invalid value 'many'"),
        (
            &["plan", "--format", "xml"],
            "possible values: human, json, terraform-json",
        ),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            &["--stack", "../etc", "plan"],
            "a stack name has 1 to 100 ASCII letters",
        ),
    ];
    for (args, expected) in cases {
        let output = run(dir.path(), 10, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            text(&output).contains(expected),
            "{args:?}: {}",
            text(&output)
        );
    }
    let refused = sim(dir.path(), 10, 0)
        .args(["apply"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("pass --yes"), "{}", text(&refused));
    assert!(cloud_names(dir.path()).is_empty());
}

#[test]
fn machine_readable_plans() {
    let dir = TempDir::new().unwrap();
    let plan = run(dir.path(), 20, &["plan", "--format", "terraform-json"]);
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(json["format_version"], "1.2");
    let changes = json["resource_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 20);
    assert_eq!(
        changes[0]["change"]["actions"],
        serde_json::json!(["create"])
    );
    assert_eq!(changes[0]["address"], "sim_resource.n0-0");
    assert_eq!(changes[5]["change"]["after_unknown"]["a"], true);

    let plan = run(dir.path(), 20, &["plan", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(json["steps"].as_array().unwrap().len(), 20);

    let events = run(dir.path(), 20, &["--json", "apply", "--yes"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&events.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.iter().any(|e| e["event"] == "action_finished"));
    assert_eq!(lines.last().unwrap()["event"], "summary");
    assert_eq!(lines.last().unwrap()["succeeded"], 20);
}

#[test]
fn state_commands_and_import() {
    let dir = TempDir::new().unwrap();
    assert!(run(dir.path(), 20, &["apply", "--yes"]).status.success());
    let show = run(dir.path(), 20, &["state", "show", "n1-0"]);
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let id = json["id"].as_str().unwrap().to_owned();
    assert_eq!(json["dependencies"], serde_json::json!(["n0-0", "n0-1"]));

    // Forget it, then adopt the same cloud resource again.
    let rm = run(dir.path(), 20, &["state", "rm", "n1-0"]);
    assert!(rm.status.success(), "{}", text(&rm));
    assert_eq!(state_list(dir.path(), 20).len(), 19);
    let import = run(dir.path(), 20, &["import", "n1-0", &id, "--yes"]);
    assert!(import.status.success(), "{}", text(&import));
    assert_eq!(state_list(dir.path(), 20).len(), 20);
    assert_eq!(cloud_names(dir.path()).len(), 20);
    let plan = run(dir.path(), 20, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    let missing = run(dir.path(), 20, &["state", "show", "nope"]);
    assert!(text(&missing).contains("no resource `nope`"));
    let unlock = run(dir.path(), 20, &["state", "unlock"]);
    assert!(text(&unlock).contains("is not locked"));
}

/// `state mv` renames a record without touching the cloud; the plan shows what the program
/// makes of the rename, and moving it back restores an empty plan.
#[test]
fn state_mv_renames_a_record() {
    let dir = TempDir::new().unwrap();
    assert!(run(dir.path(), 20, &["apply", "--yes"]).status.success());
    let show = |name: &str| {
        let output = run(dir.path(), 20, &["state", "show", name]);
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let id = show("n0-0")["id"].clone();

    let mv = run(dir.path(), 20, &["state", "mv", "n0-0", "legacy-0"]);
    assert!(mv.status.success(), "{}", text(&mv));
    assert!(text(&mv).contains("Moved `n0-0` to `legacy-0`"));
    assert_eq!(show("legacy-0")["id"], id);
    // Records that depended on it follow the rename.
    assert_eq!(
        show("n1-0")["dependencies"],
        serde_json::json!(["legacy-0", "n0-1"])
    );
    assert_eq!(cloud_names(dir.path()).len(), 20);
    // The program still calls it `n0-0`: the plan would create that and delete `legacy-0`.
    let plan = run(dir.path(), 20, &["plan", "--refresh=false"]);
    assert!(
        text(&plan).contains("1 to create") && text(&plan).contains("1 to delete"),
        "{}",
        text(&plan)
    );

    let taken = run(dir.path(), 20, &["state", "mv", "legacy-0", "n0-1"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(
        text(&taken).contains("the state already records `n0-1`"),
        "{}",
        text(&taken)
    );
    let missing = run(dir.path(), 20, &["state", "mv", "nope", "n0-0"]);
    assert!(text(&missing).contains("no resource `nope`"));

    let back = run(dir.path(), 20, &["state", "mv", "legacy-0", "n0-0"]);
    assert!(back.status.success(), "{}", text(&back));
    let plan = run(dir.path(), 20, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert_eq!(show("n0-0")["id"], id);
}

#[test]
fn replace_flag_replaces_an_unchanged_resource() {
    let dir = TempDir::new().unwrap();
    assert!(run(dir.path(), 20, &["apply", "--yes"]).status.success());
    let plan = run(
        dir.path(),
        20,
        &["plan", "--replace", "n9-0", "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(
        text(&plan).contains("Plan: 0 to create, 0 to update, 1 to replace, 0 to delete")
            && text(&plan).contains("replacement requested with `--replace`"),
        "{}",
        text(&plan)
    );
    let apply = run(dir.path(), 20, &["apply", "--yes", "--replace", "n9-0"]);
    assert!(apply.status.success(), "{}", text(&apply));
    assert_eq!(cloud_names(dir.path()).len(), 20);
    let unknown = run(dir.path(), 20, &["plan", "--replace", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown).contains("--replace names no resource"));
}

/// `graph` prints the program's dependency graph in each notation: 20 nodes in 10 layers of
/// 2, node (k, i) depending on (k-1, i) and (k-1, (i+1) mod 2), so 36 edges, each from a
/// dependency to its dependent. It reads no state and touches no cloud.
#[test]
fn graph_prints_every_node_and_edge_in_each_notation() {
    let dir = TempDir::new().unwrap();
    let mut expected_edges: Vec<(String, String)> = Vec::new();
    for k in 1..10 {
        for i in 0..2 {
            for j in [i, (i + 1) % 2] {
                expected_edges.push((format!("n{}-{j}", k - 1), format!("n{k}-{i}")));
            }
        }
    }
    expected_edges.sort();
    assert_eq!(expected_edges.len(), 36);

    let json = run(dir.path(), 20, &["graph", "--format", "json"]);
    assert!(json.status.success(), "{}", text(&json));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["stack"], "dev");
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 20);
    assert_eq!(
        nodes[0],
        serde_json::json!({"name": "n0-0", "type": "sim:resource", "kind": "resource"})
    );
    let mut edges: Vec<(String, String)> = json["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    edges.sort();
    assert_eq!(edges, expected_edges);

    let dot = run(dir.path(), 20, &["graph"]);
    assert!(dot.status.success(), "{}", text(&dot));
    let dot = String::from_utf8_lossy(&dot.stdout).into_owned();
    let lines: Vec<&str> = dot.lines().collect();
    assert_eq!(lines[0], "digraph \"dev\" {", "{dot}");
    assert_eq!(lines.last().copied(), Some("}"), "{dot}");
    assert!(
        lines.contains(&"  \"n0-0\" [label=\"n0-0\\nsim:resource\"];"),
        "{dot}"
    );
    assert_eq!(lines.iter().filter(|l| l.contains("[label=")).count(), 20);
    let mut dot_edges: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| {
            let (from, to) = l.trim().strip_suffix(';')?.split_once(" -> ")?;
            Some((
                from.trim_matches('"').to_owned(),
                to.trim_matches('"').to_owned(),
            ))
        })
        .collect();
    dot_edges.sort();
    assert_eq!(dot_edges, expected_edges);

    let mermaid = run(dir.path(), 20, &["graph", "--format", "mermaid"]);
    assert!(mermaid.status.success(), "{}", text(&mermaid));
    let mermaid = String::from_utf8_lossy(&mermaid.stdout).into_owned();
    let lines: Vec<&str> = mermaid.lines().collect();
    assert_eq!(lines[0], "flowchart LR", "{mermaid}");
    // Nodes are numbered in program order: n0 is `n0-0`.
    assert!(
        lines.contains(&"  n0[\"n0-0<br/><small>sim:resource</small>\"]"),
        "{mermaid}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("<small>")).count(),
        20,
        "{mermaid}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains(" --> ")).count(),
        36,
        "{mermaid}"
    );

    assert!(cloud_names(dir.path()).is_empty());
    assert!(
        !dir.path().join(".girder").exists(),
        "graph opened no state"
    );
}

/// A saved plan made for another version of the program (here, 40 resources where the
/// program now declares 30) is refused as a whole with the fix, and nothing is applied.
#[test]
fn a_saved_plan_for_a_changed_program_is_refused() {
    let dir = TempDir::new().unwrap();
    let saved = dir.path().join("forty.plan");
    let plan = run(dir.path(), 40, &["plan", "--out", saved.to_str().unwrap()]);
    assert!(plan.status.success(), "{}", text(&plan));
    let refused = run(dir.path(), 30, &["apply", saved.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = text(&refused);
    assert!(
        message.contains("the plan does not match the program: it has a step for `n0-3`")
            && message.contains("make a new plan"),
        "{message}"
    );
    assert!(cloud_names(dir.path()).is_empty());
    assert!(state_list(dir.path(), 30).is_empty());
}

/// What scripts rely on: every `--json` stdout line is a versioned, timestamped JSON event and
/// errors are JSON too; saved plans can be shown again in every format; `-y` and
/// `--auto-approve` confirm; completions come from the same command line; colour follows
/// `--color` (and NO_COLOR, which these runs set).
#[test]
fn output_that_scripts_can_trust() {
    let dir = TempDir::new().unwrap();

    let events = run(dir.path(), 5, &["--json", "apply", "-y"]);
    assert!(events.status.success(), "{}", text(&events));
    let stdout = String::from_utf8_lossy(&events.stdout);
    for line in stdout.lines() {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a stdout line that is not JSON ({e}): {line}"));
        assert_eq!(event["schema"], "girder.events/1", "{line}");
        assert!(
            event["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
    }
    assert!(stdout.lines().count() > 5, "{stdout}");

    // A saved plan shown again: as `plan` printed it, and in the machine formats.
    let file = dir.path().join("destroy.plan");
    let file = file.to_str().unwrap();
    let saved = run(dir.path(), 5, &["plan", "--destroy", "--out", file]);
    assert!(saved.status.success(), "{}", text(&saved));
    let shown = run(dir.path(), 5, &["show", file]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(
        String::from_utf8_lossy(&shown.stdout)
            .contains("Plan: 0 to create, 0 to update, 0 to replace, 10 to delete"),
        "{}",
        text(&shown)
    );
    for format in ["json", "terraform-json"] {
        let shown = run(dir.path(), 5, &["show", file, "--format", format]);
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout)
            .unwrap_or_else(|e| panic!("show --format {format}: {e}: {}", text(&shown)));
        assert!(json.is_object());
    }
    let destroyed = run(dir.path(), 5, &["apply", file]);
    assert!(destroyed.status.success(), "{}", text(&destroyed));
    assert!(cloud_names(dir.path()).is_empty());

    // Errors with `--json`: nothing on stdout, one JSON object on stderr.
    let missing = run(dir.path(), 5, &["--json", "show", "no-such.plan"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty(), "{}", text(&missing));
    let error: serde_json::Value = serde_json::from_slice(&missing.stderr)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&missing)));
    assert_eq!(error["event"], "error");
    assert!(
        error["message"].as_str().unwrap().contains("no-such.plan"),
        "{error}"
    );

    // `--auto-approve` is `--yes`.
    let again = run(dir.path(), 5, &["apply", "--auto-approve"]);
    assert!(again.status.success(), "{}", text(&again));
    let destroyed = run(dir.path(), 5, &["destroy", "-y"]);
    assert!(destroyed.status.success(), "{}", text(&destroyed));

    // Colour: never on a pipe under NO_COLOR, unless asked for.
    let plain = run(dir.path(), 5, &["plan"]);
    assert!(!plain.stdout.contains(&0x1b), "{}", text(&plain));
    let coloured = run(dir.path(), 5, &["--color", "always", "plan"]);
    assert!(coloured.stdout.contains(&0x1b), "{}", text(&coloured));

    // Completions from the same command line, the program's own options included.
    let bash = run(dir.path(), 5, &["completions", "bash"]);
    assert!(bash.status.success(), "{}", text(&bash));
    let script = String::from_utf8_lossy(&bash.stdout);
    for word in ["complete", "plan", "apply", "destroy", "--auto-approve"] {
        assert!(
            script.contains(word),
            "{word} missing from the bash completions"
        );
    }
}

/// A pull-request pipeline plans while an apply holds the stack: `plan --read-only` takes no
/// lock and writes nothing, where a plain plan is refused.
#[test]
fn a_read_only_plan_takes_no_lock_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    assert!(run(dir.path(), 5, &["apply", "--yes"]).status.success());
    // Another run (this test process, alive) holds the stack's lock.
    let db = dir.path().join(".girder/dev.db");
    let holder = girder::state::LockInfo::for_current_process("apply");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO lock (id, info) VALUES (1, ?1)",
            [serde_json::to_string(&holder).unwrap()],
        )
        .unwrap();
    let before = std::fs::read(&db).unwrap();

    let refused = run(dir.path(), 5, &["plan"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("is locked"), "{}", text(&refused));

    let read_only = run(
        dir.path(),
        5,
        &["plan", "--read-only", "--detailed-exitcode"],
    );
    assert_eq!(read_only.status.code(), Some(0), "{}", text(&read_only));
    assert!(
        text(&read_only).contains("No changes."),
        "{}",
        text(&read_only)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the state file changed"
    );
}

#[test]
fn policies_gate_plans_and_applies() {
    let dir = TempDir::new().unwrap();
    let policy = dir.path().join("policy");
    std::fs::create_dir_all(policy.join("sizes")).unwrap();
    // Written for Terraform plans: girder's plan is `input` as `--format terraform-json` has it.
    std::fs::write(
        policy.join("layers.rego"),
        r#"package main
import rego.v1

deny contains msg if {
    some rc in input.resource_changes
    rc.address == "sim_resource.n0-1"
    "create" in rc.change.actions
    msg := sprintf("%s: layer 0 may hold one resource", [rc.address])
}

warn contains msg if {
    count(input.resource_changes) > 5
    msg := sprintf("%d changes in one plan", [count(input.resource_changes)])
}
"#,
    )
    .unwrap();
    std::fs::write(
        policy.join("sizes/deep.rego"),
        "package sizes\nimport rego.v1\nviolation_deep contains {\"msg\": \"too deep\", \"resource\": \"sim_resource.n9-0\"} if { true }\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();

    // A mandatory violation: plan shows it and fails, saves nothing; apply refuses first.
    let saved = dir.path().join("refused.plan");
    let plan = run(
        dir.path(),
        20,
        &["plan", "--policy", policy, "--out", saved.to_str().unwrap()],
    );
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let out = text(&plan);
    assert!(out.contains("Plan: 20 to create"), "{out}");
    assert!(
        out.contains("Policies: 2 violations, 1 warning, 0 waived (2 policy files)"),
        "{out}"
    );
    assert!(
        out.contains("✗ main.deny: sim_resource.n0-1: layer 0 may hold one resource"),
        "{out}"
    );
    assert!(out.contains("✗ sizes.violation_deep: too deep"), "{out}");
    assert!(out.contains("! main.warn: 20 changes in one plan"), "{out}");
    assert!(
        out.contains("plan refused: 2 mandatory policy violation(s)"),
        "{out}"
    );
    assert!(!saved.exists());
    let apply = run(dir.path(), 20, &["apply", "--yes", "--policy", policy]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(text(&apply).contains("apply refused: 2 mandatory policy violation(s)"));
    assert!(
        cloud_names(dir.path()).is_empty(),
        "the refused apply changed nothing"
    );

    // The results in the JSON documents and the event stream.
    let json = run(
        dir.path(),
        20,
        &["plan", "--policy", policy, "--format", "terraform-json"],
    );
    assert_eq!(json.status.code(), Some(1));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", text(&json)));
    let findings = document["policy_results"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    assert_eq!(findings[0]["outcome"], "violation");
    assert_eq!(findings[0]["resource"], "sim_resource.n0-1");
    let document = run(dir.path(), 20, &["--json", "plan", "--policy", policy]);
    // The progress events, then the plan document (a stream `jq` reads value by value).
    let document = serde_json::Deserializer::from_slice(&document.stdout)
        .into_iter::<serde_json::Value>()
        .map(|value| value.expect("a stream of JSON values"))
        .last()
        .unwrap();
    assert_eq!(
        document["policy_results"]["findings"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let events = run(
        dir.path(),
        20,
        &["--json", "apply", "--yes", "--policy", policy],
    );
    assert_eq!(events.status.code(), Some(1));
    let event = String::from_utf8_lossy(&events.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("NDJSON"))
        .find(|e| e["event"] == "policy")
        .unwrap_or_else(|| panic!("no policy event: {}", text(&events)));
    assert_eq!(event["schema"], "girder.events/1");
    assert_eq!(event["findings"].as_array().unwrap().len(), 3);
    let error: serde_json::Value = serde_json::from_slice(&events.stderr).unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("apply refused"),
        "{error}"
    );

    // Waived for their resources (with reasons), one stale waiver listed: the apply goes on.
    std::fs::write(
        Path::new(policy).join("waivers.toml"),
        r#"
[[waiver]]
resource = "sim_resource.n0-1"
rule = "main.deny"
reason = "the simulated DAG has two roots by design"

[[waiver]]
resource = "sim_resource.n9-0"
reason = "depth is what this program measures"

[[waiver]]
resource = "sim_resource.gone"
reason = "removed"
"#,
    )
    .unwrap();
    let apply = run(dir.path(), 20, &["apply", "--yes", "--policy", policy]);
    assert!(apply.status.success(), "{}", text(&apply));
    let out = text(&apply);
    assert!(
        out.contains("~ main.deny: sim_resource.n0-1: layer 0 may hold one resource (waived: the simulated DAG has two roots by design)"),
        "{out}"
    );
    assert!(out.contains("unused waiver in"), "{out}");
    assert_eq!(cloud_names(dir.path()).len(), 20);

    // Advisory policies only warn; a broken policy stops the command with its file and line.
    let fresh = TempDir::new().unwrap();
    let layers = format!("{policy}/layers.rego");
    let advisory = run(
        fresh.path(),
        20,
        &["apply", "--yes", "--advisory-policy", &layers],
    );
    assert!(advisory.status.success(), "{}", text(&advisory));
    assert!(
        text(&advisory).contains("! main.deny (advisory): sim_resource.n0-1:"),
        "{}",
        text(&advisory)
    );
    std::fs::write(
        Path::new(policy).join("broken.rego"),
        "package main\nimport rego.v1\ndeny contains msg if {\n  msg :=\n}\n",
    )
    .unwrap();
    let broken = run(dir.path(), 25, &["plan", "--policy", policy]);
    assert_eq!(broken.status.code(), Some(1));
    let out = text(&broken);
    assert!(out.contains("the policies could not be checked"), "{out}");
    assert!(out.contains("broken.rego"), "{out}");
    let missing = run(dir.path(), 25, &["plan", "--policy", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("policy no-such-dir:"),
        "{}",
        text(&missing)
    );
}
