//! The `kube-emulator` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::config::EmulatorConfig;
use crate::server::{KubeEmulator, write_atomically};

/// Runs girder's Kubernetes API emulator on 127.0.0.1 until SIGTERM or SIGINT.
#[derive(Debug, Parser)]
#[command(
    name = "kube-emulator",
    version,
    about = "girder's in-memory Kubernetes API emulator (for tests; not a cluster)"
)]
struct Cli {
    /// Port on 127.0.0.1 to listen on (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a kubeconfig for the emulator to this file once it is listening.
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// Images containing this substring never become ready (repeatable; "never-ready" is
    /// always included).
    #[arg(long = "failing-image", value_name = "PATTERN")]
    failing_images: Vec<String>,
    /// Milliseconds per simulated rollout step.
    #[arg(long, value_name = "MS", default_value_t = 50)]
    rollout_step_ms: u64,
    /// Milliseconds before a LoadBalancer Service gets its hostname.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    lb_delay_ms: u64,
}

/// Entry point of the `kube-emulator` binary: `--port N` (0 = free port),
/// `--kubeconfig-out FILE`, `--failing-image PATTERN` (repeatable). Prints the URL on stdout,
/// writes the kubeconfig, and serves until SIGTERM or SIGINT, then stops cleanly.
pub fn cli_main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "girder_kube_emulator=info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = EmulatorConfig {
        rollout_step: Duration::from_millis(cli.rollout_step_ms),
        lb_hostname_delay: Duration::from_millis(cli.lb_delay_ms),
        ..EmulatorConfig::default()
    };
    config.failing_image_patterns.extend(cli.failing_images);
    let emulator = match KubeEmulator::start_on(cli.port, config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kube-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &cli.kubeconfig_out
        && let Err(e) = write_atomically(path, &emulator.kubeconfig_yaml())
    {
        eprintln!("kube-emulator: {e}");
        emulator.stop();
        return ExitCode::FAILURE;
    }
    println!("{}", emulator.url());
    eprintln!(
        "kube-emulator: serving the Kubernetes API on {} (Ctrl-C or SIGTERM to stop)",
        emulator.url()
    );
    let waited = wait_for_signal();
    emulator.stop();
    match waited {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kube-emulator: cannot wait for signals: {e}");
            ExitCode::FAILURE
        }
    }
}

fn wait_for_signal() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    })
}
