//! The way to moto: plain HTTP/1.1 on loopback, bodies buffered.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::LayerError;
use crate::protocol::{AwsError, AwsRequest, Service};
use crate::reply::Reply;

/// Headers that belong to one hop, not to the request.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "expect",
    "upgrade",
];

/// A client for the upstream (moto).
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Upstream {
    /// A client for `http://HOST:PORT`.
    pub fn new(url: &str) -> Result<Upstream, LayerError> {
        let parsed = url::Url::parse(url).map_err(|e| LayerError::BadUpstream {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if parsed.scheme() != "http" || parsed.host_str().is_none() {
            return Err(LayerError::BadUpstream {
                url: url.to_owned(),
                reason: "only plain http:// upstreams (moto on loopback) are supported".into(),
            });
        }
        Ok(Upstream {
            base: url.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Forwards a request as it came.
    pub async fn forward(&self, request: &AwsRequest) -> Reply {
        let path_and_query = match &request.query {
            Some(q) => format!("{}?{q}", request.path),
            None => request.path.clone(),
        };
        self.send(
            request.method.clone(),
            &path_and_query,
            &request.headers,
            request.body.clone(),
            &request.service,
        )
        .await
    }

    /// Sends a request; a transport failure becomes the service's internal error.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
        service: &Service,
    ) -> Reply {
        match self.try_send(method, path_and_query, headers, body).await {
            Ok(reply) => reply,
            Err(reason) => {
                tracing::warn!(%reason, "upstream request failed");
                let mut error = AwsError::internal(service);
                error.message = format!("the AWS emulator behind the layer failed: {reason}");
                crate::protocol::render(service, &error)
            }
        }
    }

    async fn try_send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Reply, String> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path_and_query));
        for (name, value) in headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                builder = builder.header(name, value);
            }
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        let mut headers = parts.headers;
        for name in HOP_BY_HOP {
            headers.remove(name);
        }
        Ok(Reply {
            status: parts.status,
            headers,
            body,
        })
    }

    /// A signed-looking request of another operation for the same caller: moto checks no
    /// signatures, only the credential scope (the service) and the access key (the account).
    pub async fn call_as(
        &self,
        caller: &AwsRequest,
        service: &str,
        method: Method,
        path_and_query: &str,
        form: Option<&str>,
    ) -> Reply {
        let mut headers = HeaderMap::new();
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
            caller.access_key, caller.region
        );
        if let Ok(value) = HeaderValue::from_str(&authorization) {
            headers.insert(http::header::AUTHORIZATION, value);
        }
        if form.is_some() {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
            );
        }
        let body = Bytes::from(form.unwrap_or_default().to_owned());
        self.send(
            method,
            path_and_query,
            &headers,
            body,
            &Service::from_signing_name(service),
        )
        .await
    }

    /// The caller's ARN (`sts:GetCallerIdentity`), or `None` when moto does not answer.
    pub async fn caller_arn(&self, caller: &AwsRequest) -> Option<String> {
        let reply = self
            .call_as(
                caller,
                "sts",
                Method::POST,
                "/",
                Some("Action=GetCallerIdentity&Version=2011-06-15"),
            )
            .await;
        if reply.status != StatusCode::OK {
            return None;
        }
        let document = reply.body_xml()?;
        let mut arn = None;
        document.root.walk(&mut |e| {
            if e.local_name() == "Arn" {
                arn = Some(e.text());
            }
        });
        arn
    }
}
