//! What a request is: the service (from the SigV4 credential scope), the operation (from the
//! service's protocol) and its parameters.

mod errors;
mod routes;

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Method};

pub use errors::AwsError;
pub(crate) use errors::render;

/// The AWS services the layer knows, each with its wire protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// EC2 query protocol.
    Ec2,
    /// IAM, AWS query protocol.
    Iam,
    /// STS, AWS query protocol.
    Sts,
    /// Elastic Load Balancing (v2), AWS query protocol.
    Elb,
    /// EKS, REST-JSON.
    Eks,
    /// CloudWatch Logs, JSON 1.1.
    Logs,
    /// DynamoDB, JSON 1.0.
    DynamoDb,
    /// Route 53, REST-XML.
    Route53,
    /// S3, REST-XML.
    S3,
    /// Anything else, passed through untouched (the signing name).
    Other(String),
}

impl Service {
    /// From the signing name in the credential scope.
    pub fn from_signing_name(name: &str) -> Service {
        match name {
            "ec2" => Service::Ec2,
            "iam" => Service::Iam,
            "sts" => Service::Sts,
            "elasticloadbalancing" => Service::Elb,
            "eks" => Service::Eks,
            "logs" => Service::Logs,
            "dynamodb" => Service::DynamoDb,
            "route53" => Service::Route53,
            "s3" => Service::S3,
            other => Service::Other(other.to_owned()),
        }
    }

    /// The signing name (`ec2`, `iam`, …), as counters and `Service:Operation` keys use it.
    pub fn name(&self) -> &str {
        match self {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Sts => "sts",
            Service::Elb => "elasticloadbalancing",
            Service::Eks => "eks",
            Service::Logs => "logs",
            Service::DynamoDb => "dynamodb",
            Service::Route53 => "route53",
            Service::S3 => "s3",
            Service::Other(name) => name,
        }
    }

    fn is_query(&self) -> bool {
        matches!(
            self,
            Service::Ec2 | Service::Iam | Service::Sts | Service::Elb
        )
    }
}

/// A request as the behaviours see it.
#[derive(Clone, Debug)]
pub struct AwsRequest {
    /// The service.
    pub service: Service,
    /// The region from the credential scope.
    pub region: String,
    /// The access key id from the credential scope.
    pub access_key: String,
    /// The operation (`CreateVpc`, `DescribeCluster`, …); `Unknown` when it cannot be told.
    pub operation: String,
    /// The HTTP method.
    pub method: Method,
    /// The raw path.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Query-protocol parameters (form body plus URL query), in order.
    pub params: Vec<(String, String)>,
    /// The JSON body of JSON protocols (`Null` when absent).
    pub json: serde_json::Value,
    /// Path parameters of REST protocols (`name`, `nodegroupName`, `addonName`,
    /// `principalArn`, `policyArn`, `updateId`, `Id`, …), percent-decoded.
    pub path_params: BTreeMap<&'static str, String>,
}

impl AwsRequest {
    /// Classifies a request. Requests without a SigV4 credential scope get
    /// [`Service::Other`] with an empty name.
    pub fn parse(method: Method, uri: &http::Uri, headers: HeaderMap, body: Bytes) -> AwsRequest {
        let query = uri.query().map(str::to_owned);
        let scope = credential_scope(&headers, query.as_deref());
        let (access_key, region, service) = match scope {
            Some((key, region, service)) => (key, region, Service::from_signing_name(&service)),
            None => (String::new(), String::new(), Service::Other(String::new())),
        };
        let mut request = AwsRequest {
            service,
            region,
            access_key,
            operation: "Unknown".into(),
            method,
            path: uri.path().to_owned(),
            query,
            headers,
            body,
            params: Vec::new(),
            json: serde_json::Value::Null,
            path_params: BTreeMap::new(),
        };
        request.classify();
        request
    }

    fn classify(&mut self) {
        if self.service.is_query() {
            if let Some(q) = &self.query {
                self.params
                    .extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
            }
            self.params
                .extend(url::form_urlencoded::parse(&self.body).into_owned());
            if let Some(action) = self.param("Action") {
                self.operation = action.to_owned();
            }
            return;
        }
        if !self.body.is_empty()
            && matches!(
                self.service,
                Service::Eks | Service::Logs | Service::DynamoDb
            )
        {
            self.json = serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null);
        }
        let segments: Vec<String> = self
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let (operation, params) = match &self.service {
            Service::Logs | Service::DynamoDb => (
                self.headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|t| t.rsplit('.').next())
                    .map(str::to_owned),
                BTreeMap::new(),
            ),
            Service::Eks => routes::eks(&self.method, &segments),
            Service::Route53 => routes::route53(&self.method, &segments),
            Service::S3 => (
                Some(routes::s3(&self.method, &segments, self.query.as_deref())),
                BTreeMap::new(),
            ),
            _ => (None, BTreeMap::new()),
        };
        if let Some(operation) = operation {
            self.operation = operation;
        }
        self.path_params = params;
    }

    /// The first query parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A string field of the JSON body.
    pub fn json_str(&self, field: &str) -> Option<&str> {
        self.json.get(field).and_then(serde_json::Value::as_str)
    }

    /// A path parameter.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params.get(name).map(String::as_str)
    }

    /// `service:Operation`, the key of counters and per-API settings.
    pub fn key(&self) -> String {
        format!("{}:{}", self.service.name(), self.operation)
    }

    /// Whether the call changes something (throttling buckets, lost responses).
    pub fn is_mutating(&self) -> bool {
        const READS: [&str; 10] = [
            "Describe", "Get", "List", "Lookup", "Search", "Query", "Scan", "BatchGet", "Filter",
            "Check",
        ];
        match self.service {
            Service::Eks | Service::Route53 | Service::S3 => {
                !matches!(self.method, Method::GET | Method::HEAD)
                    && !self.operation.starts_with("List")
            }
            _ => !READS.iter().any(|p| self.operation.starts_with(p)),
        }
    }
}

/// `(access key, region, service)` from `Authorization: AWS4-HMAC-SHA256
/// Credential=AKID/DATE/REGION/SERVICE/aws4_request, …` or a presigned URL's
/// `X-Amz-Credential`.
fn credential_scope(headers: &HeaderMap, query: Option<&str>) -> Option<(String, String, String)> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| {
            let start = auth.find("Credential=")? + "Credential=".len();
            let rest = &auth[start..];
            Some(rest[..rest.find([',', ' ']).unwrap_or(rest.len())].to_owned())
        });
    let credential = from_header.or_else(|| {
        url::form_urlencoded::parse(query?.as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v.into_owned())
    })?;
    let mut parts = credential.split('/');
    let key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some((key, region, service))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, service: &str, body: &str) -> AwsRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
                .parse()
                .unwrap(),
        );
        AwsRequest::parse(
            method,
            &uri.parse().unwrap(),
            headers,
            Bytes::from(body.to_owned()),
        )
    }

    #[test]
    fn query_protocols_name_the_action() {
        let r = request(
            Method::POST,
            "/",
            "ec2",
            "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16",
        );
        assert_eq!(
            (r.service.clone(), r.operation.as_str()),
            (Service::Ec2, "CreateVpc")
        );
        assert_eq!(r.param("CidrBlock"), Some("10.0.0.0/16"));
        assert_eq!(r.region, "us-east-1");
        assert!(r.is_mutating());
    }

    #[test]
    fn eks_paths_name_the_operation_and_decode_arns() {
        let r = request(
            Method::DELETE,
            "/clusters/c1/access-entries/arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fadmin/access-policies/arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSViewPolicy",
            "eks",
            "",
        );
        assert_eq!(r.operation, "DisassociateAccessPolicy");
        assert_eq!(
            r.path_param("principalArn"),
            Some("arn:aws:iam::123456789012:role/admin")
        );
        assert_eq!(
            r.path_param("policyArn"),
            Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
        );
    }

    #[test]
    fn presigned_urls_carry_the_scope_in_the_query() {
        let r = AwsRequest::parse(
            Method::GET,
            &"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Credential=AKID%2F20261201%2Fus-east-1%2Fsts%2Faws4_request".parse().unwrap(),
            HeaderMap::new(),
            Bytes::new(),
        );
        assert_eq!(
            (r.service, r.operation.as_str()),
            (Service::Sts, "GetCallerIdentity")
        );
    }
}
