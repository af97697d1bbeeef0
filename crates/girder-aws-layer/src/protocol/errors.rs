//! Errors in the exact shape of each protocol, so the real SDK clients parse the code and
//! classify it (retryable, throttling, modeled exception) exactly as they would against AWS.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use quick_xml::escape::escape;

use super::Service;
use crate::reply::Reply;

/// An AWS error: HTTP status, error code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error code (`InvalidVpcID.NotFound`, `ThrottlingException`, …).
    pub code: String,
    /// The message.
    pub message: String,
}

impl AwsError {
    /// An error with a status, code and message.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The service's throttling error (the SDKs' retry classifiers know every one of these
    /// codes as throttling).
    pub fn throttling(service: &Service) -> AwsError {
        match service {
            Service::Ec2 => AwsError::new(503, "RequestLimitExceeded", "Request limit exceeded."),
            Service::Eks => AwsError::new(429, "ThrottlingException", "Rate exceeded"),
            Service::Logs => AwsError::new(400, "ThrottlingException", "Rate exceeded"),
            Service::DynamoDb => AwsError::new(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
            Service::S3 => AwsError::new(503, "SlowDown", "Please reduce your request rate."),
            Service::Iam | Service::Sts | Service::Route53 | Service::Elb | Service::Other(_) => {
                AwsError::new(400, "Throttling", "Rate exceeded")
            }
        }
    }

    /// The service's internal error, as a response lost after the action took effect.
    pub fn internal(service: &Service) -> AwsError {
        match service {
            Service::Ec2 => AwsError::new(
                500,
                "InternalError",
                "An internal error has occurred. Retry your request, but if the problem persists, contact us with details by posting a message on the AWS forums.",
            ),
            Service::S3 => AwsError::new(
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            Service::Eks => AwsError::new(
                500,
                "ServerException",
                "An internal error occurred. Please try again.",
            ),
            Service::Iam => AwsError::new(
                500,
                "ServiceFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            ),
            Service::Logs => AwsError::new(
                500,
                "ServiceUnavailableException",
                "The service cannot complete the request.",
            ),
            Service::DynamoDb => AwsError::new(500, "InternalServerError", "Internal server error"),
            Service::Sts | Service::Route53 | Service::Elb | Service::Other(_) => AwsError::new(
                500,
                "InternalFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            ),
        }
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )
    }
}

/// The error rendered as `service` answers it.
pub(crate) fn render(service: &Service, error: &AwsError) -> Reply {
    let request_id = uuid::Uuid::new_v4().to_string();
    let code = escape(error.code.as_str());
    let message = escape(error.message.as_str());
    let kind = if error.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let mut headers = HeaderMap::new();
    let (content_type, body) = match service {
        Service::Ec2 => (
            "text/xml;charset=UTF-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
        ),
        Service::Iam | Service::Sts | Service::Elb | Service::Route53 => {
            let namespace = match service {
                Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
                Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
                Service::Elb => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
                _ => "https://route53.amazonaws.com/doc/2013-04-01/",
            };
            (
                "text/xml",
                format!(
                    "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                ),
            )
        }
        Service::S3 => {
            headers.insert("x-amz-request-id", header(&request_id));
            (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
                ),
            )
        }
        Service::Eks | Service::Other(_) => {
            headers.insert("x-amzn-ErrorType", header(&error.code));
            (
                "application/json",
                serde_json::json!({ "message": error.message }).to_string(),
            )
        }
        Service::Logs => (
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": error.code, "message": error.message }).to_string(),
        ),
        Service::DynamoDb => (
            "application/x-amz-json-1.0",
            serde_json::json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{}", error.code),
                "message": error.message,
            })
            .to_string(),
        ),
    };
    headers.insert(http::header::CONTENT_TYPE, header(content_type));
    headers.insert("x-amzn-RequestId", header(&request_id));
    Reply {
        status: error.status,
        headers,
        body: Bytes::from(body),
    }
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}
