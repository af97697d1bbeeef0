//! Parsing `s3://BUCKET/PREFIX?lock=dynamodb:TABLE|s3&kms_key_id=KEY&lease=60s&region=R`.

use std::time::Duration;

use crate::StateError;

/// How the stack is locked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// A conditional put on item `LockID` of a DynamoDB table (the seed's choice).
    DynamoDb {
        /// The table (hash key `LockID`, a string).
        table: String,
    },
    /// A lock object written with `If-None-Match: *` next to the state (OpenTofu's
    /// `use_lockfile`).
    S3,
}

/// A parsed S3 state location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// The locking.
    pub lock: LockKind,
    /// SSE-KMS key for every object written, if any.
    pub kms_key_id: Option<String>,
    /// How long a lock lives without its holder's heartbeat.
    pub lease: Duration,
    /// The region, if not taken from the environment.
    pub region: Option<String>,
}

impl S3Location {
    /// Parses a location URL.
    ///
    /// ```
    /// use girder_state::s3::{LockKind, S3Location};
    /// let location = S3Location::parse("s3://acme-state/infra?lock=dynamodb:acme-locks").unwrap();
    /// assert_eq!(location.bucket, "acme-state");
    /// assert_eq!(location.prefix, "infra");
    /// assert_eq!(location.lock, LockKind::DynamoDb { table: "acme-locks".into() });
    /// ```
    pub fn parse(url: &str) -> Result<S3Location, StateError> {
        let fail = |reason: String| StateError::Location {
            location: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| fail("an S3 location starts with s3://".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(fail(format!(
                "`{bucket}` is not a bucket name (3 to 63 lowercase letters, digits, `-` and `.`)"
            )));
        }
        let mut location = S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            lock: LockKind::S3,
            kms_key_id: None,
            lease: Duration::from_secs(60),
            region: None,
        };
        let mut lock_given = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "lock" => {
                    lock_given = true;
                    location.lock = match value.split_once(':') {
                        Some(("dynamodb", table)) if !table.is_empty() => LockKind::DynamoDb {
                            table: table.to_owned(),
                        },
                        None if value == "s3" => LockKind::S3,
                        _ => {
                            return Err(fail(format!(
                                "lock `{value}` is neither `dynamodb:TABLE` nor `s3`"
                            )));
                        }
                    }
                }
                "kms_key_id" if !value.is_empty() => location.kms_key_id = Some(value.to_owned()),
                "region" if !value.is_empty() => location.region = Some(value.to_owned()),
                "lease" => {
                    location.lease = humantime::parse_duration(value)
                        .ok()
                        .filter(|d| *d >= Duration::from_secs(1))
                        .ok_or_else(|| {
                            fail(format!(
                                "lease `{value}` is not a duration of at least 1s, such as `60s`"
                            ))
                        })?;
                }
                other => {
                    return Err(fail(format!(
                        "unknown option `{other}` (known: lock, kms_key_id, region, lease)"
                    )));
                }
            }
        }
        if !lock_given {
            tracing::debug!("no lock= option: locking with an S3 lock object");
        }
        Ok(location)
    }

    /// The key of an object of `stack` (`PREFIX/STACK/NAME`).
    pub fn key(&self, stack: &str, name: &str) -> String {
        if self.prefix.is_empty() {
            format!("{stack}/{name}")
        } else {
            format!("{}/{stack}/{name}", self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_option() {
        let location = S3Location::parse(
            "s3://bucket-1/a/b/?lock=s3&kms_key_id=alias/state&lease=30s&region=eu-west-1",
        )
        .unwrap();
        assert_eq!(location.prefix, "a/b");
        assert_eq!(location.lock, LockKind::S3);
        assert_eq!(location.kms_key_id.as_deref(), Some("alias/state"));
        assert_eq!(location.lease, Duration::from_secs(30));
        assert_eq!(location.key("prod", "state.json"), "a/b/prod/state.json");
        assert_eq!(
            S3Location::parse("s3://bucket-1").unwrap().key("dev", "x"),
            "dev/x"
        );
    }

    #[test]
    fn rejects_bad_locations_with_the_reason() {
        for (url, reason) in [
            ("s3://B/x", "not a bucket name"),
            (
                "s3://bucket/x?lock=redis",
                "neither `dynamodb:TABLE` nor `s3`",
            ),
            ("s3://bucket/x?lease=soon", "not a duration"),
            ("s3://bucket/x?colour=red", "unknown option `colour`"),
        ] {
            let error = S3Location::parse(url).unwrap_err().to_string();
            assert!(error.contains(reason), "{url}: {error}");
        }
    }
}
