//! The EC2 client keeps under EC2's per-API token buckets: through the AWS behaviour layer,
//! whose EC2 buckets refuse what is over the limit with `RequestLimitExceeded` as EC2 does, a
//! burst of mutating requests sent at once is throttled without the client's buckets and goes
//! through whole with them, at the buckets' rate.

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use futures::future::join_all;
use girder_aws::ec2::buckets::{BucketShape, Ec2Buckets};
use girder_aws::{AwsClients, AwsSettings};
use girder_testing::aws_layer::{Behaviours, Bucket};
use girder_testing::sandbox::{Sandbox, SandboxOptions};

/// Requests in the burst.
const BURST: usize = 30;

/// The layer's (EC2's) mutating bucket: ten at once, then five a second, as EC2 refills it.
const MUTATING: BucketShape = BucketShape {
    size: 10,
    refill_per_second: 5,
};

fn clients(sandbox: &Sandbox, buckets: Ec2Buckets) -> AwsClients {
    AwsClients::new(
        AwsSettings::default()
            .region("us-east-1")
            .endpoint_url(sandbox.layer().endpoint())
            .credentials(Credentials::new("testing", "testing", None, None, "layer"))
            .ec2_buckets(buckets),
    )
}

/// Sends `BURST` requests of one mutating API at once; how many succeeded, how many EC2
/// throttled, and how long the burst took.
async fn burst(clients: &AwsClients, vpc: &str, action: &str) -> (usize, usize, Duration) {
    let ec2 = &clients.sdk().await.unwrap().ec2;
    let started = Instant::now();
    let results = join_all((0..BURST).map(|i| {
        let tag = aws_sdk_ec2::types::Tag::builder()
            .key(format!("k{i}"))
            .value("v")
            .build();
        async move {
            let result = match action {
                "CreateTags" => ec2
                    .create_tags()
                    .resources(vpc)
                    .tags(tag)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws_sdk_ec2::Error::from),
                _ => ec2
                    .delete_tags()
                    .resources(vpc)
                    .tags(tag)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws_sdk_ec2::Error::from),
            };
            result.map_err(|e| {
                use aws_sdk_ec2::error::ProvideErrorMetadata;
                e.code().unwrap_or_default().to_owned()
            })
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(code) if code == "RequestLimitExceeded"))
        .count();
    assert_eq!(
        ok + throttled,
        BURST,
        "only throttling may fail: {results:?}"
    );
    (ok, throttled, elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_bursts_keep_under_ec2s_buckets() {
    let mut behaviours = Behaviours::none();
    behaviours.throttling.enabled = true;
    behaviours.throttling.ec2_buckets = true;
    behaviours.throttling.ec2_mutating = Bucket {
        size: f64::from(MUTATING.size),
        refill_per_sec: f64::from(MUTATING.refill_per_second),
    };
    let sandbox = Sandbox::start(SandboxOptions {
        behaviours,
        region: "us-east-1".into(),
        ..SandboxOptions::default()
    })
    .expect("moto_server must be installed (scripts/python-deps.sh) and the layer start");
    let shaped = Ec2Buckets {
        mutating: MUTATING,
        ..Ec2Buckets::default()
    };
    let setup = clients(&sandbox, shaped);
    let vpc = setup
        .sdk()
        .await
        .unwrap()
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .and_then(|v| v.vpc_id)
        .unwrap();

    // Without the client's buckets, EC2 refuses what the burst sends beyond its bucket.
    let unshaped = clients(
        &sandbox,
        Ec2Buckets {
            enabled: false,
            ..shaped
        },
    );
    let (ok, throttled, elapsed) = burst(&unshaped, &vpc, "CreateTags").await;
    eprintln!("without buckets: {ok} sent, {throttled} throttled in {elapsed:?}");
    assert!(
        throttled > 0,
        "the layer's bucket refused nothing: {ok} in {elapsed:?}"
    );

    // With them (another API: its own bucket, full), every request goes through, at the
    // bucket's pace: half its burst at once, then its refill rate.
    sandbox.layer().reset_counters();
    let (ok, throttled, elapsed) = burst(&setup, &vpc, "DeleteTags").await;
    eprintln!("with buckets: {ok} sent, {throttled} throttled in {elapsed:?}");
    assert_eq!((ok, throttled), (BURST, 0));
    let refused = sandbox.layer().counters().behaviours;
    assert!(refused.is_empty(), "the layer throttled: {refused:?}");
    let at_least =
        (BURST as u32 - MUTATING.size / 2) as f64 / f64::from(MUTATING.refill_per_second);
    assert!(
        elapsed.as_secs_f64() >= at_least * 0.95,
        "{elapsed:?}: faster than the bucket allows"
    );
}
