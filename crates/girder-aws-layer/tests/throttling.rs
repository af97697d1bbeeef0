//! Throttling in every protocol's shape, classified as throttling (retried) by the real SDK
//! clients; EC2's token buckets refilling with the clock; switching throttling off.

mod support;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use girder_aws_layer::{Behaviours, Bucket};
use support::{Env, three_quick_attempts};

fn throttle_everything() -> Behaviours {
    let mut behaviours = Behaviours::none();
    behaviours.throttling.enabled = true;
    behaviours.throttling.rate = 1.0;
    behaviours
}

/// `(code, HTTP status)` of an SDK error.
fn code_and_status<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> (String, u16) {
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (err.code().unwrap_or("no code").to_owned(), status)
}

#[tokio::test]
async fn every_protocol_answers_its_own_throttling_error_and_the_sdk_retries_it() {
    let env = Env::start_with(throttle_everything(), three_quick_attempts()).await;

    let e = env.ec2().describe_vpcs().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("RequestLimitExceeded".into(), 503));
    let e = env.iam().list_roles().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("Throttling".into(), 400));
    let e = env.sts().get_caller_identity().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("Throttling".into(), 400));
    let e = env.eks().list_clusters().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("ThrottlingException".into(), 429));
    let e = env.logs().describe_log_groups().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("ThrottlingException".into(), 400));
    let e = env.dynamodb().list_tables().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("ThrottlingException".into(), 400));
    let e = env.route53().list_hosted_zones().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("Throttling".into(), 400));
    let e = env.s3().list_buckets().send().await.unwrap_err();
    assert_eq!(code_and_status(&e), ("SlowDown".into(), 503));

    // Every one was classified as retryable: three attempts each.
    let counters = env.layer.counters();
    for (service, operation) in [
        ("ec2", "DescribeVpcs"),
        ("iam", "ListRoles"),
        ("sts", "GetCallerIdentity"),
        ("eks", "ListClusters"),
        ("logs", "DescribeLogGroups"),
        ("dynamodb", "ListTables"),
        ("route53", "ListHostedZones"),
        ("s3", "ListBuckets"),
    ] {
        assert_eq!(
            counters.requests_of(service, operation),
            3,
            "{service}:{operation} attempts"
        );
    }
    assert_eq!(counters.fired("throttling"), 24);

    // Switched off, the same calls pass at once.
    env.layer.set_enabled("throttling", false).unwrap();
    env.ec2().describe_vpcs().send().await.unwrap();
    env.eks().list_clusters().send().await.unwrap();
    assert_eq!(env.layer.counters().fired("throttling"), 24);
}

#[tokio::test]
async fn a_not_found_is_not_retried_but_throttling_of_one_api_is() {
    let mut behaviours = Behaviours::none();
    behaviours.throttling.enabled = true;
    behaviours
        .throttling
        .per_api
        .insert("ec2:DescribeSubnets".into(), 1.0);
    let env = Env::start_with(behaviours, three_quick_attempts()).await;
    // Other APIs are not throttled.
    let e = env
        .ec2()
        .describe_vpcs()
        .vpc_ids("vpc-0000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidVpcID.NotFound"));
    let e = env.ec2().describe_subnets().send().await.unwrap_err();
    assert_eq!(e.code(), Some("RequestLimitExceeded"));
    let counters = env.layer.counters();
    assert_eq!(counters.requests_of("ec2", "DescribeVpcs"), 1);
    assert_eq!(counters.requests_of("ec2", "DescribeSubnets"), 3);
}

#[tokio::test]
async fn ec2_buckets_empty_per_api_and_refill_with_the_clock() {
    let mut behaviours = Behaviours::none();
    behaviours.throttling.enabled = true;
    behaviours.throttling.ec2_non_mutating = Bucket {
        size: 3.0,
        refill_per_sec: 1.0,
    };
    behaviours.throttling.ec2_unfiltered = Bucket {
        size: 2.0,
        refill_per_sec: 0.5,
    };
    let env = Env::start(behaviours).await;
    let ec2 = env.ec2();
    let filtered = || {
        ec2.describe_vpcs()
            .filters(Filter::builder().name("tag:team").values("a").build())
            .send()
    };
    for _ in 0..3 {
        filtered().await.expect("within the bucket");
    }
    let e = filtered().await.unwrap_err();
    assert_eq!(e.code(), Some("RequestLimitExceeded"));
    // Unfiltered, unpaginated calls have their own, smaller bucket.
    ec2.describe_vpcs().send().await.unwrap();
    ec2.describe_vpcs().send().await.unwrap();
    assert_eq!(
        ec2.describe_vpcs().send().await.unwrap_err().code(),
        Some("RequestLimitExceeded")
    );
    // Other APIs have their own buckets.
    ec2.describe_subnets()
        .filters(Filter::builder().name("vpc-id").values("vpc-1").build())
        .send()
        .await
        .unwrap();
    // One second refills one token of the filtered bucket; the unfiltered needs two.
    env.advance(1);
    filtered().await.expect("refilled");
    assert!(filtered().await.is_err());
    assert!(ec2.describe_vpcs().send().await.is_err());
    env.advance(1);
    ec2.describe_vpcs()
        .send()
        .await
        .expect("refilled after two seconds");
}
