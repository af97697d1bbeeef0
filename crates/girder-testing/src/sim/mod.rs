//! The simulated provider (package `sim`): resource types with configurable latency, failure
//! injection and replacement fields, whose "cloud" is a directory with one file per live
//! resource. The engine's specification tests, the `sim_dag` example and the benchmarks run
//! on it.
//!
//! Besides the package configuration, each resource can steer its own behaviour through
//! inputs: `latency_ms` (its calls take this long), `fail_on` (`"create"`, `"update"` or
//! `"delete"` fail permanently), `flaky` (the first N create attempts fail with a retryable
//! error), `lost_response` (the first N create attempts create the object but fail with a
//! retryable error, as when a response is lost to a timeout), `never_ready` (create leaves
//! the resource behind but reports failure, so the engine records it as tainted),
//! `hiccups` (create waits until the resource is ready with
//! [`CallContext::poll_until`], and the first N looks fail with a 503, as a describe call does
//! in the middle of a long AWS wait), `stop_waiting` (create leaves the resource behind and
//! its wait runs out of time — a passing failure, so the engine keeps it as still creating)
//! and `invisible_reads` (the first N reads of the resource do not find it, as AWS's eventually
//! consistent listings do right after a create).

mod cloud;
mod dsl;
pub mod layered;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use girder_core::{Diagnostic, Diagnostics, FieldPath, Value};
use girder_engine::provider::{
    CallContext, CreateRequest, CreateResponse, DeleteRequest, ErrorKind, FindRequest,
    FindResponse, Found, Observed, Provider, ProviderError, ProviderPackage, RateLimit,
    ReadRequest, ReadResponse, ResourceSchema, UpdateRequest, UpdateResponse,
};
use girder_engine::wait::{Poll, PollDelays};

pub use cloud::{CloudError, SimCloud, SimObject};
pub use dsl::{SimHandle, SimId, SimResource};

/// The generic simulated resource type.
pub const SIM_RESOURCE: &str = "sim:resource";

/// How an injected failure behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Throttling-like: the engine retries.
    Retryable,
    /// Refused: the engine gives up on the resource.
    Permanent,
}

/// The behaviour of one simulated type.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeBehavior {
    /// Latency of each call (overrides the package's).
    pub latency: Option<Duration>,
    /// Probability that a create, update or delete call fails.
    pub fail_rate: f64,
    /// How injected failures behave.
    pub failure: FailureKind,
    /// Input fields whose change forces replacement.
    pub replace_on: Vec<&'static str>,
    /// Replace by deleting first.
    pub delete_before_replace: bool,
}

impl Default for TypeBehavior {
    fn default() -> Self {
        TypeBehavior {
            latency: None,
            fail_rate: 0.0,
            failure: FailureKind::Retryable,
            replace_on: vec!["zone"],
            delete_before_replace: false,
        }
    }
}

/// Call counters and an optional call log, for assertions and benchmark reports.
#[derive(Debug, Default)]
pub struct SimStats {
    /// Successful creates.
    pub creates: AtomicU64,
    /// Successful updates.
    pub updates: AtomicU64,
    /// Successful deletes.
    pub deletes: AtomicU64,
    /// Read calls (each may read many resources).
    pub read_calls: AtomicU64,
    /// Resources read.
    pub reads: AtomicU64,
    /// Find calls.
    pub finds: AtomicU64,
    /// Injected failures.
    pub injected_failures: AtomicU64,
    log: Mutex<Vec<CallRecord>>,
    attempts: Mutex<HashMap<String, u32>>,
}

/// One logged call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// The resource name.
    pub resource: String,
    /// `create`, `update` or `delete`.
    pub operation: &'static str,
    /// When the call started.
    pub started: Instant,
    /// When it returned.
    pub finished: Instant,
}

impl SimStats {
    /// The logged calls (when logging is enabled), in completion order.
    pub fn log(&self) -> Vec<CallRecord> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

struct SimInner {
    cloud: SimCloud,
    latency: Duration,
    fail_rate: f64,
    failure: FailureKind,
    types: BTreeMap<String, TypeBehavior>,
    schemas: HashMap<String, ResourceSchema>,
    rate_limit: Option<RateLimit>,
    log_calls: bool,
    stats: SimStats,
    hold: Option<Hold>,
}

/// Creates after the first `after` wait while `file` exists: lets a test stop an apply at an
/// exact point (some resources created, the next calls journaled and in flight) and release it.
struct Hold {
    file: PathBuf,
    after: u64,
    started: AtomicU64,
}

/// The simulated provider package.
///
/// ```
/// use girder_testing::sim::SimPackage;
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// let sim = SimPackage::in_dir(dir.path()).unwrap().latency(Duration::from_millis(5));
/// assert_eq!(sim.live().unwrap().len(), 0);
/// ```
#[derive(Clone)]
pub struct SimPackage {
    inner: Arc<SimInner>,
}

impl std::fmt::Debug for SimPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPackage")
            .field("cloud", &self.inner.cloud)
            .field("latency", &self.inner.latency)
            .field("types", &self.inner.types.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SimPackage {
    fn with_cloud(cloud: SimCloud) -> SimPackage {
        let mut types = BTreeMap::new();
        types.insert(SIM_RESOURCE.to_owned(), TypeBehavior::default());
        SimPackage {
            inner: Arc::new(SimInner {
                cloud,
                latency: Duration::ZERO,
                fail_rate: 0.0,
                failure: FailureKind::Retryable,
                schemas: schemas(&types),
                types,
                rate_limit: None,
                log_calls: false,
                stats: SimStats::default(),
                hold: None,
            }),
        }
    }

    /// A simulated cloud stored in `dir`, one file per live resource.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Result<SimPackage, CloudError> {
        Ok(SimPackage::with_cloud(SimCloud::directory(dir)?))
    }

    /// A simulated cloud in memory.
    pub fn in_memory() -> SimPackage {
        SimPackage::with_cloud(SimCloud::memory())
    }

    fn edit(mut self, change: impl FnOnce(&mut SimInner)) -> SimPackage {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => change(inner),
            None => {
                // Configuration happens before the package is shared; a shared package keeps
                // its settings.
                tracing::warn!("SimPackage configured after it was shared; ignoring");
            }
        }
        self
    }

    /// Latency of every call.
    pub fn latency(self, latency: Duration) -> SimPackage {
        self.edit(|i| i.latency = latency)
    }

    /// Injects failures into creates, updates and deletes with probability `rate`.
    pub fn fail_rate(self, rate: f64, failure: FailureKind) -> SimPackage {
        self.edit(|i| {
            i.fail_rate = rate;
            i.failure = failure;
        })
    }

    /// Adds (or redefines) a type.
    pub fn with_type(self, type_name: &str, behavior: TypeBehavior) -> SimPackage {
        self.edit(|i| {
            i.types.insert(type_name.to_owned(), behavior);
            i.schemas = schemas(&i.types);
        })
    }

    /// Limits calls per second.
    pub fn rate_limit(self, limit: RateLimit) -> SimPackage {
        self.edit(|i| i.rate_limit = Some(limit))
    }

    /// Lets the first `after` creates through, then makes every further create wait for as
    /// long as `file` exists (checked every 10 ms; an abort ends the wait). A test creates the
    /// file, starts an apply, observes that exactly `after` resources exist, does what it must
    /// with the apply stopped there (kill it, try a second run), and removes the file.
    pub fn hold_creates_after(self, after: u64, file: impl Into<PathBuf>) -> SimPackage {
        let file = file.into();
        self.edit(|i| {
            i.hold = Some(Hold {
                file,
                after,
                started: AtomicU64::new(0),
            })
        })
    }

    /// Logs every create, update and delete with its start and finish time.
    pub fn log_calls(self) -> SimPackage {
        self.edit(|i| i.log_calls = true)
    }

    /// The call counters.
    pub fn stats(&self) -> &SimStats {
        &self.inner.stats
    }

    /// The live resources.
    pub fn live(&self) -> Result<Vec<SimObject>, CloudError> {
        self.inner.cloud.list()
    }

    /// The simulated cloud, for tests that edit it out of band (drift).
    pub fn cloud(&self) -> &SimCloud {
        &self.inner.cloud
    }
}

fn schemas(types: &BTreeMap<String, TypeBehavior>) -> HashMap<String, ResourceSchema> {
    types
        .iter()
        .map(|(name, behavior)| {
            let mut schema = ResourceSchema::new(name.clone())
                .replace_on(behavior.replace_on.iter().copied())
                .echo_inputs()
                .computed(["arn"]);
            schema.delete_before_replace = behavior.delete_before_replace;
            (name.clone(), schema)
        })
        .collect()
}

#[async_trait]
impl ProviderPackage for SimPackage {
    fn name(&self) -> &str {
        "sim"
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.inner.schemas.get(type_name)
    }

    fn check(&self, type_name: &str, name: &str, inputs: &Value) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        if let Some(latency) = inputs.get("latency_ms")
            && !latency.is_unknown()
            && latency.as_i64().is_none_or(|ms| ms < 0)
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "`latency_ms` of a `{type_name}` must be a whole number of milliseconds"
                ))
                .resource(name)
                .field("latency_ms")
                .value(latency.display())
                .fix("use a non-negative integer such as `100`"),
            );
        }
        if let Some(fail_on) = inputs.get("fail_on").and_then(Value::as_str)
            && !["create", "update", "delete"].contains(&fail_on)
        {
            diagnostics.push(
                Diagnostic::error("`fail_on` names no operation")
                    .resource(name)
                    .field("fail_on")
                    .value(fail_on)
                    .fix("use `create`, `update` or `delete`"),
            );
        }
        diagnostics
    }

    async fn configure(&self, _config: &Value) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(SimProvider {
            inner: self.inner.clone(),
        }))
    }
}

/// A configured simulated provider.
struct SimProvider {
    inner: Arc<SimInner>,
}

fn storage(error: CloudError) -> ProviderError {
    ProviderError::permanent(error.to_string())
}

impl SimProvider {
    fn behavior(&self, type_name: &str) -> Result<&TypeBehavior, ProviderError> {
        self.inner.types.get(type_name).ok_or_else(|| {
            ProviderError::invalid_input(format!("the sim provider has no type `{type_name}`"))
        })
    }

    async fn delay(
        &self,
        behavior: &TypeBehavior,
        inputs: &Value,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let latency = inputs
            .get("latency_ms")
            .and_then(Value::as_i64)
            .map(|ms| Duration::from_millis(ms.max(0) as u64))
            .or(behavior.latency)
            .unwrap_or(self.inner.latency);
        if !latency.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(latency) => {}
                _ = ctx.cancellation().cancelled() => {
                    return Err(ProviderError::new(ErrorKind::Cancelled, "aborted"));
                }
            }
        }
        Ok(())
    }

    /// Waits while the hold applies to this create (see [`SimPackage::hold_creates_after`]).
    async fn held(&self, ctx: &CallContext) -> Result<(), ProviderError> {
        let Some(hold) = &self.inner.hold else {
            return Ok(());
        };
        if hold.started.fetch_add(1, Ordering::SeqCst) < hold.after {
            return Ok(());
        }
        while hold.file.exists() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                _ = ctx.cancellation().cancelled() => {
                    return Err(ProviderError::new(ErrorKind::Cancelled, "aborted"));
                }
            }
        }
        Ok(())
    }

    /// Counts one more attempt under `key`; returns the count so far.
    fn count_attempt(&self, key: &str) -> u32 {
        let mut attempts = self
            .inner
            .stats
            .attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let count = attempts.entry(key.to_owned()).or_insert(0);
        *count += 1;
        *count
    }

    fn inject(
        &self,
        behavior: &TypeBehavior,
        operation: &str,
        name: &str,
        inputs: &Value,
    ) -> Result<(), ProviderError> {
        if inputs.get("fail_on").and_then(Value::as_str) == Some(operation) {
            SimStats::count(&self.inner.stats.injected_failures);
            return Err(ProviderError::permanent(format!(
                "{operation} of `{name}` refused (fail_on = {operation})"
            ))
            .with_code("SimRefused"));
        }
        if operation == "create"
            && let Some(flaky) = inputs.get("flaky").and_then(Value::as_i64)
        {
            let count = self.count_attempt(name);
            if i64::from(count) <= flaky {
                SimStats::count(&self.inner.stats.injected_failures);
                return Err(ProviderError::retryable(format!(
                    "`{name}` is throttled (attempt {count})"
                ))
                .with_code("Throttling"));
            }
        }
        let rate = if behavior.fail_rate > 0.0 {
            behavior.fail_rate
        } else {
            self.inner.fail_rate
        };
        let failure = if behavior.fail_rate > 0.0 {
            behavior.failure
        } else {
            self.inner.failure
        };
        if rate > 0.0 && rand::random::<f64>() < rate {
            SimStats::count(&self.inner.stats.injected_failures);
            return Err(match failure {
                FailureKind::Retryable => ProviderError::retryable(format!(
                    "injected transient failure in {operation} of `{name}`"
                ))
                .with_code("Throttling"),
                FailureKind::Permanent => {
                    ProviderError::permanent(format!("injected failure in {operation} of `{name}`"))
                        .with_code("SimInjected")
                }
            });
        }
        Ok(())
    }

    fn log(&self, resource: &str, operation: &'static str, started: Instant) {
        if self.inner.log_calls {
            self.inner
                .stats
                .log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(CallRecord {
                    resource: resource.to_owned(),
                    operation,
                    started,
                    finished: Instant::now(),
                });
        }
    }
}

fn outputs_for(id: &str, type_name: &str, inputs: &Value) -> Value {
    let mut outputs = match inputs {
        Value::Object(_) => inputs.clone(),
        _ => Value::object(),
    };
    let _ = outputs.set(
        &FieldPath::key("arn"),
        Value::String(format!("arn:sim:{type_name}/{id}")),
    );
    outputs
}

#[async_trait]
impl Provider for SimProvider {
    async fn create(
        &self,
        request: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        let started = Instant::now();
        let behavior = self.behavior(&request.identity.type_name)?;
        self.held(ctx).await?;
        self.delay(behavior, &request.inputs, ctx).await?;
        self.inject(behavior, "create", &request.identity.name, &request.inputs)?;
        let id = format!("sim-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let outputs = outputs_for(&id, &request.identity.type_name, &request.inputs);
        let object = SimObject {
            id: id.clone(),
            type_name: request.identity.type_name.clone(),
            stack: request.identity.stack.clone(),
            resource: request.identity.name.clone(),
            inputs: request.inputs.clone(),
            outputs: outputs.clone(),
        };
        self.inner.cloud.put(&object).map_err(storage)?;
        self.log(&request.identity.name, "create", started);
        if let Some(lost) = request.inputs.get("lost_response").and_then(Value::as_i64)
            && i64::from(self.count_attempt(&format!("{}#lost", request.identity.name))) <= lost
        {
            SimStats::count(&self.inner.stats.injected_failures);
            return Err(ProviderError::retryable(format!(
                "the response to creating `{}` was lost (the object exists)",
                request.identity.name
            ))
            .with_code("RequestTimeout"));
        }
        if let Some(hiccups) = request.inputs.get("hiccups").and_then(Value::as_i64) {
            let name = request.identity.name.clone();
            let delays = PollDelays::new(Duration::from_millis(10), Duration::from_millis(100));
            ctx.poll_until(&format!("`{name}` to become ready"), delays, || {
                let look = self.count_attempt(&format!("{name}#look"));
                async move {
                    if i64::from(look) <= hiccups {
                        Err(ProviderError::retryable("503 Service Unavailable")
                            .with_code("ServiceUnavailable"))
                    } else {
                        Ok(Poll::Ready(()))
                    }
                }
            })
            .await
            .map_err(|error| error.with_partial(id.clone(), outputs.clone()))?;
        }
        if request.inputs.get("stop_waiting").and_then(Value::as_bool) == Some(true) {
            return Err(ProviderError::new(
                ErrorKind::Timeout,
                format!(
                    "timed out waiting for `{}` to become ready",
                    request.identity.name
                ),
            )
            .with_partial(id, outputs));
        }
        if request.inputs.get("never_ready").and_then(Value::as_bool) == Some(true) {
            return Err(ProviderError::permanent(format!(
                "`{}` was created but never became ready",
                request.identity.name
            ))
            .with_partial(id, outputs));
        }
        SimStats::count(&self.inner.stats.creates);
        Ok(CreateResponse { id, outputs })
    }

    async fn read(
        &self,
        request: ReadRequest,
        _ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError> {
        SimStats::count(&self.inner.stats.read_calls);
        let mut items = Vec::with_capacity(request.items.len());
        for item in &request.items {
            SimStats::count(&self.inner.stats.reads);
            let mut object = self.inner.cloud.get(&item.id).map_err(storage)?;
            if let Some(invisible) = object
                .as_ref()
                .and_then(|o| o.inputs.get("invisible_reads"))
                .and_then(Value::as_i64)
                && i64::from(self.count_attempt(&format!("{}#read", item.id))) <= invisible
            {
                object = None;
            }
            items.push(
                object
                    .filter(|o| o.type_name == request.type_name)
                    .map(|o| Observed {
                        inputs: o.inputs,
                        outputs: o.outputs,
                    }),
            );
        }
        Ok(ReadResponse::new(items))
    }

    async fn update(
        &self,
        request: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError> {
        let started = Instant::now();
        let behavior = self.behavior(&request.identity.type_name)?;
        self.delay(behavior, &request.inputs, ctx).await?;
        self.inject(behavior, "update", &request.identity.name, &request.inputs)?;
        let mut object = self
            .inner
            .cloud
            .get(&request.id)
            .map_err(storage)?
            .ok_or_else(|| {
                ProviderError::not_found(format!(
                    "`{}` ({}) no longer exists",
                    request.identity.name, request.id
                ))
            })?;
        for path in &request.changed {
            if behavior
                .replace_on
                .iter()
                .any(|f| path.top_level() == Some(f))
            {
                return Err(ProviderError::invalid_input(format!(
                    "`{path}` of a `{}` cannot be updated in place",
                    request.identity.type_name
                )));
            }
        }
        object.inputs = request.inputs.clone();
        object.outputs = outputs_for(&request.id, &request.identity.type_name, &request.inputs);
        self.inner.cloud.put(&object).map_err(storage)?;
        self.log(&request.identity.name, "update", started);
        SimStats::count(&self.inner.stats.updates);
        Ok(UpdateResponse {
            outputs: object.outputs,
        })
    }

    async fn delete(&self, request: DeleteRequest, ctx: &CallContext) -> Result<(), ProviderError> {
        let started = Instant::now();
        let behavior = self.behavior(&request.identity.type_name)?;
        self.delay(behavior, &request.inputs, ctx).await?;
        self.inject(behavior, "delete", &request.identity.name, &request.inputs)?;
        self.inner.cloud.remove(&request.id).map_err(storage)?;
        self.log(&request.identity.name, "delete", started);
        SimStats::count(&self.inner.stats.deletes);
        Ok(())
    }

    async fn find(
        &self,
        request: FindRequest,
        _ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError> {
        SimStats::count(&self.inner.stats.finds);
        let found = self
            .inner
            .cloud
            .list()
            .map_err(storage)?
            .into_iter()
            .filter(|o| {
                o.stack == request.identity.stack
                    && o.resource == request.identity.name
                    && o.type_name == request.identity.type_name
            })
            .map(|o| Found {
                id: o.id,
                observed: Observed {
                    inputs: o.inputs,
                    outputs: o.outputs,
                },
            })
            .collect();
        Ok(FindResponse { found })
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        self.inner.rate_limit
    }
}
