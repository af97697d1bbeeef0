//! The provider contract: request/response methods over JSON [`Value`]s, like Pulumi's
//! provider RPCs.
//!
//! A provider is plain: it does one call and returns. Retries with backoff, timeouts, rate
//! limits, cancellation and journaling are applied by the engine around every call, so no
//! provider re-implements them. Typed providers are written with
//! [`TypedResource`](crate::typed::TypedResource) and erased into this trait.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use girder_core::{Diagnostics, FieldPath, Value};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Who a resource is: the stack and name girder knows it by. Providers tag cloud resources
/// with it (`girder:stack`, `girder:resource`), so crash recovery and orphan searches find them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceIdentity {
    /// The stack.
    pub stack: String,
    /// The resource's stack-unique name.
    pub name: String,
    /// The type token.
    pub type_name: String,
}

impl ResourceIdentity {
    /// The tag key naming the stack.
    pub const STACK_TAG: &'static str = "girder:stack";
    /// The tag key naming the resource.
    pub const RESOURCE_TAG: &'static str = "girder:resource";

    /// The identity tags as key/value pairs.
    pub fn tags(&self) -> [(&'static str, &str); 2] {
        [
            (Self::STACK_TAG, self.stack.as_str()),
            (Self::RESOURCE_TAG, self.name.as_str()),
        ]
    }
}

impl fmt::Display for ResourceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.type_name, self.name)
    }
}

/// Create a resource.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    /// Who the resource is (for identity tags).
    pub identity: ResourceIdentity,
    /// The inputs, fully known, secrets revealed.
    pub inputs: Value,
}

/// A created resource.
#[derive(Clone, Debug)]
pub struct CreateResponse {
    /// The cloud id.
    pub id: String,
    /// The outputs (the engine adds `id`).
    pub outputs: Value,
}

/// One resource to read.
#[derive(Clone, Debug)]
pub struct ReadItem {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The inputs recorded in state (secrets revealed); `None` when importing an existing
    /// resource by id, or when its inputs are not known yet.
    pub inputs: Option<Value>,
}

/// Read many resources of one type at once (providers batch their describe calls).
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// The type of all items.
    pub type_name: String,
    /// What to read.
    pub items: Vec<ReadItem>,
}

/// What a resource looks like in the cloud now.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// The inputs as the cloud reports them (so drift shows in the next plan).
    pub inputs: Value,
    /// The outputs.
    pub outputs: Value,
}

/// The read results, one per requested item, in order; `None` means it no longer exists.
#[derive(Clone, Debug, Default)]
pub struct ReadResponse {
    /// The results.
    pub items: Vec<Option<Observed>>,
    /// The API requests the read made, when the provider counts them (pages of a list, the
    /// reads of what a list missed); refresh reports them per type.
    pub requests: Option<u64>,
}

impl ReadResponse {
    /// The results of a read whose requests are not counted.
    pub fn new(items: Vec<Option<Observed>>) -> ReadResponse {
        ReadResponse {
            items,
            requests: None,
        }
    }

    /// Says how many API requests the read made.
    pub fn with_requests(mut self, requests: u64) -> ReadResponse {
        self.requests = Some(requests);
        self
    }
}

/// Update a resource in place.
#[derive(Clone, Debug)]
pub struct UpdateRequest {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The inputs recorded in state.
    pub old_inputs: Value,
    /// The outputs recorded in state.
    pub old_outputs: Value,
    /// The desired inputs, fully known, secrets revealed.
    pub inputs: Value,
    /// The input fields that differ.
    pub changed: Vec<FieldPath>,
}

/// An updated resource.
#[derive(Clone, Debug)]
pub struct UpdateResponse {
    /// The new outputs.
    pub outputs: Value,
}

/// Delete a resource.
#[derive(Clone, Debug)]
pub struct DeleteRequest {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The inputs recorded in state.
    pub inputs: Value,
    /// The outputs recorded in state.
    pub outputs: Value,
}

/// Wait for a resource that an earlier create left unfinished (it stopped waiting because of a
/// passing error, its time limit or an abort) to become ready.
#[derive(Clone, Debug)]
pub struct ResumeRequest {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The inputs it was created with (secrets revealed).
    pub inputs: Value,
    /// The outputs recorded so far.
    pub outputs: Value,
}

/// Find the cloud resources tagged with an identity (crash recovery, orphan search).
#[derive(Clone, Debug)]
pub struct FindRequest {
    /// The identity to look for.
    pub identity: ResourceIdentity,
}

/// A resource found by its identity tags.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The cloud id.
    pub id: String,
    /// What it looks like.
    pub observed: Observed,
}

/// Everything tagged with the identity.
#[derive(Clone, Debug, Default)]
pub struct FindResponse {
    /// The resources found (usually zero or one).
    pub found: Vec<Found>,
}

/// What went wrong in a provider call, classified so the engine knows whether to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Throttling or a transient fault: the engine retries with backoff, a bounded number of
    /// times.
    Retryable,
    /// The cloud refuses for now because something is still settling — network interfaces of a
    /// deleted NAT gateway or load balancer draining (`DependencyViolation`), an IAM role or OIDC
    /// provider not yet propagated, an id just created that reads do not list yet. Real AWS
    /// takes minutes to settle, so the engine retries until the operation's deadline (the
    /// resource's create, update or delete time limit), not a fixed number of attempts.
    Settling,
    /// The request was refused and will be refused again.
    Permanent,
    /// The resource does not exist.
    NotFound,
    /// The request conflicts with the resource's current state (in use, exists, …).
    Conflict,
    /// The inputs are not acceptable.
    InvalidInput,
    /// The credentials are missing or not allowed to do this.
    Unauthorized,
    /// The operation did not finish within its time limit.
    Timeout,
    /// The operation was cancelled.
    Cancelled,
}

/// A resource that a failed create left behind (created, but never became ready, say).
///
/// What the engine records depends on the error's kind: after a permanent failure (the cloud
/// reports the resource broken) it is *tainted* and the next plan replaces it; after a passing
/// one ([`ProviderError::is_transient`]: throttling, a 5xx, the time limit, an abort) it is
/// recorded as still *creating*, and the next apply waits for it again
/// ([`Provider::resume_create`]) instead of replacing a resource that may be healthy.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// The cloud id.
    pub id: String,
    /// Its outputs as far as known.
    pub outputs: Value,
}

/// A provider call failed.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}{}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ProviderError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What happened, for people; includes what to do when the provider knows.
    pub message: String,
    /// The cloud's error code, such as `InvalidVpcID.NotFound`.
    pub code: Option<String>,
    /// A resource the failed call left behind.
    pub partial: Option<Partial>,
}

impl ProviderError {
    /// An error of a kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError {
            kind,
            message: message.into(),
            code: None,
            partial: None,
        }
    }

    /// A transient error worth retrying.
    pub fn retryable(message: impl Into<String>) -> ProviderError {
        ProviderError::new(ErrorKind::Retryable, message)
    }

    /// A permanent error.
    pub fn permanent(message: impl Into<String>) -> ProviderError {
        ProviderError::new(ErrorKind::Permanent, message)
    }

    /// The resource does not exist.
    pub fn not_found(message: impl Into<String>) -> ProviderError {
        ProviderError::new(ErrorKind::NotFound, message)
    }

    /// The inputs are not acceptable.
    pub fn invalid_input(message: impl Into<String>) -> ProviderError {
        ProviderError::new(ErrorKind::InvalidInput, message)
    }

    /// Attaches the cloud's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> ProviderError {
        self.code = Some(code.into());
        self
    }

    /// Attaches a resource the failed call left behind.
    pub fn with_partial(mut self, id: impl Into<String>, outputs: Value) -> ProviderError {
        self.partial = Some(Partial {
            id: id.into(),
            outputs,
        });
        self
    }

    /// True if the engine should retry.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Retryable | ErrorKind::Settling)
    }

    /// True if the error says nothing about the resource itself: a passing fault, something
    /// still settling, the time limit or an abort. A create that fails this way after the
    /// resource exists leaves a resource that may well become ready, so the engine waits for
    /// it again next time rather than replacing it.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Retryable | ErrorKind::Settling | ErrorKind::Timeout | ErrorKind::Cancelled
        )
    }

    /// Something the cloud is still settling: retried until the operation's deadline.
    pub fn settling(message: impl Into<String>) -> ProviderError {
        ProviderError::new(ErrorKind::Settling, message)
    }
}

/// Default time limits of a resource type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultTimeouts {
    /// Create, including waiting until ready.
    pub create: Duration,
    /// Update.
    pub update: Duration,
    /// Delete, including waiting until gone.
    pub delete: Duration,
    /// Read.
    pub read: Duration,
}

impl Default for DefaultTimeouts {
    fn default() -> Self {
        DefaultTimeouts {
            create: Duration::from_secs(300),
            update: Duration::from_secs(300),
            delete: Duration::from_secs(300),
            read: Duration::from_secs(60),
        }
    }
}

/// The order in which a replacement runs, as the cloud's API allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// Create the new object, move dependents to it, then delete the old one (the default:
    /// nothing is ever missing). Plans show it as `+/-`.
    CreateBeforeDestroy,
    /// Delete the old object first, for types whose natural key must be unique (names, a
    /// subnet's CIDR), where the cloud refuses the new one while the old exists. Plans show it
    /// as `-/+`.
    DeleteBeforeCreate,
}

/// What the engine needs to know about a resource type to plan it without calling the cloud.
#[derive(Clone, Debug, Default)]
pub struct ResourceSchema {
    /// The type token.
    pub type_name: String,
    /// Input fields whose change forces a replacement (the cloud cannot update them).
    pub replace_on: Vec<FieldPath>,
    /// If true, the outputs repeat the inputs, so a planned output of an input field is known
    /// before apply.
    pub echo_inputs: bool,
    /// Output fields that only the cloud knows (beyond `id`): unknown until created.
    pub computed: Vec<FieldPath>,
    /// Output fields that may change on any update: unknown until updated.
    pub computed_on_update: Vec<FieldPath>,
    /// Output fields that are secret.
    pub secret_outputs: Vec<FieldPath>,
    /// The type must be deleted before its replacement is created: its natural key (a name, a
    /// subnet's CIDR within its VPC) must be unique, so the cloud refuses a second object with
    /// the same one. See [`ResourceSchema::replace_order`].
    pub delete_before_replace: bool,
    /// Time limits.
    pub timeouts: DefaultTimeouts,
    /// How long calls usually take: the weights of critical-path-first scheduling.
    pub expected_durations: crate::schedule::ExpectedDurations,
}

impl ResourceSchema {
    /// A schema for `type_name` with nothing forcing replacement.
    pub fn new(type_name: impl Into<String>) -> ResourceSchema {
        ResourceSchema {
            type_name: type_name.into(),
            ..ResourceSchema::default()
        }
    }

    /// Fields whose change forces a replacement.
    pub fn replace_on<I: IntoIterator<Item = &'static str>>(mut self, fields: I) -> Self {
        self.replace_on.extend(
            fields
                .into_iter()
                .map(|f| f.parse().unwrap_or_else(|_| FieldPath::key(f))),
        );
        self
    }

    /// Outputs repeat inputs.
    pub fn echo_inputs(mut self) -> Self {
        self.echo_inputs = true;
        self
    }

    /// Output fields only the cloud knows.
    pub fn computed<I: IntoIterator<Item = &'static str>>(mut self, fields: I) -> Self {
        self.computed.extend(
            fields
                .into_iter()
                .map(|f| f.parse().unwrap_or_else(|_| FieldPath::key(f))),
        );
        self
    }

    /// Output fields that change on any update.
    pub fn computed_on_update<I: IntoIterator<Item = &'static str>>(mut self, fields: I) -> Self {
        self.computed_on_update.extend(
            fields
                .into_iter()
                .map(|f| f.parse().unwrap_or_else(|_| FieldPath::key(f))),
        );
        self
    }

    /// Output fields that are secret.
    pub fn secret_outputs<I: IntoIterator<Item = &'static str>>(mut self, fields: I) -> Self {
        self.secret_outputs.extend(
            fields
                .into_iter()
                .map(|f| f.parse().unwrap_or_else(|_| FieldPath::key(f))),
        );
        self
    }

    /// Delete before replace: the cloud refuses two objects with the same natural key.
    pub fn delete_before_replace(mut self) -> Self {
        self.delete_before_replace = true;
        self
    }

    /// The order in which the type is replaced.
    pub fn replace_order(&self) -> ReplaceOrder {
        if self.delete_before_replace {
            ReplaceOrder::DeleteBeforeCreate
        } else {
            ReplaceOrder::CreateBeforeDestroy
        }
    }

    /// Time limits.
    pub fn timeouts(mut self, timeouts: DefaultTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// How long calls usually take (an EKS cluster's create ~10 minutes), so an apply starts
    /// the longest paths first. Estimates, not limits: see [`crate::schedule`].
    pub fn expected_durations(mut self, expected: crate::schedule::ExpectedDurations) -> Self {
        self.expected_durations = expected;
        self
    }
}

/// A request rate limit for one provider instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_second: u32,
    /// Calls allowed in a burst.
    pub burst: u32,
}

/// A progress callback: the message (the engine adds the resource and the elapsed time).
pub type ProgressFn = dyn Fn(&str) + Send + Sync;

/// What a provider call may consult while it runs: its deadline, cancellation, and a way to
/// report progress ("waiting for ACTIVE").
#[derive(Clone)]
pub struct CallContext {
    deadline: Instant,
    cancel: CancellationToken,
    progress: Arc<ProgressFn>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

// Deadlines are `tokio::time::Instant`s so that tests in tokio's paused (virtual) time see
// waits and time limits run out deterministically, without real sleeps; at run time it is the
// monotonic clock.
impl CallContext {
    /// A context with a time limit, a cancellation token and a progress callback.
    pub fn new(timeout: Duration, cancel: CancellationToken, progress: Arc<ProgressFn>) -> Self {
        CallContext {
            deadline: Instant::now() + timeout,
            cancel,
            progress,
        }
    }

    /// A context for tests and tools: the time limit, no cancellation, progress ignored.
    pub fn detached(timeout: Duration) -> Self {
        CallContext::new(timeout, CancellationToken::new(), Arc::new(|_| {}))
    }

    /// When the call must be done.
    pub fn deadline(&self) -> std::time::Instant {
        self.deadline.into_std()
    }

    /// Time left until the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// True once the user asked to stop (long waits should give up early).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The cancellation token, to `select!` on in long waits.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Reports progress of a long operation.
    pub fn progress(&self, message: &str) {
        (self.progress)(message);
    }

    /// Sleeps `delay` or until the deadline or cancellation, whichever is first; errors with
    /// [`ErrorKind::Timeout`] / [`ErrorKind::Cancelled`] when waiting must stop. For polling
    /// loops ("wait until available").
    pub async fn wait(&self, delay: Duration, waiting_for: &str) -> Result<(), ProviderError> {
        if self.remaining().is_zero() {
            return Err(ProviderError::new(
                ErrorKind::Timeout,
                format!("timed out waiting for {waiting_for}"),
            ));
        }
        let delay = delay.min(self.remaining());
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.cancel.cancelled() => Err(ProviderError::new(
                ErrorKind::Cancelled,
                format!("cancelled while waiting for {waiting_for}"),
            )),
        }
    }
}

/// A configured provider: the calls for every resource type of one package.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Creates a resource.
    async fn create(
        &self,
        request: CreateRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError>;

    /// Reads resources of one type (batched).
    async fn read(
        &self,
        request: ReadRequest,
        ctx: &CallContext,
    ) -> Result<ReadResponse, ProviderError>;

    /// Updates a resource in place.
    async fn update(
        &self,
        request: UpdateRequest,
        ctx: &CallContext,
    ) -> Result<UpdateResponse, ProviderError>;

    /// Deletes a resource (succeeds if it is already gone).
    async fn delete(&self, request: DeleteRequest, ctx: &CallContext) -> Result<(), ProviderError>;

    /// Finds resources by their identity tags.
    async fn find(
        &self,
        request: FindRequest,
        ctx: &CallContext,
    ) -> Result<FindResponse, ProviderError>;

    /// Waits until a resource an earlier create left unfinished is ready and returns its
    /// outputs, as the end of `create` would have; fails with a permanent error if the cloud
    /// reports it broken (the engine then taints it) and with [`ErrorKind::NotFound`] if it is
    /// gone.
    ///
    /// Providers whose creates wait (EKS clusters, NAT gateways) override this with the same
    /// wait. The default reads the resource: a provider that cannot tell readiness treats a
    /// readable resource as ready.
    async fn resume_create(
        &self,
        request: ResumeRequest,
        ctx: &CallContext,
    ) -> Result<CreateResponse, ProviderError> {
        read_as_ready(self, request, ctx).await
    }

    /// The rate limit the engine applies to this instance's calls.
    fn rate_limit(&self) -> Option<RateLimit>;

    /// The most items refresh puts in one [`read`](Self::read) call. Providers whose reads
    /// list a whole type at once (Kubernetes: one LIST per namespace) raise it, so a type is
    /// never listed once per hundred objects.
    fn read_batch_size(&self) -> usize {
        DEFAULT_READ_BATCH
    }
}

/// Items per read call unless a provider says otherwise ([`Provider::read_batch_size`]):
/// batched APIs take ids in the hundreds (EC2's filters up to 200 values).
pub const DEFAULT_READ_BATCH: usize = 100;

/// What [`Provider::resume_create`] does by default: reads the resource and counts a
/// readable one as ready (its observed outputs are the create's); one that is gone is
/// [`ErrorKind::NotFound`].
pub async fn read_as_ready<P: Provider + ?Sized>(
    provider: &P,
    request: ResumeRequest,
    ctx: &CallContext,
) -> Result<CreateResponse, ProviderError> {
    let read = ReadRequest {
        type_name: request.identity.type_name.clone(),
        items: vec![ReadItem {
            identity: request.identity.clone(),
            id: request.id.clone(),
            inputs: Some(request.inputs),
        }],
    };
    match provider
        .read(read, ctx)
        .await?
        .items
        .into_iter()
        .next()
        .flatten()
    {
        Some(observed) => Ok(CreateResponse {
            id: request.id,
            outputs: observed.outputs,
        }),
        None => Err(ProviderError::not_found(format!(
            "{} ({}) no longer exists",
            request.identity, request.id
        ))),
    }
}

/// A resource of the program as planned, for [`ProviderPackage::check_program`].
#[derive(Clone, Copy, Debug)]
pub struct PlannedResource<'a> {
    /// The resource name.
    pub name: &'a str,
    /// The type token.
    pub type_name: &'a str,
    /// The explicit provider node, if any.
    pub provider: Option<&'a str>,
    /// The planned inputs (may contain unknowns).
    pub inputs: &'a Value,
}

/// A provider package: its resource types' schemas, build-time checks, and how to configure
/// an instance. Schemas belong to the package, not the instance, so a plan can be made when a
/// provider's configuration is not known yet (a cluster that does not exist yet).
#[async_trait]
pub trait ProviderPackage: Send + Sync + 'static {
    /// The package name: the prefix of its type tokens (`aws`, `k8s`, `sim`).
    fn name(&self) -> &str;

    /// The schema of a type, or `None` if the package has no such type.
    fn schema(&self, type_name: &str) -> Option<&ResourceSchema>;

    /// Checks a resource's inputs (which may contain unknowns) before planning.
    fn check(&self, type_name: &str, name: &str, inputs: &Value) -> Diagnostics;

    /// Checks the program's resources of this package together, with their planned inputs
    /// (which may contain unknowns): cross-resource rules such as "every Service selects a
    /// workload of the program". Most packages have none.
    fn check_program(&self, resources: &[PlannedResource<'_>]) -> Diagnostics {
        let _ = resources;
        Diagnostics::new()
    }

    /// Checks rules that span packages, with every planned resource of the program, of every
    /// package: "each Kubernetes workload's pods fit a node of the program's EKS nodegroups"
    /// needs the `k8s` package's Deployments and the `aws` package's nodegroups together.
    /// [`check_program`](Self::check_program) gets only this package's resources, so that
    /// most rules never see types they do not own; this is the opt-in to see the rest. Other
    /// packages' resources are read generically (type tokens, input values), so packages
    /// still do not depend on each other. Called once per package with resources in the
    /// program. Most packages have none.
    fn check_across_packages(&self, resources: &[PlannedResource<'_>]) -> Diagnostics {
        let _ = resources;
        Diagnostics::new()
    }

    /// What deleting the recorded resource `old` of stack `stack` does besides the delete
    /// call, in plain sentences for the plan (see [`Step::effects`](crate::plan::Step::effects)):
    /// waits for controllers, and clean-ups of what the resource made outside the program.
    /// Must not fail: a record it cannot read describes nothing. Most types have none.
    fn delete_effects(&self, stack: &str, old: &crate::state::ResourceState) -> Vec<String> {
        let _ = (stack, old);
        Vec::new()
    }

    /// Configures an instance. `config` is a provider node's resolved inputs, or
    /// [`Value::Null`] for the package's default provider (configured from the environment).
    async fn configure(&self, config: &Value) -> Result<Arc<dyn Provider>, ProviderError>;
}
