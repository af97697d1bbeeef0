//! The command line every girder program gets.
//!
//! A program hands its closure to [`App::run`] (the facade's `girder::run` does that with the
//! default providers); the closure builds the stack once, purely, and the command — `plan`,
//! `apply`, `destroy`, `refresh`, `graph`, `output`, `state …`, `import`, `render` — runs
//! against the recorded state.

pub mod args;
mod commands;
pub mod display;
mod error;
mod planfile;
pub mod references;
pub mod referrers;
mod signals;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use girder_core::{Graph, Stack};
use girder_engine::provider::ProviderPackage;
use girder_engine::{EngineContext, EventSink, Registry};
use girder_state::StateStore;
use tokio_util::sync::CancellationToken;

pub use args::{Cli, Command, GlobalArgs};
pub use error::CliError;

/// A boxed error from a user program.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What provider packages may depend on: the global command-line settings, and the options
/// the packages contributed themselves (see [`App::package_with_args`]).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The stack.
    pub stack: String,
    /// The state location.
    pub state: String,
    /// Everything parsed, so a package can read the options it contributed.
    matches: clap::ArgMatches,
}

impl Settings {
    /// Settings for `stack` and `state` with no package options (for tests and embedders that
    /// build a registry without a command line).
    pub fn new(stack: impl Into<String>, state: impl Into<String>) -> Settings {
        Settings {
            stack: stack.into(),
            state: state.into(),
            matches: clap::ArgMatches::default(),
        }
    }

    /// The options of type `A` a package contributed with [`App::package_with_args`].
    ///
    /// # Errors
    ///
    /// When the command line was parsed without `A`'s options (they were not contributed).
    pub fn provider_args<A: clap::FromArgMatches>(&self) -> Result<A, clap::Error> {
        A::from_arg_matches(&self.matches)
    }
}

/// Builds a provider package from the settings (fails when its options do not parse).
pub type PackageFactory = Box<dyn Fn(&Settings) -> Result<Arc<dyn ProviderPackage>, clap::Error>>;

/// Adds a package's own options to the command line.
type Augment = fn(clap::Command) -> clap::Command;

/// Outputs the stack's state recorded for a resource, by name (`None`: not recorded).
pub type Recorded<'a> = &'a dyn Fn(&str) -> Option<girder_core::Value>;

/// Renders the Kubernetes objects of a graph as an apply would send them: (file name, YAML)
/// pairs. The flag reveals secrets; values from other resources come from their recorded
/// outputs; an object that would need a placeholder is refused with the fields named.
pub type Renderer =
    Arc<dyn Fn(&Graph, bool, Recorded<'_>) -> Result<Vec<(String, String)>, String> + Send + Sync>;

/// A whole-program check run right after the program is built (diagnostics with errors stop
/// every command; warnings are printed).
pub type GraphCheck = Arc<dyn Fn(&Graph) -> girder_core::Diagnostics + Send + Sync>;

/// A girder program's command line: its provider packages and extensions.
///
/// ```no_run
/// use girder_cli::App;
/// use girder_core::Stack;
/// fn main() -> std::process::ExitCode {
///     App::new().run(|s: &mut Stack| {
///         // declare resources here
///         let _ = s;
///         Ok(())
///     })
/// }
/// ```
#[derive(Default)]
pub struct App {
    packages: Vec<PackageFactory>,
    options: Vec<Augment>,
    renderer: Option<Renderer>,
    checks: Vec<GraphCheck>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("packages", &self.packages.len())
            .field("package_options", &self.options.len())
            .field("renderer", &self.renderer.is_some())
            .field("checks", &self.checks.len())
            .finish()
    }
}

impl App {
    /// An app with no provider packages.
    pub fn new() -> App {
        App::default()
    }

    /// Adds a provider package.
    pub fn package(mut self, package: impl ProviderPackage) -> App {
        let package: Arc<dyn ProviderPackage> = Arc::new(package);
        self.packages.push(Box::new(move |_| Ok(package.clone())));
        self
    }

    /// Adds a provider package built from the command-line settings.
    pub fn package_with(
        mut self,
        factory: impl Fn(&Settings) -> Arc<dyn ProviderPackage> + 'static,
    ) -> App {
        self.packages
            .push(Box::new(move |settings| Ok(factory(settings))));
        self
    }

    /// Adds a provider package that brings its own command-line options: `A`'s flags join
    /// every command (declare them `global = true`), and the factory gets them parsed. This is
    /// how the Kubernetes provider contributes `--kubeconfig` without the command line knowing
    /// about Kubernetes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use girder_cli::App;
    /// use girder_engine::provider::ProviderPackage;
    ///
    /// /// Options of a provider of our own.
    /// #[derive(clap::Args, Debug)]
    /// struct CloudOptions {
    ///     /// The cloud's API endpoint.
    ///     #[arg(long, global = true, default_value = "https://api.example.test")]
    ///     cloud_endpoint: String,
    /// }
    ///
    /// # fn package_for(_endpoint: &str) -> Arc<dyn ProviderPackage> {
    /// #     Arc::new(girder_cli::references::GirderPackage::new(".girder"))
    /// # }
    /// let app = App::new().package_with_args(|_settings, options: &CloudOptions| {
    ///     package_for(&options.cloud_endpoint)
    /// });
    /// # let _ = app;
    /// ```
    pub fn package_with_args<A>(
        mut self,
        factory: impl Fn(&Settings, &A) -> Arc<dyn ProviderPackage> + 'static,
    ) -> App
    where
        A: clap::Args + 'static,
    {
        self.options.push(A::augment_args);
        self.packages.push(Box::new(move |settings| {
            let options = settings.provider_args::<A>()?;
            Ok(factory(settings, &options))
        }));
        self
    }

    /// Adds a whole-program check (a provider's wiring rules, for example).
    pub fn graph_check(mut self, check: GraphCheck) -> App {
        self.checks.push(check);
        self
    }

    /// Enables `render` with this renderer.
    pub fn renderer(mut self, renderer: Renderer) -> App {
        self.renderer = Some(renderer);
        self
    }

    /// Parses the process arguments and runs the command over the program.
    pub fn run<F>(self, program: F) -> ExitCode
    where
        F: FnOnce(&mut Stack) -> Result<(), BoxError>,
    {
        self.run_from(std::env::args_os(), program)
    }

    /// Parses the process arguments, runs, and returns the exit status (see
    /// [`App::run_status`]).
    pub fn run_args_status<F>(self, program: F) -> u8
    where
        F: FnOnce(&mut Stack) -> Result<(), BoxError>,
    {
        self.run_status(std::env::args_os(), program)
    }

    /// Runs with explicit arguments (the first is the program name).
    pub fn run_from<I, T, F>(self, args: I, program: F) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
        F: FnOnce(&mut Stack) -> Result<(), BoxError>,
    {
        ExitCode::from(self.run_status(args, program))
    }

    /// Runs with explicit arguments and returns the exit status: 0 success, 1 error, 2 changes
    /// (with `plan --detailed-exitcode`).
    pub fn run_status<I, T, F>(self, args: I, program: F) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
        F: FnOnce(&mut Stack) -> Result<(), BoxError>,
    {
        let parsed = self
            .command()
            .try_get_matches_from(args)
            .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
        let (cli, matches) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                let _ = error.print();
                return if error.use_stderr() { 1 } else { 0 };
            }
        };
        init_tracing(&cli.global);
        let color = cli.global.colors(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        let palette = display::plan::Palette::new(color);
        if let args::Command::Completions { shell } = &cli.command {
            // Needs only the command line (with every package's options), not the program.
            let mut command = self.command();
            let name = command.get_name().to_owned();
            clap_complete::generate(*shell, &mut command, name, &mut std::io::stdout());
            return 0;
        }
        let json = cli.global.json;
        match self.execute(cli, matches, program) {
            Ok(code) => code,
            // With `--json`, errors are JSON too: one object on stderr, so a script reading
            // stdout never sees a partial result and can parse what went wrong.
            Err(error) if json => {
                eprintln!(
                    "{}",
                    serde_json::json!({
                        "event": "error",
                        "schema": display::progress::EVENT_SCHEMA,
                        "time": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
                        "message": error.to_string(),
                    })
                );
                1
            }
            Err(error) => {
                eprintln!("{} {error}", palette.red("Error:"));
                1
            }
        }
    }

    /// The command line with every package's options.
    pub fn command(&self) -> clap::Command {
        self.options
            .iter()
            .fold(Cli::command(), |command, augment| augment(command))
    }

    fn execute<F>(self, cli: Cli, matches: clap::ArgMatches, program: F) -> Result<u8, CliError>
    where
        F: FnOnce(&mut Stack) -> Result<(), BoxError>,
    {
        let settings = Settings {
            stack: cli.global.stack.clone(),
            state: cli.global.state.clone(),
            matches,
        };
        let mut registry = Registry::new();
        registry.register(Arc::new(references::GirderPackage::new(
            settings.state.clone(),
        )));
        for factory in &self.packages {
            registry.register(factory(&settings).map_err(CliError::Options)?);
        }
        let mut stack = Stack::new(cli.global.stack.clone());
        program(&mut stack).map_err(CliError::Program)?;
        let graph = stack.finish().map_err(CliError::Diagnostics)?;
        let mut found = girder_core::Diagnostics::new();
        for check in &self.checks {
            found.extend(check(&graph));
        }
        if found.has_errors() {
            return Err(CliError::Diagnostics(found));
        }
        // The graph's own warnings travel with the plan (`Plan::warnings`), which every command
        // that plans renders; printing them here as well showed each one twice.
        for warning in found.warnings() {
            eprintln!("{warning}");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Io {
                path: "tokio runtime".into(),
                message: e.to_string(),
            })?;
        let run = commands::Run {
            global: cli.global,
            registry: Arc::new(registry),
            graph,
            renderer: self.renderer,
            color: console::colors_enabled(),
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
        };
        runtime.block_on(async {
            let signals = tokio::spawn(signals::watch(run.stop.clone(), run.abort.clone()));
            let result = run.dispatch(cli.command).await;
            signals.abort();
            result
        })
    }
}

fn init_tracing(global: &GlobalArgs) {
    let level = match global.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GIRDER_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},aws_config=error,aws_smithy_runtime=error,hyper=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if global.json {
        builder.json().try_init()
    } else {
        builder.without_time().with_target(false).try_init()
    };
}

/// An engine context over a store with an event sink.
pub(crate) fn context(
    stack: &str,
    registry: &Arc<Registry>,
    store: &Arc<dyn StateStore>,
    events: Arc<dyn EventSink>,
) -> EngineContext {
    let journal: Arc<dyn girder_engine::Journal> = store.clone();
    EngineContext::new(stack, registry.clone(), journal, events)
}
