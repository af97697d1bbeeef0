//! The AWS API emulator for tests: starts `moto_server` (Python package `moto[server]`, pinned
//! in `scripts/requirements.txt`) on a free loopback port and stops it on drop.
//!
//! The binary is found through `GIRDER_MOTO_SERVER`, else `<workspace>/.venv/bin/moto_server`
//! (which `scripts/python-deps.sh` creates), the workspace being found at run time by walking
//! up from `CARGO_MANIFEST_DIR` or the current directory. A missing binary is an error that
//! says how to install it: tests never skip silently.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why moto could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// The binary is not installed.
    #[error(
        "moto_server not found at {0}; run `scripts/python-deps.sh` (or set GIRDER_MOTO_SERVER)"
    )]
    NotInstalled(String),
    /// Starting or reaching it failed.
    #[error("moto_server did not start: {0}")]
    Start(String),
}

/// A running moto server; stopped (killed and reaped) on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
}

/// The file that marks girder's workspace root.
const WORKSPACE_MARKER: &str = "scripts/python-deps.sh";

/// The workspace root: the nearest directory holding `scripts/python-deps.sh` above
/// `CARGO_MANIFEST_DIR` (set for test processes) or the current directory.
pub fn workspace_root() -> Option<PathBuf> {
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
    ];
    starts.into_iter().flatten().find_map(|start| {
        start
            .ancestors()
            .find(|dir| dir.join(WORKSPACE_MARKER).is_file())
            .map(std::path::Path::to_path_buf)
    })
}

/// The path of the `moto_server` binary to use (`GIRDER_MOTO_SERVER` or the workspace's
/// `.venv`).
pub fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GIRDER_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    workspace_root()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".venv/bin/moto_server")
}

/// A free port on 127.0.0.1 (bound and released; good enough for a test server).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

impl MotoServer {
    /// Starts moto on a free loopback port and waits until it answers.
    pub fn start() -> Result<MotoServer, MotoError> {
        MotoServer::start_with_env(&[])
    }

    /// The process id of the moto server (to check it is gone after a stop).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts moto with extra environment variables for the server process, such as
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true` (so AWS managed policies like
    /// `AmazonEKSClusterPolicy` exist and can be attached).
    pub fn start_with_env(env: &[(&str, &str)]) -> Result<MotoServer, MotoError> {
        let binary = moto_binary();
        if !binary.exists() {
            return Err(MotoError::NotInstalled(binary.display().to_string()));
        }
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port().map_err(|e| MotoError::Start(e.to_string()))?;
            let child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| MotoError::Start(format!("{}: {e}", binary.display())))?;
            let mut server = MotoServer { child, port };
            match server.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(MotoError::Start(last_error))
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status} (port {} taken?)", self.port));
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let request = format!(
                    "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
                    self.port
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut answer = [0u8; 12];
                    if stream.read_exact(&mut answer).is_ok() && answer.starts_with(b"HTTP/") {
                        return Ok(());
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("no answer on port {} within {limit:?}", self.port))
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Environment variables that point the AWS SDK (and girder programs run as child
    /// processes) at this server with dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_SESSION_TOKEN", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Resets moto's state (all services) between tests sharing one server.
    pub fn reset(&self) -> Result<(), MotoError> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| MotoError::Start(e.to_string()))?;
        let request = format!(
            "POST /moto-api/reset HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\r\n",
            self.port
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| MotoError::Start(e.to_string()))?;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        Ok(())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
