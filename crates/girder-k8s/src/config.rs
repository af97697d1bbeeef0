//! Provider configuration: which cluster a provider instance talks to and how it
//! authenticates, parsed from a provider node's inputs (or the environment for the default
//! provider) without touching the network.
//!
//! | configuration | connection |
//! |---|---|
//! | `null` (the default provider) or `{"context": ..}` | the kubeconfig from `$KUBECONFIG` or `~/.kube/config`, its current (or the named) context |
//! | `{"kubeconfig": PATH, "context": ..}` | that kubeconfig file |
//! | `{"server": URL, "certificate_authority_data": BASE64_PEM, "auth": {"kind": ..}}` | a cluster of the program; bearer tokens come from the [`TokenSource`] registered for `auth.kind` |
//! | `{"server": URL, "certificate_authority_data": .., "token": ..}` | a cluster with a static bearer token |
//!
//! If `GIRDER_KUBECONFIG` is set (the CLI's `--kubeconfig PATH` sets it), **every** provider
//! instance uses that kubeconfig's current context instead — also providers derived from a
//! cluster of the program — so a whole program can be pointed at a local emulator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use girder_core::Value;
use girder_engine::provider::ProviderError;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::K8sError;

/// The environment variable that redirects every Kubernetes provider to one kubeconfig.
pub const KUBECONFIG_OVERRIDE_ENV: &str = "GIRDER_KUBECONFIG";

/// How long a token from a [`TokenSource`] is reused. EKS tokens are valid for 15 minutes;
/// renewing after 10 leaves room for clock skew and long calls.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// Supplies bearer tokens for clusters whose provider node names an `auth.kind`
/// (`{"kind": "aws-eks", "cluster": .., "region": ..}`). The facade registers the AWS
/// implementation for `aws-eks`; tests register their own.
///
/// ```
/// use std::sync::Arc;
/// use girder_engine::provider::ProviderError;
/// use girder_k8s::{K8sPackage, TokenSource};
///
/// struct Fixed;
/// #[async_trait::async_trait]
/// impl TokenSource for Fixed {
///     async fn token(&self, _auth: &serde_json::Value) -> Result<String, ProviderError> {
///         Ok("token-123".into())
///     }
/// }
/// let package = K8sPackage::new().with_token_source("static", Arc::new(Fixed));
/// # let _ = package;
/// ```
#[async_trait]
pub trait TokenSource: Send + Sync + 'static {
    /// A bearer token for the cluster described by `auth` (the provider node's `auth` input).
    async fn token(&self, auth: &serde_json::Value) -> Result<String, ProviderError>;
}

/// Where a provider instance connects, decided from its configuration alone.
#[derive(Clone, Debug, PartialEq)]
pub enum Connection {
    /// The kubeconfig from `$KUBECONFIG` / `~/.kube/config`.
    DefaultKubeconfig {
        /// The context to use instead of the current one.
        context: Option<String>,
    },
    /// A kubeconfig file.
    KubeconfigFile {
        /// Its path.
        path: PathBuf,
        /// The context to use instead of the current one.
        context: Option<String>,
    },
    /// A cluster described by the program (for example an EKS cluster it creates).
    Cluster {
        /// The API server URL.
        server: String,
        /// Base64-encoded PEM CA certificates.
        certificate_authority_data: Option<String>,
        /// How to authenticate.
        auth: ClusterAuth,
    },
}

/// How a [`Connection::Cluster`] authenticates.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterAuth {
    /// No credentials (local emulators).
    None,
    /// A static bearer token.
    Token(String),
    /// Tokens from the [`TokenSource`] registered for `kind`.
    Source {
        /// The `auth.kind`.
        kind: String,
        /// The whole `auth` object, passed to the source.
        spec: serde_json::Value,
    },
}

fn string_field(config: &Value, key: &str) -> Result<Option<String>, K8sError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| {
            K8sError::Config(format!(
                "`{key}` must be a string, not {}",
                value.kind_name()
            ))
        }),
    }
}

impl Connection {
    /// Decides the connection for `config`, honouring `override_path` (the value of
    /// `GIRDER_KUBECONFIG`) first.
    pub fn resolve(config: &Value, override_path: Option<&Path>) -> Result<Connection, K8sError> {
        if let Some(path) = override_path {
            tracing::info!(
                kubeconfig = %path.display(),
                "{KUBECONFIG_OVERRIDE_ENV} redirects this Kubernetes provider"
            );
            return Ok(Connection::KubeconfigFile {
                path: path.to_owned(),
                context: None,
            });
        }
        let config = config.reveal();
        if let Some(map) = config.as_object() {
            let known = [
                "kubeconfig",
                "context",
                "server",
                "certificate_authority_data",
                "auth",
                "token",
            ];
            if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(K8sError::Config(format!(
                    "unknown setting `{unknown}`; a Kubernetes provider takes `kubeconfig` and `context`, or `server`, `certificate_authority_data` and `auth` or `token`"
                )));
            }
        } else if !matches!(config, Value::Null) {
            return Err(K8sError::Config(format!(
                "the configuration must be an object, not {}",
                config.kind_name()
            )));
        }
        let context = string_field(&config, "context")?;
        if let Some(server) = string_field(&config, "server")? {
            if server.is_empty() {
                return Err(K8sError::Config(
                    "`server` is empty: the cluster's endpoint is not known".into(),
                ));
            }
            let auth = match (config.get("auth"), string_field(&config, "token")?) {
                (Some(auth), _) if !matches!(auth, Value::Null) => {
                    let spec = auth
                        .to_revealed_json()
                        .map_err(|e| K8sError::Config(format!("`auth` is not known yet: {e}")))?;
                    let kind = spec
                        .get("kind")
                        .and_then(serde_json::Value::as_str)
                        .ok_or_else(|| {
                            K8sError::Config(
                                "`auth` needs a `kind`, such as {\"kind\": \"aws-eks\", \"cluster\": .., \"region\": ..}".into(),
                            )
                        })?
                        .to_owned();
                    ClusterAuth::Source { kind, spec }
                }
                (_, Some(token)) => ClusterAuth::Token(token),
                _ => ClusterAuth::None,
            };
            return Ok(Connection::Cluster {
                server,
                certificate_authority_data: string_field(&config, "certificate_authority_data")?,
                auth,
            });
        }
        Ok(match string_field(&config, "kubeconfig")? {
            Some(path) => Connection::KubeconfigFile {
                path: PathBuf::from(path),
                context,
            },
            None => Connection::DefaultKubeconfig { context },
        })
    }
}

/// A kubeconfig with one cluster, user and context for a cluster of the program.
fn cluster_kubeconfig(
    server: &str,
    ca: Option<&str>,
    token: Option<&str>,
) -> Result<Kubeconfig, K8sError> {
    let mut cluster = serde_json::Map::new();
    cluster.insert("server".into(), server.into());
    if let Some(ca) = ca.filter(|c| !c.is_empty()) {
        cluster.insert("certificate-authority-data".into(), ca.into());
    }
    let mut user = serde_json::Map::new();
    if let Some(token) = token {
        user.insert("token".into(), token.into());
    }
    let document = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "girder", "cluster": cluster}],
        "users": [{"name": "girder", "user": user}],
        "contexts": [{"name": "girder", "context": {"cluster": "girder", "user": "girder"}}],
        "current-context": "girder",
    });
    serde_json::from_value(document).map_err(|e| K8sError::Kubeconfig {
        source_desc: format!("for {server}"),
        message: e.to_string(),
    })
}

async fn config_from(
    kubeconfig: Kubeconfig,
    context: Option<String>,
    source_desc: &str,
) -> Result<kube::Config, K8sError> {
    let options = KubeConfigOptions {
        context,
        ..KubeConfigOptions::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| K8sError::Kubeconfig {
            source_desc: source_desc.to_owned(),
            message: format!("{e} (check the context name and that the file is a kubeconfig)"),
        })
}

/// A client for `config`. Building it can run a kubeconfig's exec credential plugin (which
/// may reach the network), so it happens on the first API call, never when configuring.
fn client_for(config: kube::Config, source_desc: &str) -> Result<kube::Client, K8sError> {
    kube::Client::try_from(config).map_err(|e| K8sError::Kubeconfig {
        source_desc: source_desc.to_owned(),
        message: format!("{e} (the kubeconfig's credentials could not be obtained)"),
    })
}

/// Builds the kube clients of one provider instance. Clients with static credentials are
/// built once; clients authenticated by a [`TokenSource`] are rebuilt when their token ages,
/// and the first token is only asked for on the first API call (configuring stays offline).
pub(crate) enum Clients {
    /// A client with fixed credentials, built on first use.
    Ready {
        config: Box<kube::Config>,
        source_desc: String,
        client: tokio::sync::OnceCell<kube::Client>,
    },
    /// A client whose bearer token comes from a source.
    Token {
        server: String,
        ca: Option<String>,
        source: Arc<dyn TokenSource>,
        auth: serde_json::Value,
        cache: tokio::sync::Mutex<TokenCache>,
    },
}

/// The client built with the current token of a [`Clients::Token`], and which token that is.
#[derive(Default)]
pub(crate) struct TokenCache {
    /// The client and when its token was fetched.
    client: Option<(kube::Client, Instant)>,
    /// Bumped on every fetch, so a call refused with an old token does not throw away a
    /// newer one another call has already fetched.
    generation: u64,
}

/// A client and the token generation it authenticates with (0 for fixed credentials).
pub(crate) struct Authenticated {
    /// The client.
    pub client: kube::Client,
    /// Which token it carries; pass it to [`Clients::refused`].
    pub generation: u64,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clients::Ready { source_desc, .. } => write!(f, "Clients::Ready({source_desc})"),
            Clients::Token { server, .. } => write!(f, "Clients::Token({server})"),
        }
    }
}

impl Clients {
    /// Prepares the clients for a connection (reads kubeconfig files; no network).
    pub(crate) async fn new(
        connection: Connection,
        sources: &BTreeMap<String, Arc<dyn TokenSource>>,
    ) -> Result<Clients, K8sError> {
        match connection {
            Connection::DefaultKubeconfig { context } => {
                let kubeconfig = Kubeconfig::read().map_err(|e| K8sError::Kubeconfig {
                    source_desc: "from $KUBECONFIG or ~/.kube/config".into(),
                    message: format!(
                        "{e} (set KUBECONFIG, create ~/.kube/config, or pass --kubeconfig PATH)"
                    ),
                })?;
                let desc = "from $KUBECONFIG or ~/.kube/config";
                Ok(Clients::ready(
                    config_from(kubeconfig, context, desc).await?,
                    desc,
                ))
            }
            Connection::KubeconfigFile { path, context } => {
                let desc = format!("`{}`", path.display());
                let kubeconfig =
                    Kubeconfig::read_from(&path).map_err(|e| K8sError::Kubeconfig {
                        source_desc: desc.clone(),
                        message: e.to_string(),
                    })?;
                Ok(Clients::ready(
                    config_from(kubeconfig, context, &desc).await?,
                    &desc,
                ))
            }
            Connection::Cluster {
                server,
                certificate_authority_data,
                auth,
            } => match auth {
                ClusterAuth::None | ClusterAuth::Token(_) => {
                    let token = match &auth {
                        ClusterAuth::Token(token) => Some(token.as_str()),
                        _ => None,
                    };
                    let kubeconfig =
                        cluster_kubeconfig(&server, certificate_authority_data.as_deref(), token)?;
                    let desc = format!("for {server}");
                    Ok(Clients::ready(
                        config_from(kubeconfig, None, &desc).await?,
                        &desc,
                    ))
                }
                ClusterAuth::Source { kind, spec } => {
                    let source =
                        sources
                            .get(&kind)
                            .cloned()
                            .ok_or_else(|| K8sError::NoTokenSource {
                                kind: kind.clone(),
                                known: if sources.is_empty() {
                                    "none".into()
                                } else {
                                    sources.keys().cloned().collect::<Vec<_>>().join(", ")
                                },
                            })?;
                    // Validate the address and CA now, so a bad endpoint fails at configure
                    // time rather than at the first call.
                    cluster_kubeconfig(&server, certificate_authority_data.as_deref(), None)?;
                    Ok(Clients::Token {
                        server,
                        ca: certificate_authority_data,
                        source,
                        auth: spec,
                        cache: tokio::sync::Mutex::new(TokenCache::default()),
                    })
                }
            },
        }
    }

    fn ready(config: kube::Config, source_desc: &str) -> Clients {
        Clients::Ready {
            config: Box::new(config),
            source_desc: source_desc.to_owned(),
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// A client with valid credentials.
    pub(crate) async fn get(&self) -> Result<Authenticated, ProviderError> {
        match self {
            Clients::Ready {
                config,
                source_desc,
                client,
            } => Ok(Authenticated {
                client: client
                    .get_or_try_init(|| async { client_for(config.as_ref().clone(), source_desc) })
                    .await?
                    .clone(),
                generation: 0,
            }),
            Clients::Token {
                server,
                ca,
                source,
                auth,
                cache,
            } => {
                let mut cached = cache.lock().await;
                if let Some((client, at)) = cached.client.as_ref()
                    && at.elapsed() < TOKEN_LIFETIME
                {
                    return Ok(Authenticated {
                        client: client.clone(),
                        generation: cached.generation,
                    });
                }
                tracing::debug!(%server, "fetching a bearer token for the cluster");
                let token = source.token(auth).await?;
                let kubeconfig = cluster_kubeconfig(server, ca.as_deref(), Some(&token))?;
                let desc = format!("for {server}");
                let client = client_for(config_from(kubeconfig, None, &desc).await?, &desc)?;
                cached.generation += 1;
                cached.client = Some((client.clone(), Instant::now()));
                Ok(Authenticated {
                    client,
                    generation: cached.generation,
                })
            }
        }
    }

    /// The API server refused the token of `generation` (401): forget it, so the next
    /// [`Clients::get`] fetches a new one. Returns whether a retry can help — only tokens
    /// from a source can be renewed; a kubeconfig's or a static token stays what it is.
    pub(crate) async fn refused(&self, generation: u64) -> bool {
        match self {
            Clients::Ready { .. } => false,
            Clients::Token { cache, server, .. } => {
                let mut cached = cache.lock().await;
                // Another call may already have replaced the refused token.
                if cached.generation == generation {
                    tracing::info!(%server, "the API server refused the bearer token (401); fetching a new one");
                    cached.client = None;
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    #[test]
    fn resolves_every_configuration_form() {
        assert_eq!(
            Connection::resolve(&Value::Null, None).unwrap(),
            Connection::DefaultKubeconfig { context: None }
        );
        assert_eq!(
            Connection::resolve(
                &object! { "kubeconfig" => "/tmp/kc", "context" => "dev" },
                None
            )
            .unwrap(),
            Connection::KubeconfigFile {
                path: "/tmp/kc".into(),
                context: Some("dev".into())
            }
        );
        let eks = object! {
            "server" => "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
            "certificate_authority_data" => "LS0t",
            "auth" => object! { "kind" => "aws-eks", "cluster" => "yolo", "region" => "eu-west-1" },
        };
        match Connection::resolve(&eks, None).unwrap() {
            Connection::Cluster {
                auth: ClusterAuth::Source { kind, spec },
                ..
            } => {
                assert_eq!(kind, "aws-eks");
                assert_eq!(spec["cluster"], "yolo");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn override_wins_over_every_configuration() {
        let eks = object! { "server" => "https://x", "auth" => object! { "kind" => "aws-eks" } };
        assert_eq!(
            Connection::resolve(&eks, Some(Path::new("/tmp/emulator.yaml"))).unwrap(),
            Connection::KubeconfigFile {
                path: "/tmp/emulator.yaml".into(),
                context: None
            }
        );
    }

    #[test]
    fn rejects_bad_configurations() {
        let error = Connection::resolve(&object! { "serevr" => "https://x" }, None).unwrap_err();
        assert!(
            error.to_string().contains("unknown setting `serevr`"),
            "{error}"
        );
        let error = Connection::resolve(
            &object! { "server" => "https://x", "auth" => object! { "cluster" => "c" } },
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("needs a `kind`"), "{error}");
    }

    #[tokio::test]
    async fn token_auth_without_a_source_names_the_fix() {
        let connection = Connection::Cluster {
            server: "https://example.invalid".into(),
            certificate_authority_data: None,
            auth: ClusterAuth::Source {
                kind: "aws-eks".into(),
                spec: serde_json::json!({"kind": "aws-eks"}),
            },
        };
        let error = Clients::new(connection, &BTreeMap::new())
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("with_token_source(\"aws-eks\""),
            "{error}"
        );
    }

    #[tokio::test]
    async fn configuring_stays_offline_and_credentials_come_on_first_use() {
        // An exec credential plugin (like `aws eks get-token`) must not run when the
        // provider is configured, only when it first calls the API.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig.yaml");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: /nonexistent/credential-plugin}}}]\n",
        )
        .unwrap();
        let connection = Connection::KubeconfigFile {
            path: path.clone(),
            context: None,
        };
        let clients = Clients::new(connection, &BTreeMap::new()).await.unwrap();
        let Err(error) = clients.get().await else {
            panic!("the credential plugin does not exist, so there is no client");
        };
        assert!(
            error.message.contains("credentials could not be obtained"),
            "{error}"
        );
    }
}
