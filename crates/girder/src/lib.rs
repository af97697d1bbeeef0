//! girder: infrastructure as one typed Rust program.
//!
//! A program builds a stack — resources as typed builders, data flow as dependency edges — and
//! gets a command line that plans it against the recorded state and applies it to the cloud:
//!
//! ```no_run
//! use girder::prelude::*;
//!
//! fn main() -> girder::Exit {
//!     girder::run(|s: &mut Stack| {
//!         // Vpc::new("main").cidr("10.10.0.0/16")…add(s); Deployment::new("web")…add(s);
//!         let _ = s;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! Providers are behind features so a program compiles only what it uses: `aws` (the AWS
//! provider and its DSL), `k8s` (Kubernetes), `s3-state` (team state in S3), `testing` (the
//! testing toolkit and the simulated provider).

use std::process::{ExitCode, Termination};

pub use girder_cli as cli;
pub use girder_core as core;
pub use girder_engine as engine;
pub use girder_state as state;

#[cfg(feature = "aws")]
pub use girder_aws as aws;
#[cfg(feature = "k8s")]
pub use girder_k8s as k8s;
#[cfg(feature = "testing")]
pub use girder_testing as testing;

pub use girder_cli::Settings;
pub use girder_core::{
    Diagnostic, Input, IntoInput, Output, ResourceDecl, Stack, Value, WithOptions, interpolate,
    typed_id,
};

/// The README's example, compiled as a doctest so it stays true.
#[cfg(all(doctest, feature = "aws", feature = "k8s"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExample;

/// The error a program returns.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The result of a program.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// What most programs import.
pub mod prelude {
    pub use girder_core::{
        Dependable, Input, IntoInput, Output, ProviderHandle, ResourceDecl, Stack, Timeouts, Value,
        WithOptions, interpolate, output::all,
    };

    #[cfg(feature = "aws")]
    pub use girder_aws::prelude::*;
    pub use girder_core::{OutputKey, StackReference};
    #[cfg(feature = "k8s")]
    pub use girder_k8s::addons::{
        ClusterAutoscaler, DnsPolicy, Expander, ExternalDns, MetricsServer, ZoneType,
    };
    #[cfg(feature = "k8s")]
    pub use girder_k8s::dsl::*;
}

/// A program's command line with the default providers of the enabled features, plus any
/// packages added with [`Program::package`].
///
/// ```no_run
/// # #[cfg(feature = "testing")] {
/// use girder::testing::sim::{SimPackage, SimResource};
/// girder::Program::new()
///     .package(SimPackage::in_dir(".girder-sim").unwrap())
///     .run(|s| {
///         SimResource::new("a").add(s);
///         Ok(())
///     });
/// # }
/// ```
pub struct Program {
    app: girder_cli::App,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("app", &self.app).finish()
    }
}

impl Default for Program {
    fn default() -> Self {
        Program::new()
    }
}

impl Program {
    /// The default providers of the enabled features.
    pub fn new() -> Program {
        Program {
            app: default_app(girder_cli::App::new()),
        }
    }

    /// Adds a provider package (a simulated cloud, a provider of your own).
    pub fn package(mut self, package: impl girder_engine::ProviderPackage) -> Program {
        self.app = self.app.package(package);
        self
    }

    /// Runs the command line over `program` and returns how the command ended; errors are
    /// already printed. Return it from `main` (it is a [`Termination`]) or act on it.
    pub fn run<F>(self, program: F) -> Exit
    where
        F: FnOnce(&mut Stack) -> Result<()>,
    {
        Exit(self.app.run_args_status(program))
    }

    /// Runs with explicit arguments (the first is the program name).
    pub fn run_from<I, T, F>(self, args: I, program: F) -> Exit
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
        F: FnOnce(&mut Stack) -> Result<()>,
    {
        Exit(self.app.run_status(args, program))
    }
}

/// Runs the command line over `program` with the default providers of the enabled features.
pub fn run<F>(program: F) -> Exit
where
    F: FnOnce(&mut Stack) -> Result<()>,
{
    Program::new().run(program)
}

/// How a girder command ended: `0` success, `1` an error (already printed), `2` changes are
/// pending (`plan --detailed-exitcode`). `main` returns it; a program that does more after
/// the command (or embeds girder) reads it instead of the library ending the process.
///
/// ```
/// let exit = girder::Program::new().run_from(["program", "graph"], |_| Ok(()));
/// assert!(exit.is_success());
/// assert_eq!(exit.code(), 0);
/// let exit = girder::Program::new().run_from(["program", "no-such-command"], |_| Ok(()));
/// assert_eq!(exit.code(), 1);
/// ```
#[must_use = "the exit status says whether the command failed: return it from `main`"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit(u8);

impl Exit {
    /// The exit status.
    pub fn code(self) -> u8 {
        self.0
    }

    /// Whether the command succeeded (with no pending changes under `--detailed-exitcode`).
    pub fn is_success(self) -> bool {
        self.0 == 0
    }
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        use std::io::Write;
        // What the command printed goes out before the process ends.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        ExitCode::from(self.0)
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        exit.report()
    }
}

#[allow(unused_mut)]
fn default_app(mut app: girder_cli::App) -> girder_cli::App {
    #[cfg(feature = "aws")]
    {
        app = app.package(girder_aws::package());
    }
    #[cfg(feature = "k8s")]
    {
        use std::sync::Arc;
        app = app
            .package_with_args(|_: &Settings, options: &girder_k8s::KubernetesSettings| {
                let package = options.configure(girder_k8s::package());
                #[cfg(feature = "aws")]
                let package = package.with_token_source("aws-eks", Arc::new(aws_eks::EksTokens));
                Arc::new(package)
            })
            .graph_check(Arc::new(girder_k8s::check::check))
            .renderer(Arc::new(|graph, reveal, recorded| {
                let options = girder_k8s::RenderOptions {
                    reveal_secrets: reveal,
                    check: true,
                };
                girder_k8s::render_applicable(graph, &options, recorded)
                    .map(|manifests| {
                        manifests
                            .into_iter()
                            .map(|m| (m.file_name, m.yaml))
                            .collect()
                    })
                    .map_err(|e| e.to_string())
            }));
    }
    app
}

#[cfg(all(feature = "aws", feature = "k8s"))]
mod aws_eks {
    /// Bearer tokens for clusters created by the AWS provider, the way aws-iam-authenticator
    /// makes them.
    pub struct EksTokens;

    #[async_trait::async_trait]
    impl girder_k8s::TokenSource for EksTokens {
        async fn token(
            &self,
            auth: &serde_json::Value,
        ) -> Result<String, girder_engine::ProviderError> {
            let cluster = auth
                .get("cluster")
                .and_then(|c| c.as_str())
                .ok_or_else(|| {
                    girder_engine::ProviderError::invalid_input(
                        "the `aws-eks` auth of a Kubernetes provider needs `cluster`",
                    )
                })?;
            let region = auth.get("region").and_then(|r| r.as_str());
            girder_aws::eks_token(cluster, region).await.map_err(|e| {
                girder_engine::ProviderError::new(
                    girder_engine::ErrorKind::Unauthorized,
                    e.to_string(),
                )
            })
        }
    }
}
