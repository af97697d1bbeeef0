//! Client-side per-API token buckets for EC2, shaped like EC2's published request rate limits.
//!
//! EC2 throttles each API of an account and region on its own token bucket, sized by the API's
//! category: mutating actions (`CreateRoute`, `CreateTags`, …) refill at about five requests a
//! second after a burst of fifty, non-mutating `Describe*` calls at twenty after a hundred, and
//! `Describe*` calls with neither ids, filters nor pagination at ten after fifty. A large
//! apply that sends requests as fast as its parallelism allows empties the mutating buckets in
//! a second and then spends its time in `RequestLimitExceeded` and back-off. Waiting for a
//! token before sending costs nothing when there is room and turns throttling into a steady
//! rate when there is not, so the engine's retries are left for what really fails.
//!
//! The client keeps half of each bucket's burst: the account's other clients (a console, a
//! CI job, the cluster's own controllers) draw from the same buckets, and requests that leave
//! the client in order can reach EC2 bunched together. Its refill rate is EC2's.
//!
//! The EC2 client's HTTP client is wrapped ([`BucketedHttpClient`]) rather than every call
//! site: the request's `Action` is in its form body (the EC2 query protocol), so the wait is
//! per API without girder's resources knowing about it.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// One token bucket: its capacity (the burst) and how many tokens it regains per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketShape {
    /// The capacity: requests that may be sent at once when the bucket is full.
    pub size: u32,
    /// Tokens added per second.
    pub refill_per_second: u32,
}

/// EC2's request rate limits per API category, which the EC2 client keeps under.
///
/// ```
/// use girder_aws::ec2::buckets::Ec2Buckets;
/// let published = Ec2Buckets::default();
/// assert_eq!(published.mutating.size, 50);
/// assert_eq!(published.mutating.refill_per_second, 5);
/// assert!(published.enabled);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ec2Buckets {
    /// Wait for tokens before sending (on unless switched off).
    pub enabled: bool,
    /// Mutating actions (`Create*`, `Delete*`, `Modify*`, `Associate*`, …).
    pub mutating: BucketShape,
    /// Non-mutating actions (`Describe*` with ids, filters or pagination).
    pub non_mutating: BucketShape,
    /// Non-mutating actions with neither ids, filters nor pagination.
    pub unfiltered: BucketShape,
}

impl Default for Ec2Buckets {
    /// EC2's published limits.
    fn default() -> Self {
        Ec2Buckets {
            enabled: true,
            mutating: BucketShape {
                size: 50,
                refill_per_second: 5,
            },
            non_mutating: BucketShape {
                size: 100,
                refill_per_second: 20,
            },
            unfiltered: BucketShape {
                size: 50,
                refill_per_second: 10,
            },
        }
    }
}

/// Which bucket an EC2 request draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Changes something.
    Mutating,
    /// Reads with ids, filters or pagination.
    NonMutating,
    /// Reads everything at once.
    Unfiltered,
}

/// Prefixes of EC2's read-only actions.
const READS: [&str; 5] = ["Describe", "Get", "List", "Search", "Lookup"];

/// Query parameters that neither filter nor paginate.
const PLAIN: [&str; 3] = ["Action", "Version", "DryRun"];

/// The `Action` and category of an EC2 query-protocol request body
/// (`Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=…`); `None` for anything else.
///
/// ```
/// use girder_aws::ec2::buckets::{Category, classify};
/// assert_eq!(
///     classify(b"Action=CreateRoute&Version=2016-11-15&RouteTableId=rtb-1"),
///     Some(("CreateRoute".to_owned(), Category::Mutating))
/// );
/// assert_eq!(
///     classify(b"Action=DescribeVpcs&Version=2016-11-15"),
///     Some(("DescribeVpcs".to_owned(), Category::Unfiltered))
/// );
/// assert_eq!(
///     classify(b"Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1"),
///     Some(("DescribeVpcs".to_owned(), Category::NonMutating))
/// );
/// assert_eq!(classify(b"{\"not\": \"a query\"}"), None);
/// ```
pub fn classify(body: &[u8]) -> Option<(String, Category)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut action = None;
    let mut plain = true;
    for pair in text.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "Action" {
            action = Some(value.to_owned());
        } else if !PLAIN.contains(&name) {
            plain = false;
        }
    }
    let action =
        action.filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric()))?;
    let category = if !READS.iter().any(|prefix| action.starts_with(prefix)) {
        Category::Mutating
    } else if plain {
        Category::Unfiltered
    } else {
        Category::NonMutating
    };
    Some((action, category))
}

/// One limiter per API and category, made on first use.
#[derive(Default)]
struct Limiters {
    by_api: Mutex<HashMap<(String, Category), Arc<DefaultDirectRateLimiter>>>,
}

impl Limiters {
    fn get(
        &self,
        action: &str,
        category: Category,
        shape: BucketShape,
    ) -> Arc<DefaultDirectRateLimiter> {
        let mut by_api = self.by_api.lock().unwrap_or_else(|p| p.into_inner());
        by_api
            .entry((action.to_owned(), category))
            .or_insert_with(|| {
                let refill = NonZeroU32::new(shape.refill_per_second).unwrap_or(NonZeroU32::MIN);
                // Half the burst (see the module's documentation), at least one request.
                let burst = NonZeroU32::new(shape.size / 2).unwrap_or(NonZeroU32::MIN);
                Arc::new(RateLimiter::direct(
                    Quota::per_second(refill).allow_burst(burst),
                ))
            })
            .clone()
    }
}

/// An HTTP client that waits for the request's EC2 token bucket before sending through
/// `inner`. Only the EC2 client is given one.
#[derive(Clone)]
pub struct BucketedHttpClient {
    inner: SharedHttpClient,
    buckets: Ec2Buckets,
    limiters: Arc<Limiters>,
}

impl fmt::Debug for BucketedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketedHttpClient")
            .field("buckets", &self.buckets)
            .finish_non_exhaustive()
    }
}

impl BucketedHttpClient {
    /// `inner`, keeping under `buckets`.
    pub fn new(inner: SharedHttpClient, buckets: Ec2Buckets) -> BucketedHttpClient {
        BucketedHttpClient {
            inner,
            buckets,
            limiters: Arc::new(Limiters::default()),
        }
    }
}

impl HttpClient for BucketedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BucketedConnector {
            inner: self.inner.http_connector(settings, components),
            buckets: self.buckets,
            limiters: self.limiters.clone(),
        })
    }
}

#[derive(Clone)]
struct BucketedConnector {
    inner: SharedHttpConnector,
    buckets: Ec2Buckets,
    limiters: Arc<Limiters>,
}

impl fmt::Debug for BucketedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketedConnector").finish_non_exhaustive()
    }
}

impl HttpConnector for BucketedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let limiter = self
            .buckets
            .enabled
            .then(|| request.body().bytes().and_then(classify))
            .flatten()
            .map(|(action, category)| {
                let shape = match category {
                    Category::Mutating => self.buckets.mutating,
                    Category::NonMutating => self.buckets.non_mutating,
                    Category::Unfiltered => self.buckets.unfiltered,
                };
                self.limiters.get(&action, category, shape)
            });
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(limiter) = limiter {
                limiter.until_ready().await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_action_and_its_parameters() {
        for (body, expected) in [
            (
                "Action=CreateTags&Version=2016-11-15&ResourceId.1=vpc-1",
                Category::Mutating,
            ),
            (
                "Action=AssociateRouteTable&Version=2016-11-15",
                Category::Mutating,
            ),
            (
                "Action=DescribeRouteTables&Version=2016-11-15&MaxResults=100",
                Category::NonMutating,
            ),
            (
                "Action=DescribeAvailabilityZones&Version=2016-11-15&DryRun=false",
                Category::Unfiltered,
            ),
            (
                "Version=2016-11-15&Action=GetManagedPrefixListEntries&PrefixListId=pl-1",
                Category::NonMutating,
            ),
        ] {
            assert_eq!(
                classify(body.as_bytes()).map(|c| c.1),
                Some(expected),
                "{body}"
            );
        }
        assert_eq!(classify(b"Action=&Version=1"), None);
        assert_eq!(classify(&[0xff, 0xfe]), None);
    }

    #[test]
    fn each_api_has_its_own_bucket_at_half_the_burst() {
        let limiters = Limiters::default();
        let shape = BucketShape {
            size: 4,
            refill_per_second: 1,
        };
        let create = limiters.get("CreateTags", Category::Mutating, shape);
        // Half the burst: two at once, then the third waits.
        assert!(create.check().is_ok() && create.check().is_ok());
        assert!(create.check().is_err());
        // Another API's bucket is untouched; the same API's is shared.
        let other = limiters.get("CreateRoute", Category::Mutating, shape);
        assert!(other.check().is_ok());
        assert!(
            limiters
                .get("CreateTags", Category::Mutating, shape)
                .check()
                .is_err()
        );
    }
}
