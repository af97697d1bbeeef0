//! The control endpoint: switching behaviours and reading counters from another process.

mod support;

use std::io::{Read, Write};

use aws_sdk_ec2::error::ProvideErrorMetadata;
use girder_aws_layer::{Behaviours, Counters};
use support::Env;

/// One HTTP/1.0 exchange; answers `(status, body)`.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn behaviours_switch_and_counters_read_over_http() {
    let env = Env::start(Behaviours::none()).await;
    let port = env.layer.port();
    env.ec2().describe_vpcs().send().await.unwrap();

    let (status, body) = http(
        port,
        "PATCH",
        "/_layer/behaviours",
        r#"{"throttling": {"enabled": true, "rate": 1.0}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let now: Behaviours = serde_json::from_str(&body).unwrap();
    assert!(now.throttling.enabled && !now.lifecycle.enabled);
    assert_eq!(env.layer.behaviours(), now);
    let e = env.ec2().describe_vpcs().send().await.unwrap_err();
    assert_eq!(e.code(), Some("RequestLimitExceeded"));

    let (status, body) = http(port, "GET", "/_layer/counters", "");
    assert_eq!(status, 200);
    let counters: Counters = serde_json::from_str(&body).unwrap();
    assert_eq!(counters.requests_of("ec2", "DescribeVpcs"), 2);
    assert_eq!(counters.fired("throttling"), 1);

    // A bad document is refused with the field and the fix, and changes nothing.
    let (status, body) = http(
        port,
        "PATCH",
        "/_layer/behaviours",
        r#"{"throttling": {"rate": 3}}"#,
    );
    assert_eq!(status, 400);
    assert!(
        body.contains("throttling.rate") && body.contains("between 0.0 and 1.0"),
        "{body}"
    );
    let (status, body) = http(port, "PATCH", "/_layer/behaviours", r#"{"slowness": {}}"#);
    assert_eq!(status, 400);
    assert!(body.contains("slowness"), "{body}");
    assert!(env.layer.behaviours().throttling.enabled);

    let (status, _) = http(port, "DELETE", "/_layer/counters", "");
    assert_eq!(status, 204);
    assert_eq!(env.layer.counters(), Counters::default());
    let (status, body) = http(port, "GET", "/_layer/health", "");
    assert_eq!((status, body.as_str()), (200, "ok"));
}
