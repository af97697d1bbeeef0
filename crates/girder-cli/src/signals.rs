//! Ctrl-C and SIGTERM: the first stops starting new calls (in-flight ones finish and are
//! recorded), the second also tells in-flight calls to stop waiting, the third exits at once.
//!
//! SIGTERM is what CI systems and Kubernetes send to cancel a job, so it is handled exactly like
//! Ctrl-C. Exiting at the third signal loses nothing recorded: every call was journaled as
//! pending before it was made, and the next run recovers it.

use tokio_util::sync::CancellationToken;

/// Waits for interrupts for as long as the run lasts.
pub(crate) async fn watch(stop: CancellationToken, abort: CancellationToken) {
    let mut interrupts = Interrupts::new();
    let mut received = 0u32;
    loop {
        let signal = interrupts.next().await;
        received += 1;
        match received {
            1 => {
                eprintln!(
                    "\n{signal} received: stopping. No new calls start; calls in flight finish and are recorded. Send it again to stop waiting for them."
                );
                stop.cancel();
            }
            2 => {
                eprintln!(
                    "\n{signal} received again: in-flight calls stop waiting; they stay pending and the next run recovers them. Send it a third time to exit at once."
                );
                stop.cancel();
                abort.cancel();
            }
            _ => {
                eprintln!(
                    "\n{signal} received a third time: exiting now. Unfinished calls stay pending in the state; the next run recovers them."
                );
                std::process::exit(130);
            }
        }
    }
}

/// Ctrl-C and, on Unix, SIGTERM, registered once so that no signal between two waits is lost.
struct Interrupts {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    fn new() -> Interrupts {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let terminate = signal(SignalKind::terminate())
                .map_err(|error| {
                    tracing::warn!(%error, "cannot watch for SIGTERM; only Ctrl-C stops a run cleanly");
                })
                .ok();
            Interrupts { terminate }
        }
        #[cfg(not(unix))]
        Interrupts {}
    }

    /// The next interrupt's name. A signal that cannot be watched never resolves, so the run
    /// goes on as if it never came.
    async fn next(&mut self) -> &'static str {
        let ctrl_c = async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Interrupt (Ctrl-C)",
                Err(_) => std::future::pending().await,
            }
        };
        #[cfg(unix)]
        if let Some(terminate) = self.terminate.as_mut() {
            return tokio::select! {
                name = ctrl_c => name,
                _ = terminate.recv() => "SIGTERM",
            };
        }
        ctrl_c.await
    }
}
