//! IAM identities as the authenticator sees them: an STS `assumed-role` ARN stands for its
//! IAM role (`arn.Canonicalize` in aws-iam-authenticator).

/// Partitions whose identities the authenticator accepts.
const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The pieces of an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub(crate) fn parse(arn: &str) -> Result<Arn<'_>, String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(format!("arn '{arn}' is invalid"));
    };
    Ok(Arn {
        partition,
        service,
        account,
        resource,
    })
}

/// The canonical ARN of a caller: IAM users, roles and the account root stay as they are,
/// federated users too, and `arn:P:sts::ACCOUNT:assumed-role/ROLE/SESSION` becomes
/// `arn:P:iam::ACCOUNT:role/ROLE`.
pub(crate) fn canonicalize(arn: &str) -> Result<String, String> {
    let parsed = parse(arn)?;
    if !PARTITIONS.contains(&parsed.partition) {
        return Err(format!("arn '{arn}' does not have a recognized partition"));
    }
    let parts: Vec<&str> = parsed.resource.split('/').collect();
    match (parsed.service, parts[0]) {
        ("sts", "federated-user") => Ok(arn.to_string()),
        ("sts", "assumed-role") => {
            if parts.len() < 3 {
                return Err(format!("assumed-role arn '{arn}' does not have a role"));
            }
            let role = parts[1..parts.len() - 1].join("/");
            Ok(format!(
                "arn:{}:iam::{}:role/{role}",
                parsed.partition, parsed.account
            ))
        }
        ("sts", _) => Err(format!(
            "unrecognized resource {} for service sts",
            parsed.resource
        )),
        ("iam", "role" | "user" | "root") => Ok(arn.to_string()),
        ("iam", _) => Err(format!(
            "unrecognized resource {} for service iam",
            parsed.resource
        )),
        (service, _) => Err(format!(
            "service {service} in arn {arn} is not a valid service for identities"
        )),
    }
}

/// The session name of an assumed-role ARN (its last path element).
pub(crate) fn session_name(arn: &str) -> Option<&str> {
    let parsed = parse(arn).ok()?;
    let mut parts = parsed.resource.split('/');
    (parts.next() == Some("assumed-role") && parsed.resource.matches('/').count() >= 2)
        .then(|| parsed.resource.rsplit('/').next())
        .flatten()
}

/// A role ARN without its path (`role/a/b/R` → `role/R`): how assumed-role callers appear.
pub(crate) fn without_role_path(arn: &str) -> String {
    match parse(arn) {
        Ok(p) if p.service == "iam" && p.resource.starts_with("role/") => {
            let name = p.resource.rsplit('/').next().unwrap_or_default();
            format!("arn:{}:iam::{}:role/{name}", p.partition, p.account)
        }
        _ => arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_roles_become_their_roles() {
        assert_eq!(
            canonicalize("arn:aws:sts::123456789012:assumed-role/Accounting-Role/Mary").unwrap(),
            "arn:aws:iam::123456789012:role/Accounting-Role"
        );
        assert_eq!(
            canonicalize("arn:aws-cn:sts::123456789012:assumed-role/a/b/session").unwrap(),
            "arn:aws-cn:iam::123456789012:role/a/b"
        );
        for kept in [
            "arn:aws:iam::123456789012:user/Bob",
            "arn:aws:iam::123456789012:role/S3Access",
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/Bob",
        ] {
            assert_eq!(canonicalize(kept).unwrap(), kept);
        }
        for bad in [
            "arn:aws:sts::123456789012:assumed-role/OnlyRole",
            "arn:aws:s3:::bucket",
            "arn:nope:iam::123456789012:user/Bob",
            "arn:aws:iam::123456789012:group/devs",
            "not-an-arn",
        ] {
            assert!(canonicalize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_names_and_role_paths() {
        assert_eq!(
            session_name("arn:aws:sts::1:assumed-role/R/alice@example.com"),
            Some("alice@example.com")
        );
        assert_eq!(session_name("arn:aws:iam::1:user/Bob"), None);
        assert_eq!(
            without_role_path("arn:aws:iam::1:role/team/ci/Deployer"),
            "arn:aws:iam::1:role/Deployer"
        );
        assert_eq!(
            without_role_path("arn:aws:iam::1:user/a/Bob"),
            "arn:aws:iam::1:user/a/Bob"
        );
    }
}
