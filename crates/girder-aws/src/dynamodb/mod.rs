//! DynamoDB: tables (the state lock table among them).
//!
//! DynamoDB has no batched describe: a table costs three requests per refresh
//! (`DescribeTable`, then `ListTagsOfResource` and `DescribeContinuousBackups` concurrently).
//! Tables are tagged as they are created, so they are never without their identity.

pub mod table;
