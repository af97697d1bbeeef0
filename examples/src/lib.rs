//! Shared pieces of the example programs.
//!
//! [`yolo`] holds the seed deployment as functions the `yolo`, `yolo_infra` and `yolo_app`
//! programs compose, and the typed contract between the two stacks.

pub mod yolo;
