//! Live progress of an apply: bars and spinners on a terminal, plain lines otherwise, JSON
//! lines with `--json`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use girder_engine::{Event, EventSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::plan::Palette;

/// The version of the `--json` event lines (each carries it as `schema`, with its `time`):
/// fields are only ever added within a version; a rename or a removal makes the next one.
pub const EVENT_SCHEMA: &str = "girder.events/1";

/// One `--json` event line: the event's own fields (`type`, …), its schema version and when
/// it happened (RFC 3339, UTC, milliseconds).
pub fn json_event(event: &Event) -> serde_json::Value {
    let mut line = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    if let Some(fields) = line.as_object_mut() {
        fields.insert("schema".into(), EVENT_SCHEMA.into());
        fields.insert(
            "time".into(),
            humantime::format_rfc3339_millis(std::time::SystemTime::now())
                .to_string()
                .into(),
        );
    }
    line
}

/// How progress is shown.
pub enum Progress {
    /// An overall bar and a spinner per resource in flight.
    Terminal {
        /// The bars.
        multi: MultiProgress,
        /// The overall bar.
        overall: ProgressBar,
        /// Spinners by resource.
        spinners: Mutex<HashMap<String, ProgressBar>>,
        /// Colours.
        palette: Palette,
    },
    /// One line per finished or failed action.
    Lines {
        /// Colours.
        palette: Palette,
    },
    /// One JSON object per event on stdout.
    Json,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Progress::Terminal { .. } => "Progress::Terminal",
            Progress::Lines { .. } => "Progress::Lines",
            Progress::Json => "Progress::Json",
        })
    }
}

impl Progress {
    /// Picks the display for the output.
    pub fn new(json: bool, terminal: bool, palette: Palette) -> Progress {
        if json {
            return Progress::Json;
        }
        if !terminal {
            return Progress::Lines { palette };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Progress::Terminal {
            multi,
            overall,
            spinners: Mutex::new(HashMap::new()),
            palette,
        }
    }

    fn line(&self, text: String) {
        match self {
            Progress::Terminal { multi, .. } => {
                let _ = multi.println(text);
            }
            Progress::Lines { .. } => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{text}");
            }
            Progress::Json => {}
        }
    }

    fn palette(&self) -> Palette {
        match self {
            Progress::Terminal { palette, .. } | Progress::Lines { palette } => *palette,
            Progress::Json => Palette::new(false),
        }
    }

    /// Removes the bars (before the final summary is printed).
    pub fn finish(&self) {
        if let Progress::Terminal { overall, multi, .. } = self {
            overall.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

impl EventSink for Progress {
    fn emit(&self, event: Event) {
        if let Progress::Json = self {
            if let Ok(line) = serde_json::to_string(&json_event(&event)) {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
            }
            return;
        }
        let palette = self.palette();
        match &event {
            Event::ApplyStarted { actions } => {
                if let Progress::Terminal { overall, .. } = self {
                    overall.set_length(*actions as u64);
                }
            }
            Event::ActionStarted {
                resource,
                type_name,
                action,
            } => {
                if let Progress::Terminal {
                    multi, spinners, ..
                } = self
                {
                    let spinner = multi.add(ProgressBar::new_spinner());
                    // "creating … (4m12s elapsed)": a long wait shows it is alive.
                    spinner.set_style(
                        ProgressStyle::with_template("  {spinner} {msg} ({since} elapsed)")
                            .map(|style| {
                                style.with_key(
                                    "since",
                                    |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                                        let _ = out.write_str(&elapsed(
                                            state.elapsed().as_millis() as u64,
                                        ));
                                    },
                                )
                            })
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    spinner.set_message(format!("{} {type_name} {resource}", action.progressive()));
                    spinner.enable_steady_tick(Duration::from_millis(120));
                    spinners
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(resource.clone(), spinner);
                }
            }
            Event::ActionProgress {
                resource,
                message,
                elapsed_ms,
            } => match self {
                // The spinner's template shows the elapsed time itself (`since`).
                Progress::Terminal { spinners, .. } => {
                    if let Some(spinner) = spinners
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(resource)
                    {
                        spinner.set_message(format!("{resource}: {message}"));
                    }
                }
                // Lines carry it, so a long wait in a CI log shows it is still alive.
                _ => self.line(format!(
                    "{resource}: {message} ({} elapsed)",
                    elapsed(*elapsed_ms)
                )),
            },
            Event::ActionRetrying {
                resource,
                attempt,
                delay_ms,
                error,
            } => {
                self.line(palette.dim(&format!(
                    "{resource}: attempt {attempt} failed ({error}); retrying in {delay_ms} ms"
                )));
            }
            Event::ActionFinished {
                resource,
                action,
                elapsed_ms,
            } => {
                if let Progress::Terminal {
                    overall, spinners, ..
                } = self
                {
                    if let Some(spinner) = spinners
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(resource)
                    {
                        spinner.finish_and_clear();
                    }
                    overall.inc(1);
                }
                self.line(format!(
                    "{resource}: {} ({:.1}s)",
                    action.past(),
                    *elapsed_ms as f64 / 1000.0
                ));
            }
            Event::ActionFailed {
                resource,
                action,
                error,
            } => {
                if let Progress::Terminal {
                    overall, spinners, ..
                } = self
                {
                    if let Some(spinner) = spinners
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(resource)
                    {
                        spinner.finish_and_clear();
                    }
                    overall.inc(1);
                }
                self.line(palette.red(&format!(
                    "{resource}: {} failed: {error}",
                    action.progressive()
                )));
            }
            Event::ActionSkipped {
                resource,
                because_of,
                ..
            } => {
                self.line(palette.dim(&format!(
                    "{resource}: skipped because `{because_of}` failed"
                )));
            }
            Event::Cancelling { in_flight } => {
                self.line(format!("Interrupted: starting nothing new; waiting for {in_flight} call(s) in flight to finish and be recorded (press Ctrl-C again to stop waiting)"));
            }
            Event::Moved { from, to } => {
                self.line(format!(
                    "{to}: moved from `{from}` (the cloud resource is kept)"
                ));
            }
            Event::RecoveryStarted { pending } => {
                self.line(format!(
                    "Recovering {pending} operation(s) an earlier run left unfinished..."
                ));
            }
            Event::RecoveryFinished { adopted, dropped } => {
                self.line(format!(
                    "Recovery: {adopted} resource(s) found and adopted, {dropped} never created."
                ));
            }
            Event::RefreshFinished {
                changed,
                gone,
                calls,
                elapsed_ms,
            } => {
                tracing::info!(changed, gone, calls, elapsed_ms, "refresh finished");
            }
            _ => {}
        }
    }
}

/// A wait's elapsed time as people read it: `12s`, `4m12s`, `1h3m`.
fn elapsed(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::elapsed;

    #[test]
    fn elapsed_times_read_like_a_clock() {
        assert_eq!(elapsed(999), "0s");
        assert_eq!(elapsed(12_400), "12s");
        assert_eq!(elapsed(252_000), "4m12s");
        assert_eq!(elapsed(3_780_000), "1h03m");
    }
}
