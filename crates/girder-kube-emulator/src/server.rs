//! [`KubeEmulator`]: the server on its own thread and tokio runtime, and
//! [`KubeEmulatorBuilder`] to start one with HTTPS, authentication and access entries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::access::AccessSource;
use crate::auth::{Authentication, Authenticator, StaticTokens, UserInfo};
use crate::clock::Clock;
use crate::cloud::CloudProvider;
use crate::config::{EmulatorConfig, kubeconfig_yaml};
use crate::error::EmulatorError;
use crate::http::{App, router};
use crate::requests::{RequestCounter, RequestCounts};
use crate::store::Store;
use crate::tls::{TlsListener, TlsMaterial};

/// A running Kubernetes API emulator on `http://127.0.0.1:PORT` (or `https://` with its own
/// CA, see [`KubeEmulatorBuilder`]).
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
pub struct KubeEmulator {
    addr: SocketAddr,
    ca_pem: Option<String>,
    ca_der: Option<Vec<u8>>,
    admin_token: Option<String>,
    requests: RequestCounter,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for KubeEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeEmulator")
            .field("url", &self.url())
            .field("authentication", &self.admin_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Starts a [`KubeEmulator`] with HTTPS, authentication, access entries, a clock, a port and
/// an [`EmulatorConfig`]; everything is optional and off by default (plain HTTP, no
/// authentication).
///
/// ```
/// use girder_kube_emulator::{
///     AccessEntry, AccessScope, Authentication, CLUSTER_ADMIN_POLICY, EksAuthentication,
///     InMemoryAccessSource, KubeEmulator, StsEndpoint,
/// };
///
/// let access = InMemoryAccessSource::new();
/// access.put(
///     AccessEntry::new("arn:aws:iam::123456789012:role/Admin")
///         .policy(CLUSTER_ADMIN_POLICY, AccessScope::Cluster),
/// );
/// let sts = StsEndpoint::moto("http://127.0.0.1:5000").unwrap();
/// let emulator = KubeEmulator::builder()
///     .https()
///     .authentication(Authentication::Eks(EksAuthentication::new("yolo", sts)))
///     .access_source(access)
///     .start()
///     .expect("emulator starts");
/// assert!(emulator.url().starts_with("https://127.0.0.1:"));
/// assert!(emulator.ca_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
/// let kubeconfig = emulator.kubeconfig_yaml(); // the CA and the admin token
/// assert!(kubeconfig.contains("certificate-authority-data:"));
/// assert!(kubeconfig.contains(emulator.admin_token().unwrap()));
/// emulator.stop();
/// ```
pub struct KubeEmulatorBuilder {
    port: u16,
    config: EmulatorConfig,
    https: bool,
    authentication: Authentication,
    admin_token: Option<String>,
    tokens: StaticTokens,
    access: Option<Arc<dyn AccessSource>>,
    clock: Arc<dyn Clock>,
    cloud: Option<Arc<dyn CloudProvider>>,
}

impl std::fmt::Debug for KubeEmulatorBuilder {
    /// Everything but the admin token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeEmulatorBuilder")
            .field("port", &self.port)
            .field("config", &self.config)
            .field("https", &self.https)
            .field("authentication", &self.authentication)
            .field("admin_token_set", &self.admin_token.is_some())
            .field("tokens", &self.tokens)
            .field("access", &self.access)
            .field("clock", &self.clock)
            .field("cloud", &self.cloud)
            .finish()
    }
}

impl Default for KubeEmulatorBuilder {
    fn default() -> Self {
        KubeEmulatorBuilder {
            port: 0,
            config: EmulatorConfig::default(),
            https: false,
            authentication: Authentication::None,
            admin_token: None,
            tokens: StaticTokens::new(),
            access: None,
            clock: crate::clock::system(),
            cloud: None,
        }
    }
}

impl KubeEmulatorBuilder {
    /// Listens on `127.0.0.1:port` (default 0: a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The cluster's tunables.
    pub fn config(mut self, config: EmulatorConfig) -> Self {
        self.config = config;
        self
    }

    /// Serves HTTPS with a CA made at start ([`KubeEmulator::ca_pem`]) and a certificate for
    /// `127.0.0.1` and `localhost`.
    pub fn https(mut self) -> Self {
        self.https = true;
        self
    }

    /// How requests are authenticated (default: not at all).
    pub fn authentication(mut self, authentication: Authentication) -> Self {
        self.authentication = authentication;
        self
    }

    /// The admin kubeconfig's token (user `kubernetes-admin` in `system:masters`); when
    /// authentication is on and none is given, a random one is made.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Another static bearer token (accepted with any authentication but
    /// [`Authentication::None`]).
    pub fn static_token(mut self, token: impl Into<String>, user: UserInfo) -> Self {
        self.tokens = self.tokens.token(token, user);
        self
    }

    /// Where the cluster's EKS access entries come from (required by
    /// [`Authentication::Eks`]).
    pub fn access_source(self, source: impl AccessSource + 'static) -> Self {
        self.access_source_arc(Arc::new(source))
    }

    /// Like [`KubeEmulatorBuilder::access_source`], for a shared source.
    pub fn access_source_arc(mut self, source: Arc<dyn AccessSource>) -> Self {
        self.access = Some(source);
        self
    }

    /// The clock for token validity and the namespace controller (default: the system
    /// clock); a [`crate::ManualClock`] makes expiry testable without sleeping.
    pub fn clock(self, clock: impl Clock + 'static) -> Self {
        self.clock_arc(Arc::new(clock))
    }

    /// Like [`KubeEmulatorBuilder::clock`], for a shared clock.
    pub fn clock_arc(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cloud the service controller makes load balancers in, and that external-dns-like
    /// controllers act on (default: none; LoadBalancer Services get made-up hostnames).
    pub fn cloud_provider(self, provider: impl CloudProvider + 'static) -> Self {
        self.cloud_provider_arc(Arc::new(provider))
    }

    /// Like [`KubeEmulatorBuilder::cloud_provider`], for a shared provider.
    pub fn cloud_provider_arc(mut self, provider: Arc<dyn CloudProvider>) -> Self {
        self.cloud = Some(provider);
        self
    }

    /// Starts the emulator on its own thread and runtime; returns once it accepts
    /// connections.
    pub fn start(self) -> Result<KubeEmulator, EmulatorError> {
        self.config
            .version_numbers()
            .map_err(EmulatorError::Config)?;
        let auth_on = !matches!(self.authentication, Authentication::None);
        let admin_token = auth_on.then(|| {
            self.admin_token
                .clone()
                .unwrap_or_else(|| format!("girder-admin-{}", uuid::Uuid::new_v4().simple()))
        });
        let mut tokens = self.tokens.clone();
        if let Some(token) = &admin_token {
            tokens = tokens.token(token.clone(), UserInfo::cluster_admin());
        }
        let authenticator = Authenticator::new(
            self.authentication.clone(),
            tokens,
            self.access.clone(),
            self.clock.clone(),
        )?;
        let tls = if self.https {
            Some(TlsMaterial::generate()?)
        } else {
            None
        };
        let server_config = tls.as_ref().map(TlsMaterial::server_config).transpose()?;
        let port = self.port;
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
        let store = Store::new(Arc::new(self.config), self.clock.clone());
        store.lock().cloud.enabled = self.cloud.is_some();
        let cloud = self.cloud.clone();
        let scheme = if server_config.is_some() {
            "https"
        } else {
            "http"
        };
        let requests = RequestCounter::default();
        let app = App {
            store,
            shutdown: shutdown_rx.clone(),
            server_address: addr.to_string(),
            auth: authenticator,
            requests: requests.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("kube-emulator-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(
                    listener,
                    server_config,
                    app,
                    cloud,
                    shutdown_rx,
                    ready_tx,
                ));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(EmulatorError::Runtime)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(EmulatorError::NotReady(e)),
            Err(_) => return Err(EmulatorError::NotReady("the server thread exited".into())),
        }
        tracing::info!(%addr, scheme, authentication = auth_on, "kube emulator listening");
        Ok(KubeEmulator {
            addr,
            ca_pem: tls.as_ref().map(|t| t.ca_pem.clone()),
            ca_der: tls.as_ref().map(|t| t.ca_der.clone()),
            admin_token,
            requests,
            shutdown,
            thread: Some(thread),
        })
    }
}

impl KubeEmulator {
    /// Starts on 127.0.0.1 with a free port and the default [`EmulatorConfig`], on its own
    /// thread with its own tokio runtime, over plain HTTP without authentication. Returns
    /// once the server accepts connections.
    pub fn start() -> Result<KubeEmulator, EmulatorError> {
        Self::start_on(0, EmulatorConfig::default())
    }

    /// Starts on a free port with the given configuration (plain HTTP, no authentication).
    pub fn start_with(config: EmulatorConfig) -> Result<KubeEmulator, EmulatorError> {
        Self::start_on(0, config)
    }

    /// Starts on `127.0.0.1:port` (0 picks a free port) with the given configuration (plain
    /// HTTP, no authentication).
    pub fn start_on(port: u16, config: EmulatorConfig) -> Result<KubeEmulator, EmulatorError> {
        KubeEmulator::builder().port(port).config(config).start()
    }

    /// A builder for HTTPS, authentication and the other options.
    pub fn builder() -> KubeEmulatorBuilder {
        KubeEmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` when serving HTTPS.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The PEM of the CA that signed the server certificate (HTTPS only): what clients trust,
    /// like an EKS cluster's `certificateAuthority.data` (base64 of this PEM).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The CA certificate in DER (HTTPS only), for `kube::Config::root_cert`.
    pub fn ca_der(&self) -> Option<&[u8]> {
        self.ca_der.as_deref()
    }

    /// The admin kubeconfig's bearer token, when authentication is on.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// A kubeconfig with one cluster, context and user named `girder-emulator`, with the
    /// current context set, pointing at [`KubeEmulator::url`]; with HTTPS it carries the CA as
    /// `certificate-authority-data`, and with authentication the admin token.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_yaml(
            &self.url(),
            self.ca_pem.as_deref(),
            self.admin_token.as_deref(),
        )
    }

    /// Like [`KubeEmulator::kubeconfig_yaml`], with another bearer token (an EKS
    /// `k8s-aws-v1.` token or a static one).
    pub fn kubeconfig_yaml_with_token(&self, token: &str) -> String {
        kubeconfig_yaml(&self.url(), self.ca_pem.as_deref(), Some(token))
    }

    /// Writes [`KubeEmulator::kubeconfig_yaml`] to `path` (atomically: a temporary file in the
    /// same directory is renamed into place).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> Result<(), EmulatorError> {
        write_atomically(path, &self.kubeconfig_yaml())
    }

    /// Writes [`KubeEmulator::kubeconfig_yaml_with_token`] to `path` (atomically).
    pub fn write_kubeconfig_with_token(
        &self,
        path: &std::path::Path,
        token: &str,
    ) -> Result<(), EmulatorError> {
        write_atomically(path, &self.kubeconfig_yaml_with_token(token))
    }

    /// How many resource requests (GET, LIST, WATCH, writes) the emulator has served since it
    /// started or since [`KubeEmulator::reset_requests`], by verb and resource: what a test
    /// asserts when it counts a client's calls from the server's side.
    pub fn requests(&self) -> RequestCounts {
        self.requests.snapshot()
    }

    /// Starts counting [`KubeEmulator::requests`] from zero (after a test's setup).
    pub fn reset_requests(&self) {
        self.requests.reset();
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
    tls: Option<Arc<rustls::ServerConfig>>,
    app: App,
    cloud: Option<Arc<dyn CloudProvider>>,
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
    let store = app.store.clone();
    let app = Arc::new(app);
    let cloud = cloud.map(|provider| {
        tokio::spawn(crate::controllers::cloud::run(
            store.clone(),
            provider,
            shutdown.clone(),
        ))
    });
    let controllers = tokio::spawn(crate::controllers::run(store, shutdown.clone()));
    let server = match tls {
        Some(config) => match TlsListener::new(listener, config, shutdown.clone()) {
            Ok(tls_listener) => tokio::spawn(run(tls_listener, app, shutdown.clone())),
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        },
        None => tokio::spawn(run(listener, app, shutdown.clone())),
    };
    let _ = ready.send(Ok(()));
    let mut stop = shutdown.clone();
    let _ = stop.wait_for(|s| *s).await;
    // Give in-flight requests a moment; open watches end on the shutdown signal.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), controllers).await;
    if let Some(cloud) = cloud {
        // A cloud call in flight is abandoned with the runtime, as a killed controller's is.
        let _ = tokio::time::timeout(Duration::from_secs(1), cloud).await;
    }
}

async fn run<L>(listener: L, app: Arc<App>, shutdown: watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let mut stop = shutdown;
    let result = axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(%e, "the kube emulator's server stopped");
    }
}
