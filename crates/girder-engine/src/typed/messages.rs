//! The requests and responses of [`TypedResource`](super::TypedResource): the erased
//! protocol's messages ([`CreateRequest`](crate::provider::CreateRequest), …) with typed
//! inputs and outputs.
//!
//! Every message is `#[non_exhaustive]`: the engine may add a field to a request without
//! touching the providers, and providers build responses with constructors (`new`), so a
//! field added to a response gets a default instead of breaking every resource type.

use girder_core::FieldPath;

use crate::provider::ResourceIdentity;

/// A resource as recorded: identity, cloud id, typed inputs and outputs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Recorded<I, O> {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The recorded inputs.
    pub inputs: I,
    /// The recorded outputs.
    pub outputs: O,
}

impl<I, O> Recorded<I, O> {
    /// A recorded resource.
    pub fn new(identity: ResourceIdentity, id: impl Into<String>, inputs: I, outputs: O) -> Self {
        Recorded {
            identity,
            id: id.into(),
            inputs,
            outputs,
        }
    }
}

/// A resource to read: identity, cloud id and, when known, the recorded inputs (absent when
/// importing an existing resource by id).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReadTarget<I> {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The recorded inputs, if any.
    pub inputs: Option<I>,
}

impl<I> ReadTarget<I> {
    /// A resource to read.
    pub fn new(identity: ResourceIdentity, id: impl Into<String>, inputs: Option<I>) -> Self {
        ReadTarget {
            identity,
            id: id.into(),
            inputs,
        }
    }
}

/// A resource observed in the cloud by a read or find: its inputs as the cloud reports them
/// (so drift shows in the next plan) and its outputs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TypedObserved<I, O> {
    /// The inputs as the cloud reports them.
    pub inputs: I,
    /// The outputs.
    pub outputs: O,
}

impl<I, O> TypedObserved<I, O> {
    /// What a resource looks like now.
    pub fn new(inputs: I, outputs: O) -> Self {
        TypedObserved { inputs, outputs }
    }
}

/// Create a resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedCreateRequest<I> {
    /// Who the resource is (for identity tags).
    pub identity: ResourceIdentity,
    /// The inputs, fully known, secrets revealed.
    pub inputs: I,
}

impl<I> TypedCreateRequest<I> {
    /// A create request.
    pub fn new(identity: ResourceIdentity, inputs: I) -> Self {
        TypedCreateRequest { identity, inputs }
    }
}

/// Wait again for a resource an earlier create left unfinished (its wait stopped for a
/// passing reason): who it is, its cloud id and the inputs it was created with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedResumeRequest<I> {
    /// Who the resource is.
    pub identity: ResourceIdentity,
    /// The cloud id.
    pub id: String,
    /// The inputs it was created with, secrets revealed.
    pub inputs: I,
}

impl<I> TypedResumeRequest<I> {
    /// A resume request.
    pub fn new(identity: ResourceIdentity, id: impl Into<String>, inputs: I) -> Self {
        TypedResumeRequest {
            identity,
            id: id.into(),
            inputs,
        }
    }
}

/// A created resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedCreateResponse<O> {
    /// The cloud id.
    pub id: String,
    /// The outputs (the engine adds `id`).
    pub outputs: O,
}

impl<O> TypedCreateResponse<O> {
    /// The created resource's cloud id and outputs.
    pub fn new(id: impl Into<String>, outputs: O) -> Self {
        TypedCreateResponse {
            id: id.into(),
            outputs,
        }
    }
}

/// Read many resources of one type at once (providers batch their describe calls).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedReadRequest<I> {
    /// What to read.
    pub items: Vec<ReadTarget<I>>,
}

impl<I> TypedReadRequest<I> {
    /// A read request for `items`.
    pub fn new(items: Vec<ReadTarget<I>>) -> Self {
        TypedReadRequest { items }
    }
}

/// The read results, one per requested item, in order; `None` means it no longer exists.
///
/// Collects from an iterator of `Option<TypedObserved<I, O>>`, so a batched read ends in
/// `items.iter().map(|item| …).collect()`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedReadResponse<I, O> {
    /// The results.
    pub items: Vec<Option<TypedObserved<I, O>>>,
}

impl<I, O> TypedReadResponse<I, O> {
    /// The results, one per requested item, in order.
    pub fn new(items: Vec<Option<TypedObserved<I, O>>>) -> Self {
        TypedReadResponse { items }
    }
}

impl<I, O> FromIterator<Option<TypedObserved<I, O>>> for TypedReadResponse<I, O> {
    fn from_iter<T: IntoIterator<Item = Option<TypedObserved<I, O>>>>(iter: T) -> Self {
        TypedReadResponse::new(iter.into_iter().collect())
    }
}

/// Update a resource in place.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedUpdateRequest<I, O> {
    /// The resource as recorded.
    pub old: Recorded<I, O>,
    /// The desired inputs, fully known, secrets revealed.
    pub inputs: I,
    /// The input fields that differ.
    pub changed: Vec<FieldPath>,
}

impl<I, O> TypedUpdateRequest<I, O> {
    /// An update of `old` to `inputs`, which differ in `changed`.
    pub fn new(old: Recorded<I, O>, inputs: I, changed: Vec<FieldPath>) -> Self {
        TypedUpdateRequest {
            old,
            inputs,
            changed,
        }
    }
}

/// An updated resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedUpdateResponse<O> {
    /// The new outputs.
    pub outputs: O,
}

impl<O> TypedUpdateResponse<O> {
    /// The updated resource's outputs.
    pub fn new(outputs: O) -> Self {
        TypedUpdateResponse { outputs }
    }
}

/// Delete a resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedDeleteRequest<I, O> {
    /// The resource as recorded.
    pub old: Recorded<I, O>,
}

impl<I, O> TypedDeleteRequest<I, O> {
    /// A delete request for `old`.
    pub fn new(old: Recorded<I, O>) -> Self {
        TypedDeleteRequest { old }
    }
}

/// Find the cloud resources tagged with an identity (crash recovery, orphan search).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedFindRequest {
    /// The identity to look for.
    pub identity: ResourceIdentity,
}

impl TypedFindRequest {
    /// A find request for `identity`.
    pub fn new(identity: ResourceIdentity) -> Self {
        TypedFindRequest { identity }
    }
}

/// A resource found by its identity tags.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TypedFound<I, O> {
    /// The cloud id.
    pub id: String,
    /// What it looks like.
    pub observed: TypedObserved<I, O>,
}

impl<I, O> TypedFound<I, O> {
    /// A resource with cloud id `id` that looks like `observed`.
    pub fn new(id: impl Into<String>, observed: TypedObserved<I, O>) -> Self {
        TypedFound {
            id: id.into(),
            observed,
        }
    }
}

/// Everything tagged with the identity (usually zero or one resource).
///
/// Collects from an iterator of [`TypedFound`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TypedFindResponse<I, O> {
    /// The resources found.
    pub found: Vec<TypedFound<I, O>>,
}

impl<I, O> TypedFindResponse<I, O> {
    /// The resources found.
    pub fn new(found: Vec<TypedFound<I, O>>) -> Self {
        TypedFindResponse { found }
    }

    /// Nothing found (for types that cannot be tagged and are safe to create again).
    pub fn none() -> Self {
        TypedFindResponse::new(Vec::new())
    }
}

impl<I, O> FromIterator<TypedFound<I, O>> for TypedFindResponse<I, O> {
    fn from_iter<T: IntoIterator<Item = TypedFound<I, O>>>(iter: T) -> Self {
        TypedFindResponse::new(iter.into_iter().collect())
    }
}
