//! [`AwsLayer`]: the proxy on 127.0.0.1, on its own thread and tokio runtime.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use crate::clock::{Clock, RealClock};
use crate::config::Behaviours;
use crate::counters::{Counters, Tally};
use crate::eks::EksRegistry;
use crate::error::LayerError;
use crate::host::ClusterHost;
use crate::protocol::AwsRequest;
use crate::upstream::Upstream;
use crate::world::{DrainSource, World};

/// How the layer starts.
///
/// ```no_run
/// use std::sync::Arc;
/// use girder_aws_layer::{AwsLayer, Behaviours, LayerConfig};
/// use girder_aws_layer::clock::ManualClock;
///
/// let clock = Arc::new(ManualClock::new());
/// let layer = AwsLayer::start(
///     LayerConfig::new("http://127.0.0.1:5000")
///         .behaviours(Behaviours::parse_list("lifecycle,consistency").unwrap())
///         .scale(0.01)
///         .clock(clock.clone()),
/// )
/// .unwrap();
/// println!("AWS_ENDPOINT_URL={}", layer.endpoint());
/// ```
#[derive(Clone, Debug)]
pub struct LayerConfig {
    upstream: String,
    behaviours: Behaviours,
    clock: Arc<dyn Clock>,
    host: Option<Arc<dyn ClusterHost>>,
    port: u16,
}

impl LayerConfig {
    /// A layer in front of `upstream` (moto's `http://127.0.0.1:PORT`), every behaviour off,
    /// the real clock, a free port.
    pub fn new(upstream: impl Into<String>) -> LayerConfig {
        LayerConfig {
            upstream: upstream.into(),
            behaviours: Behaviours::none(),
            clock: Arc::new(RealClock::new()),
            host: None,
            port: 0,
        }
    }

    /// The behaviours at start, their `scale` included (call [`LayerConfig::scale`] after
    /// this to override it).
    pub fn behaviours(mut self, behaviours: Behaviours) -> LayerConfig {
        self.behaviours = behaviours;
        self
    }

    /// The scale factor of every duration.
    pub fn scale(mut self, scale: f64) -> LayerConfig {
        self.behaviours.scale = scale;
        self
    }

    /// The clock (a [`crate::clock::ManualClock`] in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> LayerConfig {
        self.clock = clock;
        self
    }

    /// The host that serves each ACTIVE cluster's Kubernetes API.
    pub fn cluster_host(mut self, host: Arc<dyn ClusterHost>) -> LayerConfig {
        self.host = Some(host);
        self
    }

    /// A fixed port (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> LayerConfig {
        self.port = port;
        self
    }
}

/// What the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    behaviours: RwLock<Behaviours>,
    pub clock: Arc<dyn Clock>,
    pub tally: Tally,
    world: Mutex<World>,
    pub eks: EksRegistry,
    pub host: Option<Arc<dyn ClusterHost>>,
    pub upstream: Upstream,
}

impl Shared {
    /// A snapshot of the behaviours (one request sees one consistent set).
    pub fn behaviours(&self) -> Behaviours {
        self.behaviours
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_behaviours(&self, behaviours: Behaviours) {
        *self.behaviours.write().unwrap_or_else(|e| e.into_inner()) = behaviours;
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running AWS behaviour layer on `http://127.0.0.1:PORT`; stopped on drop.
///
/// Point the AWS SDK at [`AwsLayer::endpoint`] (`AWS_ENDPOINT_URL`) instead of moto's; the
/// layer forwards to moto and behaves like AWS as its [`Behaviours`] say.
#[derive(Debug)]
pub struct AwsLayer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl AwsLayer {
    /// Binds 127.0.0.1 and starts serving on its own thread; returns once it accepts
    /// connections.
    pub fn start(config: LayerConfig) -> Result<AwsLayer, LayerError> {
        config.behaviours.validate()?;
        let upstream = Upstream::new(&config.upstream)?;
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", config.port)).map_err(LayerError::Start)?;
        listener.set_nonblocking(true).map_err(LayerError::Start)?;
        let addr = listener.local_addr().map_err(LayerError::Start)?;
        let shared = Arc::new(Shared {
            behaviours: RwLock::new(config.behaviours),
            clock: config.clock,
            tally: Tally::default(),
            world: Mutex::new(World::default()),
            eks: EksRegistry::default(),
            host: config.host,
            upstream,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aws-layer-worker")
            .enable_all()
            .build()
            .map_err(LayerError::Start)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("aws-layer-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, serving, shutdown_rx, ready_tx));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(LayerError::Start)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(LayerError::Start(std::io::Error::other(e))),
            Err(_) => {
                return Err(LayerError::Start(std::io::Error::other(
                    "the layer's server thread exited",
                )));
            }
        }
        tracing::info!(%addr, "AWS behaviour layer listening");
        Ok(AwsLayer {
            addr,
            shared,
            shutdown,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, the `AWS_ENDPOINT_URL` for every service.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The behaviours now.
    pub fn behaviours(&self) -> Behaviours {
        self.shared.behaviours()
    }

    /// Replaces the behaviours (checked first).
    pub fn set_behaviours(&self, behaviours: Behaviours) -> Result<(), LayerError> {
        behaviours.validate()?;
        self.shared.set_behaviours(behaviours);
        Ok(())
    }

    /// Changes the behaviours in place: `layer.update(|b| b.throttling.rate = 1.0)`.
    pub fn update(&self, change: impl FnOnce(&mut Behaviours)) -> Result<(), LayerError> {
        let mut behaviours = self.behaviours();
        change(&mut behaviours);
        self.set_behaviours(behaviours)
    }

    /// Switches one behaviour by name (`lifecycle`, `consistency`, …).
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), LayerError> {
        let mut behaviours = self.behaviours();
        behaviours.set_enabled(name, enabled)?;
        self.set_behaviours(behaviours)
    }

    /// The request and behaviour counters.
    pub fn counters(&self) -> Counters {
        self.shared.tally.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.shared.tally.reset();
    }

    /// The EKS state the layer serves (add-ons, access entries, access configuration).
    pub fn eks(&self) -> EksRegistry {
        self.shared.eks.clone()
    }

    /// The layer's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.shared.clock.clone()
    }

    /// Marks a VPC as draining now, as after a load balancer made outside the layer (by a
    /// Kubernetes cloud controller) is deleted.
    pub fn drain_vpc(&self, vpc_id: &str) {
        let now = self.shared.clock.now();
        self.shared.world().draining.insert(
            vpc_id.to_owned(),
            (now, DrainSource::LoadBalancer("external".into())),
        );
    }

    /// Stops serving and joins the thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AwsLayer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let app = Router::new()
        .nest("/_layer", crate::control::router())
        .fallback(aws)
        .with_state(shared.clone());
    let _ = ready.send(Ok(()));
    // Clusters become ACTIVE as time passes, not only when asked: tell the host in time.
    let ticking = shared.clone();
    let mut tick_stop = shutdown.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    let behaviours = ticking.behaviours();
                    crate::eks::sweep(&ticking, &behaviours, ticking.clock.now()).await;
                }
                _ = tick_stop.changed() => break,
            }
        }
    });
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "AWS behaviour layer stopped with an error");
    }
}

async fn aws(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, crate::proxy::BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => {
            return (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("the AWS behaviour layer buffers bodies up to 256 MiB: {e}"),
            )
                .into_response();
        }
    };
    let request = AwsRequest::parse(parts.method, &parts.uri, parts.headers, body);
    crate::proxy::handle(&shared, request).await.into_response()
}
