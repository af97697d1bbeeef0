//! Reviews of one's own access, what `kubectl auth whoami` and `kubectl auth can-i` send:
//! `SelfSubjectReview` (authentication.k8s.io/v1) answers with the caller's user, and
//! `SelfSubjectAccessReview` (authorization.k8s.io/v1) with whether the caller may do
//! something, decided by the same authorizer as real requests. Neither is stored.

use serde_json::{Value, json};

use crate::auth::{Principal, UserInfo};
use crate::authz::{self, Attributes};
use crate::error::ApiError;
use crate::store::State;

/// The caller as a review reports it; without authentication every caller is the admin.
fn caller(principal: Option<&Principal>) -> UserInfo {
    principal.map(|p| p.user.clone()).unwrap_or_else(|| {
        let mut admin = UserInfo::cluster_admin();
        admin.groups.push("system:authenticated".into());
        admin
    })
}

fn user_json(user: &UserInfo) -> Value {
    let mut info = json!({"username": user.username, "groups": user.groups});
    if !user.uid.is_empty() {
        info["uid"] = Value::from(user.uid.clone());
    }
    if !user.extra.is_empty() {
        info["extra"] = json!(user.extra);
    }
    info
}

/// `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`.
pub(crate) fn self_subject_review(principal: Option<&Principal>) -> Value {
    json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "status": {"userInfo": user_json(&caller(principal))}
    })
}

/// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`.
pub(crate) fn self_subject_access_review(
    state: &State,
    principal: Option<&Principal>,
    review: &Value,
) -> Result<Value, ApiError> {
    let text = |pointer: &str| {
        review
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let attrs = if review.pointer("/spec/resourceAttributes").is_some() {
        Attributes {
            verb: text("/spec/resourceAttributes/verb"),
            resource_request: true,
            api_group: text("/spec/resourceAttributes/group"),
            resource: text("/spec/resourceAttributes/resource"),
            subresource: text("/spec/resourceAttributes/subresource"),
            namespace: text("/spec/resourceAttributes/namespace"),
            name: text("/spec/resourceAttributes/name"),
            path: String::new(),
        }
    } else if review.pointer("/spec/nonResourceAttributes").is_some() {
        Attributes {
            verb: text("/spec/nonResourceAttributes/verb"),
            path: text("/spec/nonResourceAttributes/path"),
            ..Attributes::default()
        }
    } else {
        return Err(ApiError::invalid(
            "authorization.k8s.io",
            "SelfSubjectAccessReview",
            "",
            vec![crate::error::cause(
                "FieldValueRequired",
                "spec.resourceAttributes",
                "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )],
        ));
    };
    let allowed = match principal {
        None => true,
        Some(p) => authz::authorize(state, p, &attrs).is_ok(),
    };
    let mut answer = review.clone();
    if let Some(map) = answer.as_object_mut() {
        map.insert("kind".into(), Value::from("SelfSubjectAccessReview"));
        map.insert("apiVersion".into(), Value::from("authorization.k8s.io/v1"));
        map.insert("status".into(), json!({ "allowed": allowed }));
    }
    Ok(answer)
}

/// Reads a `SelfSubjectAccessReview` sent as Kubernetes protobuf (what kubectl's typed
/// clients send): the `k8s\0` envelope's `runtime.Unknown`, then the review's
/// `spec.resourceAttributes` / `spec.nonResourceAttributes`, as the JSON the reviewer reads.
pub(crate) fn access_review_from_protobuf(body: &[u8]) -> Result<Value, ApiError> {
    let bad =
        || ApiError::bad_request("the SelfSubjectAccessReview is not valid Kubernetes protobuf");
    let unknown = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    let raw = fields(unknown)
        .map_err(|_| bad())?
        .into_iter()
        .find(|(number, _)| *number == 2)
        .map(|(_, bytes)| bytes)
        .ok_or_else(bad)?;
    let spec = fields(raw)
        .map_err(|_| bad())?
        .into_iter()
        .find(|(number, _)| *number == 2)
        .map(|(_, bytes)| bytes)
        .unwrap_or_default();
    let strings = |message: &[u8], names: &[&str]| -> Result<Value, ApiError> {
        let mut object = serde_json::Map::new();
        for (number, bytes) in fields(message).map_err(|_| bad())? {
            if let Some(name) = names.get(number as usize - 1)
                && let Ok(text) = std::str::from_utf8(bytes)
            {
                object.insert(name.to_string(), Value::from(text));
            }
        }
        Ok(Value::Object(object))
    };
    let mut review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}});
    for (number, bytes) in fields(spec).map_err(|_| bad())? {
        match number {
            1 => {
                review["spec"]["resourceAttributes"] = strings(
                    bytes,
                    &[
                        "namespace",
                        "verb",
                        "group",
                        "version",
                        "resource",
                        "subresource",
                        "name",
                    ],
                )?
            }
            2 => review["spec"]["nonResourceAttributes"] = strings(bytes, &["path", "verb"])?,
            _ => {}
        }
    }
    Ok(review)
}

/// The length-delimited fields of a protobuf message (other wire types are skipped).
fn fields(mut message: &[u8]) -> Result<Vec<(u64, &[u8])>, ()> {
    fn varint(input: &mut &[u8]) -> Result<u64, ()> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = input.split_first().ok_or(())?;
            *input = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(())
    }
    let mut out = Vec::new();
    while !message.is_empty() {
        let key = varint(&mut message)?;
        let (number, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                varint(&mut message)?;
            }
            1 => message = message.get(8..).ok_or(())?,
            2 => {
                let len = usize::try_from(varint(&mut message)?).map_err(|_| ())?;
                let (bytes, rest) = (message.get(..len).ok_or(())?, &message[len..]);
                out.push((number, bytes));
                message = rest;
            }
            5 => message = message.get(4..).ok_or(())?,
            _ => return Err(()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn protobuf_reviews_decode() {
        let attributes = [
            field(1, b"apps"),
            field(2, b"create"),
            field(3, b"apps"),
            field(5, b"deployments"),
        ]
        .concat();
        let spec = field(1, &attributes);
        let review = [field(1, b""), field(2, &spec)].concat();
        let unknown = [field(1, b""), field(2, &review)].concat();
        let body = [b"k8s\0".as_slice(), &unknown].concat();
        let json = access_review_from_protobuf(&body).unwrap();
        assert_eq!(
            json["spec"]["resourceAttributes"],
            json!({"namespace": "apps", "verb": "create", "group": "apps", "resource": "deployments"})
        );
        assert!(access_review_from_protobuf(b"k8s\0\x12\x09").is_err());
        assert!(access_review_from_protobuf(b"{}").is_err());
    }
}
