//! The real `kubectl` (from `KUBECTL`, else `kubectl` on `PATH`), with its own kubeconfig and
//! cache directory. A missing kubectl fails the test with a message that says how to fix it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use girder_kube_emulator::KubeEmulator;
use serde_json::Value;

/// The kubectl binary: `$KUBECTL`, else the first `kubectl` on `PATH`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "KUBECTL is set to {}, which is not a file: point it at a kubectl binary",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "kubectl is required by these tests and was not found: install it (e.g. /usr/bin/kubectl) or set KUBECTL to its path"
            )
        })
}

/// kubectl with its own kubeconfig and cache.
pub struct Kubectl {
    pub kubeconfig: PathBuf,
    cache: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kubectl {
    /// With the emulator's admin kubeconfig.
    pub fn new(emulator: &KubeEmulator) -> Self {
        Self::with_kubeconfig(&emulator.kubeconfig_yaml())
    }

    /// With a given kubeconfig.
    pub fn with_kubeconfig(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, yaml).unwrap();
        Kubectl {
            kubeconfig,
            cache: dir.path().join("cache"),
            _dir: dir,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env_remove("KUBECONFIG");
        command
    }

    /// Runs kubectl to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()))
    }

    /// Starts kubectl without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()))
    }

    /// Runs kubectl and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl, requires failure, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} succeeded but should have failed:\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `kubectl ARGS -o json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl printed JSON")
    }

    /// Writes `yaml` to `dir/name` and applies it.
    pub fn apply(&self, dir: &Path, name: &str, yaml: &str, extra: &[&str]) -> String {
        let file = dir.join(name);
        std::fs::write(&file, yaml).unwrap();
        let mut args = vec!["apply", "-f", file.to_str().unwrap()];
        args.extend(extra);
        self.ok(&args)
    }
}
