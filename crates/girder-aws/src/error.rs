//! Errors: the crate's own [`AwsError`], and the mapping of AWS error codes onto the engine's
//! [`ErrorKind`]s with messages that say what to do.
//!
//! The engine retries [`ErrorKind::Retryable`] a bounded number of times (throttling, 5xx) and
//! [`ErrorKind::Settling`] until the operation's deadline (what AWS is still settling:
//! `DependencyViolation` while network interfaces drain, `DeleteConflict` while IAM detaches,
//! a role or OIDC provider IAM has not propagated, an id created moments ago that a dependent
//! call cannot see yet), so the classification decides what is worth waiting for and what
//! must be fixed by a person (bad inputs, missing permissions). It reads AWS's real messages
//! where the code alone is ambiguous (`InvalidParameterException` "… could not be assumed").
//! A read's NotFound stays NotFound: the engine judges whether the object is gone.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use girder_engine::{ErrorKind, ProviderError};

/// Errors of the AWS crate outside provider calls (configuration, tokens, kubeconfig).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region could be found in the provider configuration or the AWS chain.
    #[error(
        "no AWS region is configured{}: set AWS_REGION, a `region` in the AWS profile, or pass the region explicitly",
        for_what.as_ref().map(|w| format!(" for {w}")).unwrap_or_default()
    )]
    NoRegion {
        /// What needed the region.
        for_what: Option<String>,
    },
    /// The credential chain produced no credentials.
    #[error(
        "no AWS credentials could be loaded: {message}; set AWS_PROFILE (and run `aws sso login` for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    Credentials {
        /// What the credential chain reported.
        message: String,
    },
    /// Signing a request failed.
    #[error("signing the {what} failed: {message}")]
    Signing {
        /// What was signed.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// A provider configuration value is not acceptable.
    #[error("the AWS provider setting `{field}` = `{value}` is invalid: {message}")]
    InvalidSetting {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why, and what to use instead.
        message: String,
    },
    /// Writing a kubeconfig failed.
    #[error("the kubeconfig for cluster `{cluster}` could not be written: {message}")]
    Kubeconfig {
        /// The cluster.
        cluster: String,
        /// Why.
        message: String,
    },
}

impl From<AwsError> for ProviderError {
    fn from(error: AwsError) -> Self {
        let kind = match &error {
            AwsError::NoRegion { .. } | AwsError::InvalidSetting { .. } => ErrorKind::InvalidInput,
            AwsError::Credentials { .. } => ErrorKind::Unauthorized,
            AwsError::Signing { .. } | AwsError::Kubeconfig { .. } => ErrorKind::Permanent,
        };
        ProviderError::new(kind, error.to_string())
    }
}

/// One AWS API call, named for error messages: which operation on which resource.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// The API operation, such as `CreateVpc`.
    pub operation: &'static str,
    /// What it acts on, such as ``aws:ec2/vpc `main-vpc` `` or `vpc-0abc`.
    pub target: String,
    /// Deletes wait out `DependencyViolation`: AWS reports it while network interfaces,
    /// mapped addresses or attachments of just-deleted dependents are still being released.
    pub dependency_violation_retryable: bool,
}

impl Call {
    /// A call of `operation` on `target`.
    pub fn new(operation: &'static str, target: impl fmt::Display) -> Call {
        Call {
            operation,
            target: target.to_string(),
            dependency_violation_retryable: false,
        }
    }

    /// A delete call: `DependencyViolation` is worth retrying.
    pub fn deleting(operation: &'static str, target: impl fmt::Display) -> Call {
        Call {
            dependency_violation_retryable: true,
            ..Call::new(operation, target)
        }
    }
}

/// True if `operation` only reads (`Describe*`, `Get*`, `List*`): a NotFound it reports is
/// about the object it names, which the engine judges (gone, or still inside its
/// consistency window).
fn is_read(operation: &str) -> bool {
    ["Describe", "Get", "List", "Head"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// True if `operation` takes something apart (`Delete*`, `Detach*`, …): a NotFound means the
/// work is already done, which the delete paths check for.
fn is_teardown(operation: &str) -> bool {
    [
        "Delete",
        "Detach",
        "Disassociate",
        "Revoke",
        "Release",
        "Remove",
        "Deregister",
        "Untag",
        "Disable",
    ]
    .iter()
    .any(|p| operation.starts_with(p))
}

/// True if an IAM role or OIDC provider named in the request has not propagated yet, by the
/// messages AWS really sends: EKS "Role with arn: … could not be assumed" (CreateCluster,
/// CreateNodegroup: "… cannot be assumed"), EC2 CreateFlowLogs "Unable to assume given IAM
/// role", IAM CreateRole "Invalid principal in policy" naming a role or OIDC provider.
fn is_propagation(code: &str, message: &str) -> bool {
    let assume = message.contains("could not be assumed")
        || message.contains("cannot be assumed")
        || message.contains("Unable to assume given IAM role");
    let principal = code == "MalformedPolicyDocument"
        && message.contains("Invalid principal in policy")
        && (message.contains(":role/") || message.contains(":oidc-provider/"));
    assume || principal
}

/// True for the codes that say an id named in a request is not known (EC2's
/// `Invalid*ID.NotFound`, `NatGatewayNotFound`, IAM's `NoSuchEntity`): on a call that builds on
/// an id created moments ago, AWS has not made the id visible everywhere yet.
fn is_young_id(code: &str) -> bool {
    code.ends_with(".NotFound") || code == "NatGatewayNotFound" || code == "NoSuchEntity"
}

/// Throttling codes: AWS refused the request before acting on it.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
];

/// True if a failed call may still have acted (a 5xx, a broken connection, a timeout): a
/// create that failed this way must look for what it may have made before trying again.
/// Throttling and every 4xx are refusals, made before AWS acted.
pub(crate) fn outcome_unknown(error: &ProviderError) -> bool {
    match error.kind {
        ErrorKind::Retryable | ErrorKind::Timeout => !error
            .code
            .as_deref()
            .is_some_and(|code| THROTTLING.contains(&code)),
        _ => false,
    }
}

/// The class of an AWS error (its code, message and HTTP status), and advice for people.
pub(crate) fn classify(
    code: &str,
    message: &str,
    status: Option<u16>,
    call: &Call,
) -> (ErrorKind, &'static str) {
    const RETRYABLE: &[&str] = &[
        "PriorRequestNotComplete",
        "ConcurrentModification",
        "ConcurrentModificationException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceFailure",
        "ServerException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAborted",
        "IdempotentParameterMismatch",
    ];
    const UNAUTHORIZED: &[&str] = &[
        "AuthFailure",
        "UnauthorizedOperation",
        "ExpiredToken",
        "ExpiredTokenException",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "OptInRequired",
        "InvalidToken",
        "NotAuthorizedException",
    ];
    const CONFLICT: &[&str] = &[
        "EntityAlreadyExists",
        "ResourceAlreadyExistsException",
        "ResourceInUseException",
        "ResourceInUse",
        "RouteAlreadyExists",
        "InvalidPermission.Duplicate",
        "Resource.AlreadyAssociated",
        "InvalidGroup.Duplicate",
        "InvalidSubnet.Conflict",
        "DeleteConflict",
        "IncorrectState",
        "IncorrectInstanceState",
        "Gateway.NotAttached",
        "InvalidState",
        "ResourceLimitExceeded",
        "HostedZoneAlreadyExists",
        "HostedZoneNotEmpty",
        "ConflictingDomainExists",
        "LastVPCAssociation",
        "BucketAlreadyExists",
        "BucketAlreadyOwnedByYou",
        "BucketNotEmpty",
        "TableAlreadyExistsException",
    ];
    const LIMIT: &[&str] = &[
        "LimitExceeded",
        "LimitExceededException",
        "AddressLimitExceeded",
        "VpcLimitExceeded",
        "NatGatewayLimitExceeded",
        "InternetGatewayLimitExceeded",
        "RouteLimitExceeded",
        "RulesPerSecurityGroupLimitExceeded",
        "SecurityGroupLimitExceeded",
        "ServiceQuotaExceededException",
    ];

    // S3 says "not configured" with codes that look like "not found": the bucket exists.
    const NOT_CONFIGURED: &[&str] = &[
        "NoSuchTagSet",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchBucketPolicy",
        "NoSuchLifecycleConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
    ];
    if NOT_CONFIGURED.contains(&code) {
        return (
            ErrorKind::Permanent,
            "the setting is not configured on the resource",
        );
    }
    if THROTTLING.contains(&code) || RETRYABLE.contains(&code) {
        return (
            ErrorKind::Retryable,
            "AWS asked to slow down or failed transiently; girder retries with backoff",
        );
    }
    if status.is_some_and(|s| s >= 500) {
        return (
            ErrorKind::Retryable,
            "AWS failed transiently; girder retries with backoff",
        );
    }
    if code == "DependencyViolation" {
        return if call.dependency_violation_retryable {
            (
                ErrorKind::Settling,
                "AWS is still releasing what depends on it (network interfaces, addresses, attachments); girder waits and retries until the delete's time limit",
            )
        } else {
            (
                ErrorKind::Conflict,
                "something outside this stack still depends on it; remove that dependency first",
            )
        };
    }
    if code == "DeleteConflict" && call.dependency_violation_retryable {
        return (
            ErrorKind::Settling,
            "IAM is still detaching its policies or instance profiles; girder waits and retries until the delete's time limit",
        );
    }
    if is_propagation(code, message) {
        return (
            ErrorKind::Settling,
            "IAM has not propagated the role or OIDC provider yet (it takes seconds to minutes after creation); girder waits and retries until the operation's time limit",
        );
    }
    if is_young_id(code) && !is_read(call.operation) && !is_teardown(call.operation) {
        return (
            ErrorKind::Settling,
            "AWS does not show an id created moments ago everywhere yet (eventual consistency); girder waits and retries until the operation's time limit",
        );
    }
    // EKS refuses work on a cluster that is still CREATING or UPDATING; it becomes ACTIVE.
    if message.contains("is not in ACTIVE status") {
        return (
            ErrorKind::Settling,
            "the cluster is still being created or updated; girder waits and retries until the operation's time limit",
        );
    }
    // EKS answers some calls on a missing cluster with a ClientException, not a NotFound.
    if code == "ClientException" && message.contains("No cluster found") {
        return (
            ErrorKind::NotFound,
            "the cluster no longer exists; run `plan` again to recreate it",
        );
    }
    if UNAUTHORIZED.contains(&code) {
        return (
            ErrorKind::Unauthorized,
            "check the credentials (AWS_PROFILE, `aws sso login`, AWS_ACCESS_KEY_ID) and that the principal's IAM policy allows this operation",
        );
    }
    if code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code == "NoSuchEntity"
        || code == "NoSuchEntityException"
        // Route 53 and S3: NoSuchHostedZone, NoSuchBucket, NoSuchChange, … (S3's
        // "not configured" codes were answered above)
        || code.starts_with("NoSuch")
    {
        return (
            ErrorKind::NotFound,
            "it no longer exists; run `plan` again to recreate it",
        );
    }
    if LIMIT.contains(&code) {
        return (
            ErrorKind::Permanent,
            "an AWS quota is exhausted; delete unused resources or request a higher quota in the Service Quotas console",
        );
    }
    if CONFLICT.contains(&code) {
        return (
            ErrorKind::Conflict,
            "it conflicts with what exists; if it belongs to this program, import it, otherwise choose another name or CIDR",
        );
    }
    if code.starts_with("InvalidParameter")
        || code.starts_with("Invalid")
        || code.starts_with("Malformed")
        || code.starts_with("MissingParameter")
        || code.starts_with("Validation")
        || code == "InvalidRequestException"
        || code == "InvalidInput"
        || code == "UnsupportedOperation"
        || code == "UnsupportedAvailabilityZoneException"
    {
        return (
            ErrorKind::InvalidInput,
            "fix the value in the program (the message names it) and plan again",
        );
    }
    match status {
        Some(429) => (
            ErrorKind::Retryable,
            "AWS asked to slow down; girder retries with backoff",
        ),
        Some(404) => (
            ErrorKind::NotFound,
            "it does not exist (or the endpoint does not know the operation)",
        ),
        Some(401 | 403) => (
            ErrorKind::Unauthorized,
            "check the credentials and the principal's IAM permissions",
        ),
        _ => (
            ErrorKind::Permanent,
            "see the AWS message; fix the program or the account and apply again",
        ),
    }
}

/// Converts an SDK error into a classified [`ProviderError`] naming the call.
pub(crate) fn sdk_error<E>(call: &Call, error: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            let code = error.code().unwrap_or("Unknown").to_owned();
            let message = error
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP status {}", status.unwrap_or_default()));
            let (kind, advice) = classify(&code, &message, status, call);
            ProviderError::new(
                kind,
                format!(
                    "{} of {} failed: {message}; {advice}",
                    call.operation, call.target
                ),
            )
            .with_code(code)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            let detail = std::error::Error::source(&error)
                .map(|s| s.to_string())
                .unwrap_or_else(|| error.to_string());
            let credentials = detail.contains("credential");
            let kind = if credentials {
                ErrorKind::Unauthorized
            } else {
                ErrorKind::Retryable
            };
            let advice = if credentials {
                "no credentials could be loaded: set AWS_PROFILE (and run `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            } else {
                "AWS could not be reached; check the network, proxies and AWS_ENDPOINT_URL; girder retries"
            };
            ProviderError::new(
                kind,
                format!(
                    "{} of {} could not be sent: {detail}; {advice}",
                    call.operation, call.target
                ),
            )
        }
        _ => {
            let detail = std::error::Error::source(&error)
                .map(|s| format!("{s:?}"))
                .unwrap_or_else(|| error.to_string());
            let credentials = detail.to_ascii_lowercase().contains("credential");
            ProviderError::new(
                if credentials {
                    ErrorKind::Unauthorized
                } else {
                    ErrorKind::Permanent
                },
                format!(
                    "{} of {} could not be built: {detail}{}",
                    call.operation,
                    call.target,
                    if credentials {
                        "; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    } else {
                        ""
                    }
                ),
            )
        }
    }
}

/// `.aws(&call)` on SDK results: classify and name the failed call.
pub(crate) trait AwsResultExt<T> {
    /// Maps the SDK error.
    fn aws(self, call: &Call) -> Result<T, ProviderError>;
}

impl<T, E> AwsResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn aws(self, call: &Call) -> Result<T, ProviderError> {
        self.map_err(|e| sdk_error(call, e))
    }
}

/// True if the error says the resource does not exist.
pub(crate) fn is_not_found(error: &ProviderError) -> bool {
    error.kind == ErrorKind::NotFound
}

/// True if the error has this AWS code.
pub(crate) fn has_code(error: &ProviderError, code: &str) -> bool {
    error.code.as_deref() == Some(code)
}

/// Marks an error that happened after a resource was created: the resource is reported as
/// partial (so the engine records it tainted and replaces it) and the error is not retried,
/// because retrying the whole create would make a second copy.
pub(crate) fn after_create(
    error: ProviderError,
    id: &str,
    outputs: girder_core::Value,
) -> ProviderError {
    let kind = if error.kind == ErrorKind::Retryable {
        ErrorKind::Permanent
    } else {
        error.kind
    };
    ProviderError {
        kind,
        message: format!(
            "{}; `{id}` was created but is not fully set up, so the next apply replaces it",
            error.message
        ),
        ..error
    }
    .with_partial(id, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call::new("CreateVpc", "aws:ec2/vpc `main-vpc`")
    }

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            ("RequestLimitExceeded", ErrorKind::Retryable),
            ("Throttling", ErrorKind::Retryable),
            ("InvalidVpcID.NotFound", ErrorKind::NotFound),
            ("NoSuchEntity", ErrorKind::NotFound),
            ("ResourceNotFoundException", ErrorKind::NotFound),
            ("DependencyViolation", ErrorKind::Conflict),
            ("InvalidParameterValue", ErrorKind::InvalidInput),
            ("InvalidSubnet.Range", ErrorKind::InvalidInput),
            ("MalformedPolicyDocument", ErrorKind::InvalidInput),
            ("AuthFailure", ErrorKind::Unauthorized),
            ("UnauthorizedOperation", ErrorKind::Unauthorized),
            ("ExpiredToken", ErrorKind::Unauthorized),
            ("EntityAlreadyExists", ErrorKind::Conflict),
            ("AddressLimitExceeded", ErrorKind::Permanent),
            ("NoSuchHostedZone", ErrorKind::NotFound),
            ("NoSuchBucket", ErrorKind::NotFound),
            ("NoSuchTagSet", ErrorKind::Permanent),
            ("NoSuchPublicAccessBlockConfiguration", ErrorKind::Permanent),
            ("HostedZoneNotEmpty", ErrorKind::Conflict),
            ("BucketNotEmpty", ErrorKind::Conflict),
            ("BucketAlreadyExists", ErrorKind::Conflict),
            ("InvalidDomainName", ErrorKind::InvalidInput),
            ("InvalidBucketName", ErrorKind::InvalidInput),
            ("ValidationException", ErrorKind::InvalidInput),
        ];
        for (code, kind) in cases {
            let read = Call::new("DescribeVpcs", "vpc-1");
            assert_eq!(classify(code, "", Some(400), &read).0, kind, "{code}");
        }
    }

    #[test]
    fn dependency_violation_is_retried_only_for_deletes() {
        let delete = Call::deleting("DeleteSubnet", "subnet-1");
        assert_eq!(
            classify("DependencyViolation", "", Some(400), &delete).0,
            ErrorKind::Settling
        );
        assert_eq!(
            classify("DependencyViolation", "", Some(400), &call()).0,
            ErrorKind::Conflict
        );
        let delete_role = Call::deleting("DeleteRole", "role");
        assert_eq!(
            classify(
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
                Some(409),
                &delete_role
            )
            .0,
            ErrorKind::Settling
        );
    }

    #[test]
    fn young_roles_and_ids_are_settling_but_reads_stay_not_found() {
        let cases = [
            (
                "CreateCluster",
                "InvalidParameterException",
                "Role with arn: arn:aws:iam::123456789012:role/yolo-cluster could not be assumed because it does not exist or the trusted entity is not correct",
            ),
            (
                "CreateNodegroup",
                "InvalidParameterException",
                "The role arn:aws:iam::123456789012:role/nodes cannot be assumed",
            ),
            (
                "CreateFlowLogs",
                "InvalidParameter",
                "Unable to assume given IAM role (arn:aws:iam::123456789012:role/flow-logs).",
            ),
            (
                "CreateRole",
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"FEDERATED\":\"arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC\"",
            ),
            (
                "AttachInternetGateway",
                "InvalidVpcID.NotFound",
                "The vpc ID 'vpc-1' does not exist",
            ),
            (
                "AssociateRouteTable",
                "InvalidSubnetID.NotFound",
                "The subnet ID 'subnet-1' does not exist",
            ),
            (
                "CreateRoute",
                "NatGatewayNotFound",
                "The Nat Gateway nat-1 was not found",
            ),
            (
                "CreateTags",
                "InvalidRouteTableID.NotFound",
                "The routeTable ID 'rtb-1' does not exist",
            ),
            (
                "AttachRolePolicy",
                "NoSuchEntity",
                "The role with name r cannot be found.",
            ),
        ];
        for (operation, code, message) in cases {
            let call = Call::new(operation, "x");
            assert_eq!(
                classify(code, message, Some(400), &call).0,
                ErrorKind::Settling,
                "{operation}: {code}"
            );
        }
        // A malformed principal that is no young role stays the program's mistake.
        assert_eq!(
            classify(
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"nobody\"",
                Some(400),
                &Call::new("CreateRole", "r")
            )
            .0,
            ErrorKind::InvalidInput
        );
        // A read of the object itself, and a delete of it, stay NotFound.
        for operation in [
            "DescribeVpcs",
            "DeleteVpc",
            "DetachInternetGateway",
            "GetRole",
        ] {
            let call = Call::new(operation, "x");
            assert_eq!(
                classify("InvalidVpcID.NotFound", "", Some(400), &call).0,
                ErrorKind::NotFound,
                "{operation}"
            );
        }
        let describe = Call::new("DescribeCluster", "yolo");
        assert_eq!(
            classify(
                "ResourceNotFoundException",
                "No cluster found for name: yolo.",
                Some(404),
                &describe
            )
            .0,
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(
                "ClientException",
                "No cluster found for name: yolo.",
                Some(400),
                &describe
            )
            .0,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_and_only_5xx_leave_the_outcome_open() {
        for code in [
            "RequestLimitExceeded",
            "Throttling",
            "ThrottlingException",
            "TooManyRequestsException",
        ] {
            let (kind, _) = classify(code, "Rate exceeded", Some(400), &call());
            assert_eq!(kind, ErrorKind::Retryable, "{code}");
            let error = ProviderError::new(kind, "x").with_code(code);
            assert!(!outcome_unknown(&error), "{code}");
        }
        for (code, status) in [
            ("InternalError", 500),
            ("ServerException", 500),
            ("Weird", 503),
        ] {
            let (kind, _) = classify(code, "", Some(status), &call());
            assert_eq!(kind, ErrorKind::Retryable, "{code}");
            assert!(outcome_unknown(
                &ProviderError::new(kind, "x").with_code(code)
            ));
        }
    }

    #[test]
    fn unknown_codes_use_the_status() {
        assert_eq!(
            classify("Weird", "", Some(503), &call()).0,
            ErrorKind::Retryable
        );
        assert_eq!(
            classify("Weird", "", Some(400), &call()).0,
            ErrorKind::Permanent
        );
    }

    #[test]
    fn after_create_is_not_retried_and_keeps_the_resource() {
        let error = after_create(
            ProviderError::retryable("ModifyVpcAttribute failed"),
            "vpc-1",
            girder_core::Value::object(),
        );
        assert_eq!(error.kind, ErrorKind::Permanent);
        assert_eq!(error.partial.unwrap().id, "vpc-1");
    }
}
