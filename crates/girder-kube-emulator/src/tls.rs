//! HTTPS: a certificate authority made when the emulator starts, a server certificate it
//! signs for `127.0.0.1` and `localhost`, and a listener that completes TLS handshakes
//! concurrently before handing connections to the HTTP server.
//!
//! Like an EKS cluster's endpoint, the server certificate is not trusted by any system store:
//! clients trust the cluster's CA, which a kubeconfig carries as
//! `certificate-authority-data` (see [`crate::KubeEmulator::ca_pem`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::error::EmulatorError;

/// The emulator's CA and the server certificate it issued.
#[derive(Debug)]
pub(crate) struct TlsMaterial {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

fn cert_error(e: rcgen::Error) -> EmulatorError {
    EmulatorError::Tls(format!("cannot generate the emulator's certificates: {e}"))
}

impl TlsMaterial {
    /// A fresh CA (`girder-kube-emulator-ca`) and a server certificate for `127.0.0.1`,
    /// `::1` and `localhost`, both ECDSA P-256.
    pub fn generate() -> Result<TlsMaterial, EmulatorError> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name = DistinguishedName::new();
        ca.distinguished_name
            .push(DnType::CommonName, "girder-kube-emulator-ca");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let ca_cert = ca.self_signed(&ca_key).map_err(cert_error)?;

        let mut server = CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "localhost".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default.svc".to_string(),
        ])
        .map_err(cert_error)?;
        server.distinguished_name = DistinguishedName::new();
        server
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().map_err(cert_error)?;
        let issuer = Issuer::from_params(&ca, &ca_key);
        let server_cert = server.signed_by(&server_key, &issuer).map_err(cert_error)?;
        Ok(TlsMaterial {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            server_chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
            server_key: server_key.serialize_der(),
        })
    }

    /// The rustls server configuration (aws-lc-rs provider, HTTP/1.1).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, EmulatorError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| EmulatorError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)
            .map_err(|e| EmulatorError::Tls(e.to_string()))?;
        // The server speaks HTTP/1.1 only; offering h2 would make Go clients pick it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A listener yielding TLS connections whose handshakes are done. Handshakes run
/// concurrently, so a slow or broken client does not hold up the others.
pub(crate) struct TlsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp` until `shutdown` turns true.
    pub fn new(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        mut shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (sender, connections) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => break,
                    accepted = tcp.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(%e, "accept failed");
                        // Out of file descriptors and the like: give the system a moment.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { connections, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The acceptor stopped (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_builds_a_server_config() {
        let material = TlsMaterial::generate().unwrap();
        assert!(material.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!material.ca_der.is_empty());
        assert_eq!(material.server_chain.len(), 2);
        let config = material.server_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
