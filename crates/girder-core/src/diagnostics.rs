//! [`Diagnostics`]: every problem found while building or planning a program, reported at once.
//!
//! Each [`Diagnostic`] names the resource, the field, the offending value and the fix, like
//! OpenTofu's `tfdiags` — a user fixes all of them in one go instead of one per run.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice; the program still builds.
    Warning,
    /// The program cannot be planned until this is fixed.
    Error,
}

/// One problem, with everything needed to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The resource (its stack-unique name) the problem is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The field of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The offending value, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Diagnostic {
    /// An error with a message.
    ///
    /// ```
    /// use girder_core::Diagnostic;
    /// let d = Diagnostic::error("`10.0.0.0/33` is not a CIDR block")
    ///     .resource("main")
    ///     .field("cidr")
    ///     .value("10.0.0.0/33")
    ///     .fix("use a prefix length from 0 to 32, such as `10.0.0.0/16`");
    /// assert!(d.to_string().contains("fix: use a prefix length"));
    /// ```
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            resource: None,
            field: None,
            value: None,
            message: message.into(),
            fix: None,
        }
    }

    /// A warning with a message.
    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Names the resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Diagnostic {
        self.resource = Some(resource.into());
        self
    }

    /// Names the field.
    pub fn field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    /// Quotes the offending value.
    pub fn value(mut self, value: impl fmt::Display) -> Diagnostic {
        self.value = Some(value.to_string());
        self
    }

    /// Says how to fix it.
    pub fn fix(mut self, fix: impl Into<String>) -> Diagnostic {
        self.fix = Some(fix.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}")?;
        if let Some(resource) = &self.resource {
            write!(f, " in `{resource}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        if let Some(value) = &self.value {
            write!(f, " = `{value}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

/// A list of diagnostics, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    /// Keeps the first of identical diagnostics. A rule that runs when a builder adds an object
    /// runs again on the planned inputs, so the same problem can be found twice; the user
    /// should read it once.
    ///
    /// ```
    /// use girder_core::{Diagnostic, Diagnostics};
    /// let mut d = Diagnostics::new();
    /// d.push(Diagnostic::warning("tag only").resource("web"));
    /// d.push(Diagnostic::warning("tag only").resource("web"));
    /// d.push(Diagnostic::warning("tag only").resource("api"));
    /// d.dedup();
    /// assert_eq!(d.len(), 2);
    /// ```
    pub fn dedup(&mut self) {
        let mut seen = std::collections::HashSet::with_capacity(self.0.len());
        self.0.retain(|d| seen.insert(d.clone()));
    }

    /// True if any is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    /// All diagnostics.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        let warnings = self.len() - errors;
        writeln!(
            f,
            "{errors} error{} and {warnings} warning{}:",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )?;
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}
