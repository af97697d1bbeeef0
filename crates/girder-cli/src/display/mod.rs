//! Output for people and machines.

pub mod plan;
pub mod progress;
pub mod terraform;
