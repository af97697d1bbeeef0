//! The commands.

mod change;
mod inspect;
mod policy;
mod state;

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use girder_core::Graph;
use girder_engine::{ApplyOptions, PlanOptions, Registry};
use girder_state::{LockGuard, StateStore};
use tokio_util::sync::CancellationToken;

use crate::args::{Command, GlobalArgs};
use crate::display::plan::Palette;
use crate::{CliError, Renderer};

/// One invocation: the parsed options, the program's graph and its providers.
pub(crate) struct Run {
    pub global: GlobalArgs,
    pub registry: Arc<Registry>,
    pub graph: Graph,
    pub renderer: Option<Renderer>,
    pub color: bool,
    /// Cancelled to stop starting new work: the first Ctrl-C or SIGTERM, or a lost lock.
    pub stop: CancellationToken,
    /// Cancelled to also abort in-flight waits: the second Ctrl-C or SIGTERM.
    pub abort: CancellationToken,
}

impl Run {
    pub async fn dispatch(self, command: Command) -> Result<u8, CliError> {
        match command {
            Command::Plan(args) => self.plan(args).await,
            Command::Apply(args) => self.apply(args).await,
            Command::Destroy(args) => self.destroy(args).await,
            Command::Refresh => self.refresh().await,
            Command::Import {
                resource,
                cloud_id,
                yes,
            } => self.import(resource, cloud_id, yes).await,
            Command::Graph { format } => self.graph(format),
            Command::Output { name, show_secrets } => self.output(name, show_secrets).await,
            Command::Render {
                out,
                dest,
                show_secrets,
            } => {
                let out = out.or(dest).unwrap_or_else(|| "-".into());
                self.render(&out, show_secrets).await
            }
            Command::Show { plan_file, format } => self.show(&plan_file, format).await,
            // Handled before the program runs (see `App::run_status`).
            Command::Completions { .. } => Ok(0),
            Command::State(command) => self.state(command).await,
        }
    }

    pub fn palette(&self) -> Palette {
        Palette::new(self.color)
    }

    pub async fn open_store(&self) -> Result<Arc<dyn StateStore>, CliError> {
        Ok(girder_state::open(&self.global.state, &self.global.stack).await?)
    }

    /// Takes the stack's lock (waiting up to `--lock-timeout`).
    pub async fn lock(
        &self,
        store: &Arc<dyn StateStore>,
        operation: &str,
    ) -> Result<LockGuard, CliError> {
        Ok(girder_state::acquire(store, operation, self.global.lock_timeout).await?)
    }

    /// Runs `work` holding the stack's lock, and releases the lock whatever happens.
    ///
    /// `work` writes through the store the guard hands it, which refuses writes once a remote
    /// lock's lease is lost; losing it also stops the run from starting anything new.
    pub async fn locked<T>(
        &self,
        store: &Arc<dyn StateStore>,
        operation: &str,
        work: impl AsyncFnOnce(Arc<dyn StateStore>) -> Result<T, CliError>,
    ) -> Result<T, CliError> {
        let guard = self.lock(store, operation).await?;
        let (lost, stop) = (guard.lost(), self.stop.clone());
        let watch = tokio::spawn(async move {
            lost.cancelled().await;
            stop.cancel();
        });
        let result = work(guard.store()).await;
        watch.abort();
        if result.is_err()
            && let Err(lost) = guard.check()
        {
            // The run failed because its lock was lost (what it did is printed above); say so.
            let _ = guard.release().await;
            return Err(lost.into());
        }
        let released = guard.release().await;
        let value = result?;
        released?;
        Ok(value)
    }

    pub fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            targets: self.global.target.clone(),
            excludes: self.global.exclude.clone(),
            replace: self.global.replace.clone(),
            ..PlanOptions::default()
        }
    }

    /// Apply options wired to the run's stop and abort signals.
    pub fn apply_options(&self) -> ApplyOptions {
        ApplyOptions {
            parallelism: self.global.parallelism,
            cancel: self.stop.clone(),
            abort: self.abort.clone(),
            ..ApplyOptions::default()
        }
    }

    /// Prints to stdout.
    pub fn say(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// Prints one line of the `--json` event stream: `event` with its schema version and time.
    pub fn say_event(&self, mut event: serde_json::Value) {
        if let Some(fields) = event.as_object_mut() {
            fields.insert(
                "schema".into(),
                crate::display::progress::EVENT_SCHEMA.into(),
            );
            fields.insert(
                "time".into(),
                humantime::format_rfc3339_millis(std::time::SystemTime::now())
                    .to_string()
                    .into(),
            );
        }
        self.say(&event.to_string());
    }

    /// Asks for `yes` on a terminal; refuses without one.
    pub fn confirm(&self, question: &str, yes: bool) -> Result<(), CliError> {
        if yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Refused(
                "refusing to change infrastructure without confirmation: stdin is not a terminal; pass --yes".into(),
            ));
        }
        print!("{question}\n  Only 'yes' will be accepted: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| CliError::Io {
                path: "stdin".into(),
                message: e.to_string(),
            })?;
        if answer.trim() == "yes" {
            Ok(())
        } else {
            Err(CliError::Refused(
                "cancelled: the answer was not 'yes'".into(),
            ))
        }
    }
}
