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
    /// Milliseconds the namespace controller waits before emptying a deleted namespace.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    namespace_deletion_delay_ms: u64,
    /// The version /version reports, in EKS form (vMAJOR.MINOR.PATCH-eks-COMMIT).
    #[arg(long, value_name = "VERSION", default_value = crate::config::DEFAULT_SERVER_VERSION)]
    server_version: String,
    /// Serve HTTPS with a CA made at start (the kubeconfig carries it).
    #[arg(long)]
    https: bool,
    /// Write the CA certificate (PEM) to this file (with --https).
    #[arg(long, value_name = "FILE", requires = "https")]
    ca_out: Option<PathBuf>,
    /// Require bearer tokens; this one is the admin's (system:masters) and goes into the
    /// kubeconfig. Without it, --eks-cluster makes a random admin token.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Authenticate EKS tokens made for this cluster name (needs --sts-endpoint and
    /// --access-entries).
    #[arg(long, value_name = "NAME", requires_all = ["sts_endpoint", "access_entries"])]
    eks_cluster: Option<String>,
    /// The STS endpoint EKS tokens must be presigned for (the only host called).
    #[arg(long, value_name = "URL")]
    sts_endpoint: Option<String>,
    /// The STS endpoint is a moto server.
    #[arg(long, requires = "sts_endpoint")]
    sts_moto: bool,
    /// YAML or JSON file of access entries, in the EKS API's shape; read on every request.
    #[arg(long, value_name = "FILE")]
    access_entries: Option<PathBuf>,
    /// A secret key for local signature checks, as ACCESS_KEY_ID=SECRET (repeatable).
    #[arg(long = "signing-secret", value_name = "ID=SECRET")]
    signing_secrets: Vec<String>,
}

/// The emulator's builder from the command line.
fn builder(cli: &Cli) -> Result<crate::KubeEmulatorBuilder, String> {
    use crate::{
        Authentication, EksAuthentication, FileAccessSource, StaticSigningSecrets, StsEndpoint,
    };
    let mut config = EmulatorConfig {
        rollout_step: Duration::from_millis(cli.rollout_step_ms),
        lb_hostname_delay: Duration::from_millis(cli.lb_delay_ms),
        namespace_deletion_delay: Duration::from_millis(cli.namespace_deletion_delay_ms),
        server_version: cli.server_version.clone(),
        ..EmulatorConfig::default()
    };
    config
        .failing_image_patterns
        .extend(cli.failing_images.iter().cloned());
    let mut builder = KubeEmulator::builder().port(cli.port).config(config);
    if cli.https {
        builder = builder.https();
    }
    if let Some(token) = &cli.admin_token {
        builder = builder.admin_token(token.clone());
    }
    if let Some(cluster) = &cli.eks_cluster {
        let url = cli.sts_endpoint.as_deref().unwrap_or_default();
        let sts = if cli.sts_moto {
            StsEndpoint::moto(url)
        } else {
            StsEndpoint::new(url)
        }
        .map_err(|e| e.to_string())?;
        let mut secrets = StaticSigningSecrets::new();
        for pair in &cli.signing_secrets {
            let (id, secret) = pair
                .split_once('=')
                .ok_or_else(|| format!("--signing-secret {pair:?} is not ACCESS_KEY_ID=SECRET"))?;
            secrets = secrets.key(id, secret);
        }
        builder = builder
            .authentication(Authentication::Eks(
                EksAuthentication::new(cluster.clone(), sts).signing_secrets(secrets),
            ))
            .access_source(FileAccessSource::new(
                cli.access_entries.clone().unwrap_or_default(),
            ));
    } else if cli.admin_token.is_some() {
        builder = builder.authentication(Authentication::Tokens(crate::StaticTokens::new()));
    }
    Ok(builder)
}

/// Entry point of the `kube-emulator` binary: `--port N` (0 = free port),
/// `--kubeconfig-out FILE`, `--failing-image PATTERN` (repeatable), `--https` and
/// `--ca-out FILE`, `--admin-token TOKEN`, EKS authentication with `--eks-cluster NAME
/// --sts-endpoint URL [--sts-moto] --access-entries FILE [--signing-secret ID=SECRET]`,
/// `--server-version`, `--namespace-deletion-delay-ms`. Prints the URL on stdout, writes the
/// kubeconfig (admin token and CA included), and serves until SIGTERM or SIGINT, then stops
/// cleanly.
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
    let emulator = match builder(&cli).and_then(|b| b.start().map_err(|e| e.to_string())) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kube-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(path), Some(pem)) = (&cli.ca_out, emulator.ca_pem())
        && let Err(e) = write_atomically(path, pem)
    {
        eprintln!("kube-emulator: {e}");
        emulator.stop();
        return ExitCode::FAILURE;
    }
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
