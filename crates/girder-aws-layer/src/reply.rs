//! A buffered HTTP response: what moto answered or what the layer serves, before it is
//! rewritten and sent.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::xml::Document;

/// A whole response held in memory so behaviours can read and rewrite it.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// A REST-JSON answer (EKS).
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "x-amzn-RequestId",
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("request")),
        );
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            body: Bytes::from(value.to_string()),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body as JSON, when it is.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Replaces the body with JSON.
    pub fn set_json(&mut self, value: &serde_json::Value) {
        self.set_body(Bytes::from(value.to_string()));
    }

    /// The body as an XML document, when it is.
    pub fn body_xml(&self) -> Option<Document> {
        std::str::from_utf8(&self.body)
            .ok()
            .and_then(|text| Document::parse(text).ok())
    }

    /// Replaces the body with an XML document.
    pub fn set_xml(&mut self, document: &Document) {
        self.set_body(Bytes::from(document.render()));
    }

    fn set_body(&mut self, body: Bytes) {
        self.headers.remove(http::header::CONTENT_LENGTH);
        self.headers.remove(http::header::TRANSFER_ENCODING);
        // A checksum of the old body would no longer match.
        self.headers.remove("x-amz-crc32");
        self.body = body;
    }
}
