//! A provider package contributes its own command-line options: they parse, reach the
//! package's factory, show in `--help`, and a bad value is refused before anything runs.

use std::sync::{Arc, Mutex};

use girder_cli::App;
use girder_engine::provider::ProviderPackage;
use girder_testing::sim::SimPackage;

/// The options of a provider of our own.
#[derive(clap::Args, Debug)]
struct CloudOptions {
    /// How many regions the provider spreads over.
    #[arg(long, global = true, default_value_t = 1)]
    cloud_regions: u32,
}

fn app(dir: &std::path::Path, seen: Arc<Mutex<Option<u32>>>) -> App {
    let sim: Arc<dyn ProviderPackage> = Arc::new(SimPackage::in_dir(dir.join("cloud")).unwrap());
    App::new().package_with_args(move |_, options: &CloudOptions| {
        *seen.lock().unwrap() = Some(options.cloud_regions);
        sim.clone()
    })
}

fn argv(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "prog".to_owned(),
        "--state".into(),
        dir.join("state").display().to_string(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

#[test]
fn a_packages_option_reaches_its_factory_before_or_after_the_command() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--cloud-regions", "3", "graph"][..],
        &["graph", "--cloud-regions", "3"][..],
    ] {
        let seen = Arc::new(Mutex::new(None));
        let code = app(dir.path(), seen.clone()).run_status(argv(dir.path(), args), |_| Ok(()));
        assert_eq!(code, 0, "{args:?}");
        assert_eq!(*seen.lock().unwrap(), Some(3), "{args:?}");
    }
    let seen = Arc::new(Mutex::new(None));
    let code = app(dir.path(), seen.clone()).run_status(argv(dir.path(), &["graph"]), |_| Ok(()));
    assert_eq!(code, 0);
    assert_eq!(*seen.lock().unwrap(), Some(1), "the default applies");
}

#[test]
fn a_bad_value_is_refused_before_the_program_or_the_package_runs() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let mut ran = false;
    let code = app(dir.path(), seen.clone()).run_status(
        argv(dir.path(), &["graph", "--cloud-regions", "many"]),
        |_| {
            ran = true;
            Ok(())
        },
    );
    assert_eq!(code, 1);
    assert!(!ran, "the program was not built");
    assert_eq!(*seen.lock().unwrap(), None, "the package was not built");
}

#[test]
fn the_options_show_in_help_only_when_their_package_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let help = app(dir.path(), Arc::new(Mutex::new(None)))
        .command()
        .render_long_help()
        .to_string();
    assert!(help.contains("--cloud-regions"), "{help}");
    assert!(help.contains("How many regions"), "{help}");
    let plain = App::new().command().render_long_help().to_string();
    assert!(!plain.contains("--cloud-regions"), "{plain}");
    assert!(
        !plain.contains("--kubeconfig"),
        "the command line knows no provider: {plain}"
    );
}
