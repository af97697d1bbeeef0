//! Loading policies: `.rego` files from directories, and their waivers.

use std::path::{Path, PathBuf};

use crate::{Enforcement, PolicyError, Waiver};

/// The Rego dialect policies are parsed as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegoVersion {
    /// Rego v0 (`deny[msg] { … }`), as conftest's `--rego-version v0` reads it.
    V0,
    /// Rego v1 (`deny contains msg if { … }`), OPA 1.0's and conftest's default.
    #[default]
    V1,
}

/// The policies of one enforcement level, in one Rego engine: packages of the same name at
/// different levels stay apart, as if conftest were run once per level.
pub(crate) struct Level {
    pub(crate) enforcement: Enforcement,
    pub(crate) engine: regorus::Engine,
    /// The packages loaded (`data.main`), sorted, each once.
    pub(crate) packages: Vec<String>,
}

/// The policies a run evaluates, with their waivers.
pub struct PolicySet {
    pub(crate) levels: Vec<Level>,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) waivers: Vec<Waiver>,
    version: RegoVersion,
}

impl Default for PolicySet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("files", &self.files)
            .field("waivers", &self.waivers)
            .field("version", &self.version)
            .finish()
    }
}

impl PolicySet {
    /// No policies, parsing Rego v1.
    pub fn new() -> Self {
        PolicySet {
            levels: Vec::new(),
            files: Vec::new(),
            waivers: Vec::new(),
            version: RegoVersion::V1,
        }
    }

    /// Parses the policies added from now on as `version`.
    ///
    /// ```
    /// use girder_policy::{Enforcement, PolicySet, RegoVersion};
    /// let mut policies = PolicySet::new().with_rego_version(RegoVersion::V0);
    /// policies
    ///     .add_source("old.rego", "package main\ndeny[msg] { msg := \"no\" }", Enforcement::Mandatory)
    ///     .unwrap();
    /// assert!(policies.evaluate(&serde_json::json!({})).unwrap().blocks());
    /// ```
    pub fn with_rego_version(mut self, version: RegoVersion) -> Self {
        self.version = version;
        self
    }

    /// Whether no policy was loaded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The policy files loaded, in load order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The waivers loaded.
    pub fn waivers(&self) -> &[Waiver] {
        &self.waivers
    }

    /// Loads a policy directory (every `.rego` file under it, sorted by path, and its
    /// `waivers.toml` if there is one), or a single `.rego` file, at `enforcement`.
    ///
    /// A directory without any `.rego` file is an error: a mistyped path must not pass every
    /// plan.
    pub fn load(&mut self, path: &Path, enforcement: Enforcement) -> Result<(), PolicyError> {
        let read_error = |e: std::io::Error| PolicyError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let metadata = std::fs::metadata(path).map_err(read_error)?;
        if metadata.is_file() {
            return self.load_file(path, enforcement);
        }
        let mut rego = Vec::new();
        let mut waiver_files = Vec::new();
        walk(path, &mut rego, &mut waiver_files)?;
        if rego.is_empty() {
            return Err(PolicyError::Empty {
                path: path.to_owned(),
            });
        }
        for file in rego {
            self.load_file(&file, enforcement)?;
        }
        for file in waiver_files {
            let waivers = crate::waivers::read(&file)?;
            self.waivers.extend(waivers);
        }
        Ok(())
    }

    /// Loads girder's built-in pack at `enforcement`: Rego policies for the seed's world
    /// (packages `girder.eks`, `girder.network`, `girder.s3`, `girder.iam`,
    /// `girder.kubernetes`), each rule citing the benchmark item it comes from. Its findings
    /// are objects with `msg`, `resource`, `field` and `benchmark`.
    ///
    /// ```
    /// use girder_policy::{Enforcement, PolicySet};
    /// let mut policies = PolicySet::new();
    /// policies.load_builtin(Enforcement::Mandatory).unwrap();
    /// let plan = serde_json::json!({ "resource_changes": [{
    ///     "address": "aws_vpc.main", "type": "aws_vpc", "mode": "managed",
    ///     "change": { "actions": ["create"], "after": { "cidr_block": "10.0.0.0/16" } }
    /// }]});
    /// let report = policies.evaluate(&plan).unwrap();
    /// let finding = report.violations().next().unwrap();
    /// assert_eq!(finding.rule_path(), "girder.network.deny_vpc_flow_logs");
    /// assert!(finding.message.contains("CIS AWS Foundations Benchmark"));
    /// ```
    pub fn load_builtin(&mut self, enforcement: Enforcement) -> Result<(), PolicyError> {
        for (name, text) in crate::builtin::PACK {
            self.add_source(&format!("(built-in) {name}"), text, enforcement)?;
        }
        Ok(())
    }

    /// Loads the waivers of a `waivers.toml` file (for waiving findings of the built-in pack,
    /// whose directory is not the user's).
    pub fn load_waivers(&mut self, path: &Path) -> Result<(), PolicyError> {
        let waivers = crate::waivers::read(path)?;
        self.waivers.extend(waivers);
        Ok(())
    }

    fn load_file(&mut self, path: &Path, enforcement: Enforcement) -> Result<(), PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        self.add_source(&path.display().to_string(), &text, enforcement)
    }

    /// Adds one policy from its text; `name` is the file name its messages give.
    pub fn add_source(
        &mut self,
        name: &str,
        rego: &str,
        enforcement: Enforcement,
    ) -> Result<(), PolicyError> {
        let version = self.version;
        let level = self.level(enforcement);
        // Parsing into a copy keeps the set unchanged when the file does not parse.
        let mut engine = level.engine.clone();
        engine.set_rego_v0(version == RegoVersion::V0);
        let package = engine
            .add_policy(name.to_owned(), rego.to_owned())
            .map_err(|e| PolicyError::Parse {
                path: PathBuf::from(name),
                message: e.to_string(),
            })?;
        level.engine = engine;
        if let Err(at) = level.packages.binary_search(&package) {
            level.packages.insert(at, package);
        }
        self.files.push(PathBuf::from(name));
        Ok(())
    }

    /// Adds a waiver.
    pub fn waive(&mut self, waiver: Waiver) {
        self.waivers.push(waiver);
    }

    fn level(&mut self, enforcement: Enforcement) -> &mut Level {
        let at = match self
            .levels
            .iter()
            .position(|l| l.enforcement == enforcement)
        {
            Some(at) => at,
            None => {
                let mut engine = regorus::Engine::new();
                // Undefined on a builtin's error, as OPA and conftest evaluate by default.
                engine.set_strict_builtin_errors(false);
                self.levels.push(Level {
                    enforcement,
                    engine,
                    packages: Vec::new(),
                });
                self.levels.len() - 1
            }
        };
        &mut self.levels[at]
    }
}

/// The `.rego` files and `waivers.toml` files under `dir`, each list sorted.
fn walk(
    dir: &Path,
    rego: &mut Vec<PathBuf>,
    waivers: &mut Vec<PathBuf>,
) -> Result<(), PolicyError> {
    let read_error = |e: std::io::Error| PolicyError::Read {
        path: dir.to_owned(),
        message: e.to_string(),
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, rego, waivers)?;
        } else if path.extension().is_some_and(|e| e == "rego") {
            rego.push(path);
        } else if path.file_name().is_some_and(|n| n == "waivers.toml") {
            waivers.push(path);
        }
    }
    Ok(())
}
