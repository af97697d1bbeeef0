//! A kubeconfig for an EKS cluster, authenticating like `aws eks update-kubeconfig` does:
//! an exec plugin running `aws eks get-token`.

use serde::Serialize;

use crate::error::AwsError;

/// What a kubeconfig needs to know about a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeconfigCluster {
    /// The EKS cluster name.
    pub name: String,
    /// The API server URL.
    pub endpoint: String,
    /// The CA certificate, base64 PEM.
    pub certificate_authority_data: String,
    /// The region (passed to `aws eks get-token`).
    pub region: Option<String>,
    /// The AWS profile to use (else the environment's).
    pub profile: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Config<'a> {
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<Named<ClusterEntry<'a>>>,
    contexts: Vec<Named<ContextEntry<'a>>>,
    current_context: &'a str,
    users: Vec<Named<UserEntry>>,
}

#[derive(Serialize)]
struct Named<T> {
    name: String,
    #[serde(flatten)]
    inner: T,
}

#[derive(Serialize)]
struct ClusterEntry<'a> {
    cluster: ClusterFields<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterFields<'a> {
    server: &'a str,
    certificate_authority_data: &'a str,
}

#[derive(Serialize)]
struct ContextEntry<'a> {
    context: ContextFields<'a>,
}

#[derive(Serialize)]
struct ContextFields<'a> {
    cluster: &'a str,
    user: &'a str,
}

#[derive(Serialize)]
struct UserEntry {
    user: UserFields,
}

#[derive(Serialize)]
struct UserFields {
    exec: Exec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Exec {
    api_version: &'static str,
    command: &'static str,
    args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<EnvVar>,
    interactive_mode: &'static str,
}

#[derive(Serialize)]
struct EnvVar {
    name: &'static str,
    value: String,
}

/// The kubeconfig YAML for a cluster.
///
/// ```
/// use girder_aws::eks::kubeconfig::{KubeconfigCluster, kubeconfig_yaml};
/// let yaml = kubeconfig_yaml(&KubeconfigCluster {
///     name: "prod".into(),
///     endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com".into(),
///     certificate_authority_data: "LS0t".into(),
///     region: Some("eu-west-1".into()),
///     profile: None,
/// })
/// .unwrap();
/// assert!(yaml.contains("command: aws"));
/// assert!(yaml.contains("current-context: prod"));
/// ```
pub fn kubeconfig_yaml(cluster: &KubeconfigCluster) -> Result<String, AwsError> {
    let mut args = vec![
        "eks".to_owned(),
        "get-token".to_owned(),
        "--cluster-name".to_owned(),
        cluster.name.clone(),
        "--output".to_owned(),
        "json".to_owned(),
    ];
    if let Some(region) = &cluster.region {
        args.extend(["--region".to_owned(), region.clone()]);
    }
    let env = cluster
        .profile
        .iter()
        .map(|p| EnvVar {
            name: "AWS_PROFILE",
            value: p.clone(),
        })
        .collect();
    let config = Config {
        api_version: "v1",
        kind: "Config",
        clusters: vec![Named {
            name: cluster.name.clone(),
            inner: ClusterEntry {
                cluster: ClusterFields {
                    server: &cluster.endpoint,
                    certificate_authority_data: &cluster.certificate_authority_data,
                },
            },
        }],
        contexts: vec![Named {
            name: cluster.name.clone(),
            inner: ContextEntry {
                context: ContextFields {
                    cluster: &cluster.name,
                    user: &cluster.name,
                },
            },
        }],
        current_context: &cluster.name,
        users: vec![Named {
            name: cluster.name.clone(),
            inner: UserEntry {
                user: UserFields {
                    exec: Exec {
                        api_version: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args,
                        env,
                        interactive_mode: "IfAvailable",
                    },
                },
            },
        }],
    };
    serde_yaml_ng::to_string(&config).map_err(|e| AwsError::Kubeconfig {
        cluster: cluster.name.clone(),
        message: e.to_string(),
    })
}

/// Writes the kubeconfig to `path` (creating parent directories), readable by the owner only
/// where the platform allows.
pub fn write_kubeconfig(
    cluster: &KubeconfigCluster,
    path: &std::path::Path,
) -> Result<(), AwsError> {
    let yaml = kubeconfig_yaml(cluster)?;
    let fail = |e: std::io::Error| AwsError::Kubeconfig {
        cluster: cluster.name.clone(),
        message: format!("{}: {e}", path.display()),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, yaml).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_is_valid_yaml_with_an_exec_plugin() {
        let yaml = kubeconfig_yaml(&KubeconfigCluster {
            name: "yolo".into(),
            endpoint: "https://example.eks.amazonaws.com".into(),
            certificate_authority_data: "Q0E=".into(),
            region: Some("us-east-1".into()),
            profile: Some("ops".into()),
        })
        .unwrap();
        let parsed: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(
            parsed["clusters"][0]["cluster"]["server"],
            "https://example.eks.amazonaws.com"
        );
        assert_eq!(
            parsed["clusters"][0]["cluster"]["certificate-authority-data"],
            "Q0E="
        );
        let exec = &parsed["users"][0]["user"]["exec"];
        assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(exec["args"][3], "yolo");
        assert_eq!(exec["args"][7], "us-east-1");
        assert_eq!(exec["env"][0]["value"], "ops");
        assert_eq!(parsed["current-context"], "yolo");
    }
}
