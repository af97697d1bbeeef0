//! moto as the STS (and IAM) of EKS token tests: started from `$GIRDER_MOTO_SERVER` on a free
//! loopback port, stopped on drop; AWS SDK clients for it; tokens presigned the way girder
//! makes them (`girder_aws::eks::token`), for a given STS endpoint.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A running moto server.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto and waits (up to 60 s) until it answers.
    pub fn start() -> Moto {
        let binary = std::env::var_os("GIRDER_MOTO_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
            });
        assert!(
            binary.is_file(),
            "moto_server is required by the EKS authentication tests and was not found at {}: run scripts/python-deps.sh or set GIRDER_MOTO_SERVER",
            binary.display()
        );
        let port = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited with {status} before answering");
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
                let mut answer = [0u8; 5];
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"HTTP/"
                {
                    return moto;
                }
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration for this server with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An IAM user with an access key: (user ARN, credentials).
pub async fn iam_user(config: &aws_config::SdkConfig, name: &str) -> (String, Credentials) {
    let iam = aws_sdk_iam::Client::new(config);
    let user = iam.create_user().user_name(name).send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    (
        user.user.unwrap().arn,
        Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "iam-user",
        ),
    )
}

/// An IAM role and temporary credentials of a session of it: (role ARN, credentials).
pub async fn assumed_role(
    config: &aws_config::SdkConfig,
    role: &str,
    session: &str,
) -> (String, Credentials) {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name(role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let sts = aws_sdk_sts::Client::new(config);
    let creds = sts
        .assume_role()
        .role_arn(&role.arn)
        .role_session_name(session)
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    (
        role.arn,
        Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            None,
            "assumed-role",
        ),
    )
}

/// An EKS token for `cluster`: the `GetCallerIdentity` URL of `endpoint` presigned with
/// aws-sigv4 over the `x-k8s-aws-id` header, valid 60 s, exactly as girder presigns it.
pub fn presigned_token(
    cluster: &str,
    endpoint: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> String {
    let base = format!("{endpoint}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(60));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        "GET",
        &base,
        [("x-k8s-aws-id", cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut url = url::Url::parse(&base).unwrap();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
    }
    format!("k8s-aws-v1.{}", URL_SAFE_NO_PAD.encode(url.as_str()))
}
