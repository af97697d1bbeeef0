//! [`KubeEmulator`]: the server on its own thread and tokio runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{EmulatorConfig, kubeconfig_yaml};
use crate::error::EmulatorError;
use crate::http::{App, router};
use crate::store::Store;

/// A running Kubernetes API emulator on `http://127.0.0.1:PORT`.
///
/// It runs on its own thread with its own tokio runtime, so it can be used from synchronous
/// tests and from inside other runtimes alike. Dropping it (or calling [`KubeEmulator::stop`])
/// shuts the server, its watches and its simulated controllers down and joins the thread.
///
/// ```
/// use girder_kube_emulator::KubeEmulator;
///
/// let emulator = KubeEmulator::start().expect("emulator starts");
/// assert!(emulator.url().starts_with("http://127.0.0.1:"));
/// assert!(emulator.kubeconfig_yaml().contains("current-context: girder-emulator"));
/// emulator.stop();
/// ```
#[derive(Debug)]
pub struct KubeEmulator {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl KubeEmulator {
    /// Starts on 127.0.0.1 with a free port and the default [`EmulatorConfig`], on its own
    /// thread with its own tokio runtime. Returns once the server accepts connections.
    pub fn start() -> Result<KubeEmulator, EmulatorError> {
        Self::start_on(0, EmulatorConfig::default())
    }

    /// Starts on a free port with the given configuration.
    pub fn start_with(config: EmulatorConfig) -> Result<KubeEmulator, EmulatorError> {
        Self::start_on(0, config)
    }

    /// Starts on `127.0.0.1:port` (0 picks a free port) with the given configuration.
    pub fn start_on(port: u16, config: EmulatorConfig) -> Result<KubeEmulator, EmulatorError> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .map_err(|source| EmulatorError::Bind { port, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| EmulatorError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { port, source })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-emulator-worker")
            .enable_all()
            .build()
            .map_err(EmulatorError::Runtime)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let store = Store::new(Arc::new(config));
        let thread = std::thread::Builder::new()
            .name(format!("kube-emulator-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, addr, store, shutdown_rx, ready_tx));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(EmulatorError::Runtime)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(EmulatorError::NotReady(e)),
            Err(_) => return Err(EmulatorError::NotReady("the server thread exited".into())),
        }
        tracing::info!(%addr, "kube emulator listening");
        Ok(KubeEmulator {
            addr,
            shutdown,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A kubeconfig with one cluster, context and user named `girder-emulator`, with the
    /// current context set, pointing at [`KubeEmulator::url`] (no credentials).
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_yaml(&self.url())
    }

    /// Writes [`KubeEmulator::kubeconfig_yaml`] to `path` (atomically: a temporary file in the
    /// same directory is renamed into place).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> Result<(), EmulatorError> {
        write_atomically(path, &self.kubeconfig_yaml())
    }

    /// Stops the server and its controllers and joins the thread (also done on drop).
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the kube emulator thread panicked");
        }
    }
}

impl Drop for KubeEmulator {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

pub(crate) fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), EmulatorError> {
    let err = |source| EmulatorError::WriteKubeconfig {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "kubeconfig".into());
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

async fn serve(
    listener: std::net::TcpListener,
    addr: SocketAddr,
    store: Arc<Store>,
    shutdown: watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let app = Arc::new(App {
        store: store.clone(),
        shutdown: shutdown.clone(),
        server_address: addr.to_string(),
    });
    let controllers = tokio::spawn(crate::controllers::run(store, shutdown.clone()));
    let mut stop = shutdown.clone();
    let server = axum::serve(listener, router(app)).with_graceful_shutdown(async move {
        let _ = stop.wait_for(|s| *s).await;
    });
    let _ = ready.send(Ok(()));
    let mut stop = shutdown.clone();
    let server = tokio::spawn(async move { server.await });
    let _ = stop.wait_for(|s| *s).await;
    // Give in-flight requests a moment; open watches end on the shutdown signal.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), controllers).await;
}
