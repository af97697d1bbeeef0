//! Lock records: who holds a stack, and whether that holder is still alive.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who holds (or asks for) a stack's lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Unique id of this lock (for `state unlock LOCK_ID`).
    pub id: String,
    /// The operation (`apply`, `destroy`, `refresh`, …).
    pub operation: String,
    /// The user.
    pub who: String,
    /// The host.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// The process start time (Linux clock ticks since boot), to tell a reused pid apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
    /// When the lock was taken (RFC 3339).
    pub created: String,
    /// When a remote lock's lease ends unless renewed (RFC 3339); local locks have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl LockInfo {
    /// A lock record for the current process doing `operation`.
    pub fn for_current_process(operation: &str) -> LockInfo {
        let pid = std::process::id();
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            who: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            pid,
            process_start: process_start(pid),
            created: jiff::Timestamp::now().to_string(),
            expires: None,
        }
    }

    /// True if the holder is gone: its lease expired, or it is a process of this host that no
    /// longer runs.
    pub fn holder_is_dead(&self) -> bool {
        if let Some(expires) = &self.expires {
            return expires
                .parse::<jiff::Timestamp>()
                .is_ok_and(|at| at < jiff::Timestamp::now());
        }
        let this_host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.host != this_host {
            return false;
        }
        match process_start(self.pid) {
            None => cfg!(target_os = "linux"),
            Some(start) => self.process_start.is_some_and(|recorded| recorded != start),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} by {}@{} (pid {}) since {} [lock id {}]",
            self.operation, self.who, self.host, self.pid, self.created, self.id
        )
    }
}

/// The RFC 3339 time `lease` from now.
pub fn expiry_after(lease: std::time::Duration) -> String {
    let lease =
        jiff::SignedDuration::try_from(lease).unwrap_or(jiff::SignedDuration::from_secs(60));
    jiff::Timestamp::now()
        .checked_add(lease)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`), if it runs (Linux).
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last `)`.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_process_is_alive_and_a_made_up_one_is_not() {
        let info = LockInfo::for_current_process("apply");
        assert!(!info.holder_is_dead());
        let dead = LockInfo {
            pid: 4_000_000,
            ..info.clone()
        };
        assert!(dead.holder_is_dead());
        let reused = LockInfo {
            process_start: info.process_start.map(|s| s + 1),
            ..info
        };
        assert!(reused.holder_is_dead());
    }
}
