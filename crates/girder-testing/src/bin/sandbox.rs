//! `sandbox`: moto, girder's AWS behaviour layer and a Kubernetes API emulator per EKS
//! cluster, on loopback ports, until SIGINT or SIGTERM.
//!
//! ```text
//! cargo run -p girder-testing --bin sandbox -- --env-out sandbox.env --behaviours all --scale 0.01
//! source sandbox.env
//! cargo run --example network -- apply
//! ```
//!
//! Each EKS cluster is served as EKS serves it: HTTPS with its own CA, EKS tokens verified
//! through the sandbox's STS, access entries; `--kubeconfig-out FILE` writes an admin
//! kubeconfig once a cluster is served:
//!
//! ```text
//! cargo run -p girder-testing --bin sandbox -- --env-out sandbox.env --kubeconfig-out kubeconfig.yaml
//! kubectl --kubeconfig kubeconfig.yaml get nodes
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use girder_aws_layer::{BEHAVIOUR_NAMES, Behaviours};
use girder_testing::sandbox::{Sandbox, SandboxOptions};

/// Runs an AWS sandbox (moto behind the AWS behaviour layer) until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "sandbox", version)]
struct Args {
    /// Write the environment a program needs (`export` lines) to this file.
    #[arg(long, value_name = "FILE")]
    env_out: PathBuf,
    /// Behaviours to switch on: a comma list of lifecycle, consistency, propagation,
    /// throttling, draining, lost_responses, idempotency; `all`; or `none`.
    #[arg(long, value_name = "LIST", default_value = "all")]
    behaviours: String,
    /// Multiplies every duration (0.01: a ten-minute EKS creation takes six seconds).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    scale: f64,
    /// The region the environment names.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Write an admin kubeconfig (the cluster's CA and a static `kubernetes-admin` token) to
    /// this file once an EKS cluster is served; with several clusters, the first by name.
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// Shape the behaviours so a program at `--scale 0.01` meets each one on every run (the
    /// first call of each operation loses its response, windows of seconds), as the
    /// end-to-end tests do, instead of AWS's typical rates.
    #[arg(long)]
    deterministic: bool,
}

fn main() -> ExitCode {
    tracing_subscriber_init();
    let args = Args::parse();
    let behaviours = if args.behaviours.trim() == "none" {
        Ok(Behaviours::none())
    } else if args.deterministic {
        Behaviours::deterministic(&args.behaviours)
    } else {
        Behaviours::parse_list(&args.behaviours)
    };
    let behaviours = match behaviours {
        Ok(b) => b,
        Err(e) => {
            eprintln!("sandbox: --behaviours {}: {e}", args.behaviours);
            return ExitCode::from(2);
        }
    };
    if !(args.scale.is_finite() && args.scale > 0.0) {
        eprintln!(
            "sandbox: --scale {} must be a positive factor, such as 0.01",
            args.scale
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, behaviours))
}

async fn run(args: Args, behaviours: Behaviours) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    // Listen before starting anything: a signal during start-up still stops everything.
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("sandbox: cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = SandboxOptions {
        behaviours: behaviours.clone(),
        scale: args.scale,
        region: args.region.clone(),
        ..SandboxOptions::default()
    };
    let sandbox = match tokio::task::spawn_blocking(move || Sandbox::start(options)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            eprintln!("sandbox: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("sandbox: start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = write_atomically(&args.env_out, &sandbox.env_script()) {
        eprintln!("sandbox: cannot write {}: {e}", args.env_out.display());
        sandbox.stop();
        return ExitCode::FAILURE;
    }
    let enabled = behaviours.enabled_names();
    println!("girder sandbox");
    println!("  AWS endpoint   {}", sandbox.layer().endpoint());
    println!(
        "  moto           {} (pid {})",
        sandbox.moto_endpoint(),
        sandbox.moto_pid()
    );
    println!(
        "  behaviours     {} (of {})",
        if enabled.is_empty() {
            "none".into()
        } else {
            enabled.join(", ")
        },
        BEHAVIOUR_NAMES.join(", ")
    );
    println!("  scale          {}", args.scale);
    println!(
        "  control        {}/_layer/behaviours, /_layer/counters",
        sandbox.layer().endpoint()
    );
    println!("  EKS clusters   each served by a Kubernetes API emulator once ACTIVE");
    println!("  environment    source {}", args.env_out.display());
    println!("Stop with Ctrl-C (SIGINT) or SIGTERM.");
    if let Some(path) = &args.kubeconfig_out {
        println!(
            "  kubeconfig     {} (once a cluster is served)",
            path.display()
        );
    }
    // The served clusters are observed, not announced: check them as time passes.
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut written: Option<String> = None;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = tick.tick() => {
                let Some(path) = &args.kubeconfig_out else { continue };
                let kubeconfig = sandbox
                    .host()
                    .clusters()
                    .first()
                    .and_then(|cluster| sandbox.host().admin_kubeconfig(cluster));
                if kubeconfig != written {
                    let outcome = match &kubeconfig {
                        Some(text) => write_atomically(path, text),
                        None => std::fs::remove_file(path).or_else(|e| {
                            if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }
                        }),
                    };
                    if let Err(e) = outcome {
                        eprintln!("sandbox: cannot write {}: {e}", path.display());
                    }
                    written = kubeconfig;
                }
            }
        }
    }
    println!("sandbox: stopping");
    let counters = sandbox.layer().counters();
    for (behaviour, operations) in &counters.behaviours {
        println!(
            "  {behaviour} fired {} time(s)",
            operations.values().sum::<u64>()
        );
    }
    let _ = tokio::task::spawn_blocking(move || sandbox.stop()).await;
    let _ = std::fs::remove_file(&args.env_out);
    if let Some(path) = &args.kubeconfig_out {
        let _ = std::fs::remove_file(path);
    }
    ExitCode::SUCCESS
}

fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GIRDER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
