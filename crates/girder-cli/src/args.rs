//! The command line, as `clap` parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Every girder program's command line.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Plan and apply this girder program's infrastructure",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The stack (environment) to work on.
    #[arg(long, global = true, env = "GIRDER_STACK", default_value = "dev")]
    pub stack: String,
    /// Where the state lives: a directory (embedded store) or s3://BUCKET/PREFIX?lock=...
    #[arg(long, global = true, env = "GIRDER_STATE", default_value = ".girder")]
    pub state: String,
    /// Provider calls in flight at most.
    #[arg(long, global = true, default_value_t = girder_engine::DEFAULT_PARALLELISM, value_parser = clap::value_parser!(usize))]
    pub parallelism: usize,
    /// Only this resource and what it depends on (repeatable).
    #[arg(long, global = true, value_name = "RESOURCE")]
    pub target: Vec<String>,
    /// Everything except this resource and what depends on it (repeatable).
    #[arg(long, global = true, value_name = "RESOURCE")]
    pub exclude: Vec<String>,
    /// Replace this resource although nothing changed (repeatable; plan and apply).
    #[arg(long, global = true, value_name = "RESOURCE")]
    pub replace: Vec<String>,
    /// Machine-readable output: one JSON event per line (and JSON results).
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour the output: `auto` colours a terminal unless `NO_COLOR` is set to
    /// anything but the empty string (no-color.org), `always` also when piped, `never` not.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The same as `--color never`.
    #[arg(long, global = true, hide = true)]
    pub no_color: bool,
    /// More logging (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Wait this long for another run's lock before giving up (e.g. 30s, 5m).
    #[arg(long, global = true, default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
}

/// When the output is coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set and not empty.
    #[default]
    Auto,
    /// Always, even when piped.
    Always,
    /// Never.
    Never,
}

impl GlobalArgs {
    /// Whether to colour output going to a terminal (`terminal`) given the value of the
    /// `NO_COLOR` environment variable: per no-color.org, any non-empty value (even `0` or
    /// `false`) turns colour off unless `--color always` asks for it.
    ///
    /// ```
    /// use clap::Parser;
    /// use girder_cli::args::Cli;
    /// let cli = Cli::try_parse_from(["prog", "plan"]).unwrap();
    /// assert!(cli.global.colors(true, None));
    /// assert!(!cli.global.colors(true, Some("0".as_ref())));
    /// assert!(cli.global.colors(true, Some("".as_ref())));
    /// assert!(!cli.global.colors(false, None));
    /// let always = Cli::try_parse_from(["prog", "--color", "always", "plan"]).unwrap();
    /// assert!(always.global.colors(false, Some("1".as_ref())));
    /// ```
    pub fn colors(&self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match (self.no_color, self.color) {
            (true, _) | (_, ColorChoice::Never) => false,
            (_, ColorChoice::Always) => true,
            (_, ColorChoice::Auto) => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would do.
    Plan(PlanArgs),
    /// Make the infrastructure match the program.
    Apply(ApplyArgs),
    /// Delete everything the stack manages.
    Destroy(DestroyArgs),
    /// Read what exists and record it.
    Refresh,
    /// Print the program's dependency graph.
    Graph {
        /// The notation.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Print the stack's outputs.
    Output {
        /// One output only.
        name: Option<String>,
        /// Print secret values instead of masking them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Inspect and repair the recorded state.
    #[command(subcommand)]
    State(StateCommand),
    /// Adopt an existing cloud resource as a resource of the program.
    Import {
        /// The resource's name in the program.
        resource: String,
        /// The cloud id to adopt.
        cloud_id: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long, visible_alias = "auto-approve")]
        yes: bool,
    },
    /// Print a plan saved with `plan --out`, as `plan` printed it (secrets stay masked).
    Show {
        /// The saved plan.
        plan_file: PathBuf,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
        format: PlanFormat,
    },
    /// Print a completion script for a shell (`source <(prog completions bash)`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write every Kubernetes object of the program as YAML, as an apply would send it: one
    /// file per object, or one multi-document stream to stdout with `-`.
    Render {
        /// The directory to write to, or `-` for stdout.
        #[arg(long, value_name = "DIR|-", required_unless_present = "dest")]
        out: Option<PathBuf>,
        /// The same as `--out`.
        #[arg(value_name = "DIR|-", conflicts_with = "out")]
        dest: Option<PathBuf>,
        /// Write secret values instead of masking them.
        #[arg(long)]
        show_secrets: bool,
    },
}

/// Options of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Save the plan, to apply exactly it later.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 0 with no changes, 2 with changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read what exists before planning (`--refresh=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub refresh: bool,
    /// Plan deleting everything the stack manages, as `destroy` would (with `--out`, a plan
    /// that `apply FILE` carries out).
    #[arg(long)]
    pub destroy: bool,
    /// Take no lock and write nothing (pull-request pipelines, which may run beside an apply):
    /// what a crashed run left pending is resolved in memory only and shown in the plan.
    #[arg(long)]
    pub read_only: bool,
    /// Policies to check the plan against.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Policies as code: conftest-style Rego over the plan in Terraform's JSON plan format.
#[derive(Debug, Args, Default, Clone)]
pub struct PolicyArgs {
    /// A directory of Rego policies (every `.rego` file under it, and its `waivers.toml`), or
    /// one `.rego` file, whose `deny`/`violation` rules fail the plan and stop `apply`, and
    /// whose `warn` rules advise (repeatable).
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Like `--policy`, but its `deny`/`violation` rules only warn: for rolling a new policy
    /// out before it gates (repeatable).
    #[arg(long, value_name = "DIR")]
    pub advisory_policy: Vec<PathBuf>,
    /// Also girder's built-in pack for EKS platforms (secrets encryption, control-plane logs,
    /// endpoint exposure, flow logs, S3 hardening, IRSA scoping, pod security, probes,
    /// NetworkPolicy coverage), each rule citing its benchmark item; `=advisory` only warns.
    #[arg(long, value_enum, value_name = "LEVEL", num_args = 0..=1, require_equals = true, default_missing_value = "mandatory")]
    pub builtin_policies: Option<PolicyLevel>,
    /// A `waivers.toml` to apply to every policy's findings, the built-in pack's included
    /// (repeatable; a policy directory's own `waivers.toml` is read without this).
    #[arg(long, value_name = "FILE")]
    pub waivers: Vec<PathBuf>,
    /// The Rego dialect of the policies: `v1` (OPA 1.0's and conftest's default) or `v0`.
    #[arg(long, value_enum, default_value_t = RegoVersionArg::V1)]
    pub rego_version: RegoVersionArg,
}

/// How much a policy's `deny` rules weigh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyLevel {
    /// They stop `apply` and fail `plan`.
    Mandatory,
    /// They only warn.
    Advisory,
}

/// `--rego-version`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum RegoVersionArg {
    /// Rego v0 (`deny[msg] { … }`).
    V0,
    /// Rego v1 (`deny contains msg if { … }`).
    #[default]
    V1,
}

/// Options of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`: applied exactly, or refused if the state moved on.
    pub plan_file: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long, visible_alias = "auto-approve")]
    pub yes: bool,
    /// Read what exists before planning (`--refresh=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub refresh: bool,
    /// Apply although the program declares no resources any more (so the apply deletes
    /// everything) while other stacks still read this stack's outputs.
    #[arg(long)]
    pub allow_referenced: bool,
    /// Policies the plan must pass before anything changes.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Options of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(short = 'y', long, visible_alias = "auto-approve")]
    pub yes: bool,
    /// Destroy although other stacks in the same state location still read this stack's
    /// outputs through stack references (destroy them first instead, if you can).
    #[arg(long)]
    pub allow_referenced: bool,
}

/// `state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the recorded resources.
    List,
    /// Show one recorded resource.
    Show {
        /// The resource name.
        resource: String,
        /// Print secret values instead of masking them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Forget a resource (the cloud resource stays).
    Rm {
        /// The resource name.
        resource: String,
    },
    /// Rename a recorded resource (the cloud resource stays); for one-off renames, where a
    /// `moved` declaration in the program does not fit.
    Mv {
        /// The recorded name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Remove a lock left behind.
    Unlock {
        /// The lock id the refusal message named.
        lock_id: Option<String>,
        /// Remove the lock even if its holder may be alive.
        #[arg(long)]
        force: bool,
    },
    /// Move the stack's state to another location, verified by a checksum.
    Migrate {
        /// The new location (a directory or s3://...).
        #[arg(long)]
        to: String,
    },
}

/// Plan notations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people.
    Human,
    /// girder's plan schema.
    Json,
    /// The Terraform plan JSON schema, for existing plan tools.
    TerraformJson,
}

/// Graph notations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// JSON nodes and edges.
    Json,
}
