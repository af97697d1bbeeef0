//! End-to-end tests live in `tests/`.

// The Rust snippets of the docs, compiled (and, unless marked `no_run`, run) as doctests of
// this crate, which has girder with every feature and the test tools the snippets use.

/// `docs/concepts.md`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/concepts.md")]
pub struct ConceptsDoc;

/// `docs/dsl-reference.md`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/dsl-reference.md")]
pub struct DslReferenceDoc;

/// `docs/getting-started.md`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
pub struct GettingStartedDoc;

/// `docs/testing.md`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing.md")]
pub struct TestingDoc;
