//! The layer's own errors (starting, configuring); AWS errors it answers with are
//! [`crate::AwsError`].

/// Why the layer could not start or be configured.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A behaviour name that does not exist.
    #[error(
        "unknown behaviour `{name}`; use one of lifecycle, consistency, propagation, throttling, draining, lost_responses, idempotency (or `all`)"
    )]
    UnknownBehaviour {
        /// The name given.
        name: String,
    },
    /// A behaviours document or value that does not fit.
    #[error("bad behaviour settings: {reason}")]
    BadBehaviours {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The upstream URL is not an `http://host:port` URL.
    #[error("the upstream `{url}` is not an http://HOST:PORT URL: {reason}")]
    BadUpstream {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// Binding 127.0.0.1 or starting the server thread failed.
    #[error("the AWS behaviour layer could not start: {0}")]
    Start(#[source] std::io::Error),
}
