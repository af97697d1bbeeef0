//! Typed stack references: an app stack reads an infra stack's outputs, in the plan already.

use girder_cli::App;
use girder_core::{Output, OutputKey, Stack, StackReference};
use girder_testing::sim::{SimId, SimPackage, SimResource};

const NETWORK: OutputKey<SimId> = OutputKey::new("network");
const ENDPOINT: OutputKey<String> = OutputKey::new("endpoint");

fn run(dir: &std::path::Path, stack: &str, args: &[&str], program: impl FnOnce(&mut Stack)) -> u8 {
    let sim = SimPackage::in_dir(dir.join("cloud")).unwrap();
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
