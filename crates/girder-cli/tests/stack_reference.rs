//! Typed stack references: an app stack reads an infra stack's outputs, in the plan already;
//! and the infra stack is not destroyed while the app stack still reads it.

use girder_cli::App;
use girder_cli::referrers::{Deletion, readers_of, refuse_if_read};
use girder_core::{Output, OutputKey, Stack, StackReference};
use girder_testing::sim::{SimId, SimPackage, SimResource, SimStats};

const NETWORK: OutputKey<SimId> = OutputKey::new("network");
const ENDPOINT: OutputKey<String> = OutputKey::new("endpoint");

fn run(dir: &std::path::Path, stack: &str, args: &[&str], program: impl FnOnce(&mut Stack)) -> u8 {
    run_with(
        SimPackage::in_dir(dir.join("cloud")).unwrap(),
        dir,
        stack,
        args,
        program,
    )
}

/// Runs with the given sim package, whose call counters the caller keeps a clone of.
fn run_with(
    sim: SimPackage,
    dir: &std::path::Path,
    stack: &str,
    args: &[&str],
    program: impl FnOnce(&mut Stack),
) -> u8 {
    let state = dir.join("state");
    let mut argv = vec![
        "prog".to_owned(),
        "--stack".into(),
        stack.into(),
        "--state".into(),
        state.display().to_string(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    App::new().package(sim).run_status(argv, |s| {
        program(s);
        Ok(())
    })
}

fn infra(s: &mut Stack) {
    let network = SimResource::new("network").zone("a").add(s);
    s.export_key(NETWORK, network.id());
    let endpoint: Output<String> = network.arn();
    s.export_key(ENDPOINT, endpoint);
}

fn app(s: &mut Stack) {
    let infra = StackReference::new("infra").add(s);
    SimResource::new("service")
        .parent(infra.get(NETWORK))
        .input("endpoint", infra.get(ENDPOINT))
        .add(s);
}

#[test]
fn an_app_stack_reads_the_infra_stacks_outputs() {
    let dir = tempfile::tempdir().unwrap();
    // Before the infra stack exists, the reference says what to do.
    assert_eq!(run(dir.path(), "app", &["plan"], app), 1);

    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], infra), 0);
    // The reference is read while planning: nothing is unknown, and a re-plan is empty.
    assert_eq!(run(dir.path(), "app", &["apply", "--yes"], app), 0);
    assert_eq!(
        run(dir.path(), "app", &["plan", "--detailed-exitcode"], app),
        0
    );

    let live = SimPackage::in_dir(dir.path().join("cloud"))
        .unwrap()
        .live()
        .unwrap();
    let network = live.iter().find(|o| o.resource == "network").unwrap();
    let service = live.iter().find(|o| o.resource == "service").unwrap();
    assert_eq!(
        service.inputs.get("parent").and_then(|v| v.as_str()),
        Some(network.id.as_str())
    );
    assert_eq!(service.stack, "app");

    // A change in the infra stack's outputs shows up as an update of the app.
    assert_eq!(
        run(dir.path(), "infra", &["apply", "--yes"], |s| {
            let network = SimResource::new("network").zone("b").add(s);
            s.export_key(NETWORK, network.id());
            let endpoint: Output<String> = network.arn();
            s.export_key(ENDPOINT, endpoint);
        }),
        0
    );
    assert_eq!(
        run(dir.path(), "app", &["plan", "--detailed-exitcode"], app),
        2
    );
}

/// What a refused command must leave alone: the infra stack's state files and the cloud.
fn fingerprint(dir: &std::path::Path) -> (Vec<u8>, Option<Vec<u8>>, Vec<String>) {
    let state = dir.join("state");
    let mut live: Vec<String> = SimPackage::in_dir(dir.join("cloud"))
        .unwrap()
        .live()
        .unwrap()
        .into_iter()
        .map(|o| format!("{} {} {}", o.stack, o.resource, o.id))
        .collect();
    live.sort();
    (
        std::fs::read(state.join("infra.db")).unwrap(),
        std::fs::read(state.join("infra.db.backup")).ok(),
        live,
    )
}

fn calls(sim: &SimPackage) -> u64 {
    let stats = sim.stats();
    [
        &stats.creates,
        &stats.updates,
        &stats.deletes,
        &stats.read_calls,
        &stats.finds,
    ]
    .into_iter()
    .map(SimStats::get)
    .sum()
}

#[test]
fn destroying_a_stack_another_stack_reads_is_refused_until_the_reader_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], infra), 0);
    assert_eq!(run(dir.path(), "app", &["apply", "--yes"], app), 0);

    // Refused before the state is locked or a provider is called: nothing changes.
    let before = fingerprint(dir.path());
    let sim = SimPackage::in_dir(dir.path().join("cloud")).unwrap();
    assert_eq!(
        run_with(
            sim.clone(),
            dir.path(),
            "infra",
            &["destroy", "--yes"],
            infra
        ),
        1
    );
    assert_eq!(calls(&sim), 0, "the refused destroy called the provider");
    assert_eq!(
        fingerprint(dir.path()),
        before,
        "the refused destroy changed something"
    );

    // The refusal names the reading stack, what it reads, where, and the fix.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let error = runtime
        .block_on(refuse_if_read(&state, "infra", Deletion::Destroy))
        .unwrap_err()
        .to_string();
    for part in [
        "refusing to destroy stack `infra`",
        state.as_str(),
        "stack `app` (1 resource(s)) reads `endpoint`, `network` through `stack-ref/infra`",
        "used by `service`",
        "`--stack app destroy`",
        "--allow-referenced",
    ] {
        assert!(error.contains(part), "{part:?} missing from:\n{error}");
    }
    // The stack that reads is not read by anyone: destroying it is not checked against.
    assert!(
        runtime
            .block_on(readers_of(&state, "app"))
            .unwrap()
            .is_empty()
    );

    // Once the reading stack is destroyed, the infra stack goes without the override.
    assert_eq!(run(dir.path(), "app", &["destroy", "--yes"], app), 0);
    assert!(
        runtime
            .block_on(readers_of(&state, "infra"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(run(dir.path(), "infra", &["destroy", "--yes"], infra), 0);
    let live = SimPackage::in_dir(dir.path().join("cloud"))
        .unwrap()
        .live()
        .unwrap();
    assert!(live.is_empty(), "{live:?}");
}

#[test]
fn the_override_destroys_a_stack_another_stack_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], infra), 0);
    assert_eq!(run(dir.path(), "app", &["apply", "--yes"], app), 0);

    let sim = SimPackage::in_dir(dir.path().join("cloud")).unwrap();
    assert_eq!(
        run_with(
            sim.clone(),
            dir.path(),
            "infra",
            &["destroy", "--yes", "--allow-referenced"],
            infra
        ),
        0
    );
    assert_eq!(SimStats::get(&sim.stats().deletes), 1);
    let live = sim.live().unwrap();
    assert_eq!(
        live.iter().map(|o| o.resource.as_str()).collect::<Vec<_>>(),
        ["service"],
        "only the app's resource is left"
    );
}

#[test]
fn applying_an_emptied_program_is_refused_like_destroy() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], infra), 0);
    assert_eq!(run(dir.path(), "app", &["apply", "--yes"], app), 0);

    let before = fingerprint(dir.path());
    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], |_| {}), 1);
    assert_eq!(fingerprint(dir.path()), before);
    // A program that still declares resources applies as usual.
    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], infra), 0);
    assert_eq!(
        run(
            dir.path(),
            "infra",
            &["apply", "--yes", "--allow-referenced"],
            |_| {}
        ),
        0
    );
}

#[test]
fn a_saved_destroy_plan_is_refused_like_destroy_while_another_stack_reads() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), "infra", &["apply", "--yes"], infra), 0);
    assert_eq!(run(dir.path(), "app", &["apply", "--yes"], app), 0);

    // Planning a destroy is read-only and allowed; carrying it out is what is refused.
    let file = dir.path().join("destroy.plan");
    let file_arg = file.display().to_string();
    let before = fingerprint(dir.path());
    assert_eq!(
        run(
            dir.path(),
            "infra",
            &["plan", "--destroy", "--out", &file_arg],
            infra
        ),
        0
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["plan"]["destroy"], true, "{saved}");
    let sim = SimPackage::in_dir(dir.path().join("cloud")).unwrap();
    assert_eq!(
        run_with(
            sim.clone(),
            dir.path(),
            "infra",
            &["apply", &file_arg],
            infra
        ),
        1
    );
    assert_eq!(SimStats::get(&sim.stats().deletes), 0);
    assert_eq!(
        fingerprint(dir.path()).2,
        before.2,
        "the cloud is untouched"
    );

    // Once nothing reads the stack, the saved destroy plan is carried out as planned.
    assert_eq!(run(dir.path(), "app", &["destroy", "--yes"], app), 0);
    let sim = SimPackage::in_dir(dir.path().join("cloud")).unwrap();
    assert_eq!(
        run_with(
            sim.clone(),
            dir.path(),
            "infra",
            &["apply", &file_arg],
            infra
        ),
        0
    );
    assert_eq!(SimStats::get(&sim.stats().deletes), 1);
    assert!(sim.live().unwrap().is_empty());
}
