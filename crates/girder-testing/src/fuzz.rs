//! Arbitrary input for the "no input crashes girder" property tests: strings that are empty,
//! huge, unicode, control characters, `..` and `/`; integers at their limits; names drawn
//! from a small pool so that duplicates are common — and the check that every error a
//! program gets is one a user can act on (it names the resource or is program-level, the
//! field, and the fix).
//!
//! ```
//! use proptest::prelude::*;
//! use girder_core::{Diagnostic, Diagnostics};
//! use girder_testing::fuzz::{any_text, assert_actionable};
//! proptest!(ProptestConfig::with_cases(16), |(text in any_text())| {
//!     let mut diagnostics = Diagnostics::new();
//!     diagnostics.push(
//!         Diagnostic::error("bad").resource("r").field("name").value(&text).fix("rename it"),
//!     );
//!     assert_actionable(&diagnostics)?;
//! });
//! ```

use girder_core::{Diagnostic, Diagnostics};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::strategies::k8s_name;

/// Fields of diagnostics about the program as a whole rather than one resource: stack
/// outputs, `moved` declarations and dependencies between stacks.
pub const PROGRAM_LEVEL_FIELDS: &[&str] = &["outputs", "moved", "depends_on"];

/// Any string a user could write: plausible values, the empty string, path tricks, control
/// characters, unicode (including right-to-left and combining marks), long and huge strings.
pub fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => k8s_name(),
        2 => any::<String>(),
        1 => Just(String::new()),
        1 => prop::sample::select(vec![
            "..", "/", "../../etc/passwd", "a/b", ".", "-", "_", "*", "a b", " ", "\t", "\n",
            "\0", "\u{7f}", "\u{202e}evil", "e\u{301}", "日本語", "🦀", "xn--80ak6aa92e",
            "10.0.0.0/16", "0.0.0.0/0", "::/0", "arn:aws:iam::123456789012:role/x",
            "http://", "${var}", "{{x}}", "%s", "a:b", "A", "1", "-leading", "trailing-",
        ])
        .prop_map(str::to_owned),
        1 => "[\\x00-\\x1f\\x7f]{1,8}",
        1 => "\\PC{1,64}",
        1 => (0usize..4, 60usize..300).prop_map(|(which, n)| ["a", "é", "-", "🦀"][which].repeat(n)),
        1 => (1usize..3).prop_map(|k| "x".repeat(k * 40_000)),
    ]
    .boxed()
}

/// A name for a resource or object: mostly from a small pool, so that two builders of a
/// generated program often share one, otherwise [`any_text`].
pub fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec!["main", "web", "a", "main-vpc", "default"]).prop_map(str::to_owned),
        3 => any_text(),
    ]
}

/// Mostly `valid` (nine draws in ten), otherwise `wild`: a program with many fields drawn so
/// plans often enough for the valid path to be exercised, while every field still sees
/// arbitrary values.
pub fn mostly<T: std::fmt::Debug + Clone + 'static>(
    valid: impl Strategy<Value = T> + 'static,
    wild: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![9 => valid, 1 => wild].boxed()
}

/// A config with `cases` cases, unless `PROPTEST_CASES` asks for another number (to soak a
/// never-panic suite for longer than CI runs it: `PROPTEST_CASES=5000 cargo test …`).
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig::with_cases(cases)
}

/// Any `u16`, with its limits and the privileged/unprivileged boundary made likely.
pub fn any_u16() -> impl Strategy<Value = u16> {
    prop_oneof![
        1 => prop::sample::select(vec![0u16, 1, 80, 1023, 1024, 8080, u16::MAX]),
        2 => any::<u16>(),
    ]
}

/// Any `u32`, with 0, 1 and the limits made likely.
pub fn any_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => prop::sample::select(vec![0u32, 1, 2, 100, i32::MAX as u32, u32::MAX]),
        2 => any::<u32>(),
    ]
}

/// Any `i32`, with 0, ±1 and the limits made likely.
pub fn any_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        1 => prop::sample::select(vec![i32::MIN, -1, 0, 1, 7, 365, i32::MAX]),
        2 => any::<i32>(),
    ]
}

/// Any `i64`, with 0, ±1 and the limits made likely.
pub fn any_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => prop::sample::select(vec![i64::MIN, -1, 0, 1, 40_000, i64::MAX]),
        2 => any::<i64>(),
    ]
}

/// A list of 0 to `max` items (empty lists are likely).
pub fn any_vec<S: Strategy>(item: S, max: usize) -> impl Strategy<Value = Vec<S::Value>> {
    prop::collection::vec(item, 0..=max)
}

/// Why a diagnostic is not actionable, if it is not: an error must name its field and its
/// fix, and a resource (as the program named it, even empty) unless its field is
/// program-level ([`PROGRAM_LEVEL_FIELDS`]).
pub fn not_actionable(diagnostic: &Diagnostic) -> Option<&'static str> {
    if !diagnostic.is_error() {
        return None;
    }
    let field = diagnostic.field.as_deref().unwrap_or_default();
    if field.is_empty() {
        return Some("names no field");
    }
    if diagnostic.fix.as_deref().is_none_or(str::is_empty) {
        return Some("says no fix");
    }
    if diagnostic.message.trim().is_empty() {
        return Some("says nothing");
    }
    let program_level = PROGRAM_LEVEL_FIELDS.iter().any(|p| {
        field == *p || field.starts_with(&format!("{p}.")) || field.starts_with(&format!("{p}_"))
    });
    // The resource is named as the program wrote it, which may be the empty string.
    if !program_level && diagnostic.resource.is_none() {
        return Some("names no resource although its field is not program-level");
    }
    None
}

/// Fails the test case unless every error in `diagnostics` is actionable (see
/// [`not_actionable`]), quoting the first one that is not.
pub fn assert_actionable(diagnostics: &Diagnostics) -> Result<(), TestCaseError> {
    for diagnostic in diagnostics.iter() {
        if let Some(problem) = not_actionable(diagnostic) {
            return Err(TestCaseError::fail(format!(
                "an error diagnostic {problem}: {diagnostic:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    #[test]
    fn incomplete_errors_are_caught_and_warnings_pass() {
        let complete = Diagnostic::error("bad")
            .resource("r")
            .field("f")
            .fix("do x");
        assert_eq!(not_actionable(&complete), None);
        assert_eq!(
            not_actionable(&Diagnostic::error("bad").resource("r").fix("x")),
            Some("names no field")
        );
        assert_eq!(
            not_actionable(&Diagnostic::error("bad").resource("r").field("f")),
            Some("says no fix")
        );
        assert!(not_actionable(&Diagnostic::error("bad").field("f").fix("x")).is_some());
        assert_eq!(
            not_actionable(&Diagnostic::error("bad").field("outputs.url").fix("x")),
            None
        );
        assert_eq!(
            not_actionable(&Diagnostic::error("bad").field("moved_prefix.to").fix("x")),
            None
        );
        assert_eq!(not_actionable(&Diagnostic::warning("fyi")), None);
    }

    /// The text strategy reaches what it promises: empty, huge, control characters, `..`.
    #[test]
    fn text_covers_the_awkward_cases() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = any_text();
        let texts: Vec<String> = (0..3000)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect();
        assert!(texts.iter().any(String::is_empty), "no empty string");
        assert!(texts.iter().any(|t| t.len() >= 40_000), "no huge string");
        assert!(texts.iter().any(|t| t == ".."), "no `..`");
        assert!(
            texts.iter().any(|t| t.chars().any(char::is_control)),
            "no control character"
        );
        assert!(texts.iter().any(|t| !t.is_ascii()), "no unicode");
    }
}
