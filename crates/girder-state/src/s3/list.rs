//! Listing the stacks under an S3 prefix: every `PREFIX/STACK/` that holds a `state.json`.

use super::{S3Location, aws_error, clients, code};
use crate::{StateError, validate_stack_name};

/// The stacks with state under the location's prefix, sorted by name.
///
/// Lists the common prefixes under `PREFIX/` and keeps those with a `state.json` (a prefix
/// holding only a lock object is no stack). Reads the listing and one `HEAD` per candidate;
/// takes no lock and writes nothing.
///
/// # Errors
///
/// [`StateError::Location`] for a malformed URL, [`StateError::Storage`] when S3 refuses or
/// fails the listing.
pub async fn list_stacks(url: &str) -> Result<Vec<String>, StateError> {
    let location = S3Location::parse(url)?;
    let (_, s3) = clients(&location).await;
    let root = if location.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", location.prefix)
    };
    let storage = |message: String| StateError::Storage {
        location: format!("s3://{}/{root}", location.bucket),
        message,
    };
    let mut candidates = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(&root)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| storage(aws_error("listing the stacks", &e)))?;
        for common in page.common_prefixes() {
            let stack = common
                .prefix()
                .and_then(|p| p.strip_prefix(&root))
                .and_then(|p| p.strip_suffix('/'));
            if let Some(stack) = stack
                && validate_stack_name(stack).is_ok()
            {
                candidates.push(stack.to_owned());
            }
        }
    }
    let mut stacks = Vec::new();
    for stack in candidates {
        let key = location.key(&stack, "state.json");
        match s3
            .head_object()
            .bucket(&location.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(_) => stacks.push(stack),
            Err(e) => {
                // HEAD answers carry no error body: a 404 status is the absent object.
                let absent = matches!(code(&e), Some("NotFound" | "NoSuchKey"))
                    || e.raw_response().map(|r| r.status().as_u16()) == Some(404);
                if !absent {
                    return Err(storage(aws_error(&format!("reading {key}"), &e)));
                }
                tracing::debug!(stack, key, "a prefix without state.json is no stack");
            }
        }
    }
    stacks.sort();
    tracing::debug!(location = url, ?stacks, "listed the stacks");
    Ok(stacks)
}
