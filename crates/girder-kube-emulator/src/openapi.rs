//! A minimal OpenAPI v3 document set (`/openapi/v3` and one document per group/version).
//!
//! It exists for kubectl: `kubectl apply` / `create` with the default `--validate=strict`
//! look up the PATCH operation of each kind in OpenAPI v3 to see whether the server supports
//! the `fieldValidation` query parameter; if the document cannot be fetched they fall back to
//! OpenAPI v2 and fail with "failed to download openapi". Each document therefore lists, per
//! kind, the object paths with a PATCH operation carrying `x-kubernetes-group-version-kind`
//! and the `dryRun`, `fieldManager`, `fieldValidation` and `force` parameters, plus a schema
//! per kind that only says "an object of this kind" (no field-level schema). The PATCH
//! operations advertise no request body, so kubectl computes strategic merge patches from its
//! compiled-in types, as it does for servers without OpenAPI. `/openapi/v2` is not served
//! (404), which kubectl tolerates.

use serde_json::{Map, Value, json};

use crate::resources::{Registry, ResourceType};

/// The `/openapi/v3` discovery document: one entry per served group/version.
pub(crate) fn root(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions(registry) {
        let key = gv_path(&group, &version);
        if let Some(doc) = group_version(registry, &group, &version) {
            let hash = crate::object::stable_hash(&doc);
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
            );
        }
    }
    json!({"paths": paths})
}

fn group_versions(registry: &Registry) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "v1".to_string())];
    for g in registry.groups() {
        for v in g.versions {
            out.push((g.name.clone(), v));
        }
    }
    out
}

/// `api/v1` or `apis/{group}/{version}`.
pub(crate) fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn schema_name(t: &ResourceType) -> String {
    let group = if t.group.is_empty() {
        "core".to_string()
    } else {
        t.group.clone()
    };
    format!("io.girder.emulated.{group}.{}.{}", t.version, t.kind)
}

/// The document of one group/version, if served.
pub(crate) fn group_version(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = registry.resources_in(group, version);
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let param = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    for t in &types {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let prefix = format!("/{}", gv_path(&t.group, &t.version));
        let collection = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", t.plural)
        } else {
            format!("{prefix}/{}", t.plural)
        };
        let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(t))});
        let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let op = |action: &str, params: Vec<Value>| {
            json!({
                "operationId": format!("{action}{}", t.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": ok,
            })
        };
        let write_params = || {
            vec![
                param("dryRun"),
                param("fieldManager"),
                param("fieldValidation"),
            ]
        };
        let mut patch_params = write_params();
        patch_params.push(param("force"));
        paths.insert(
            collection.clone(),
            json!({"get": op("list", vec![param("labelSelector"), param("fieldSelector"), param("watch")]), "post": op("post", write_params())}),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({"get": op("get", vec![]), "put": op("put", write_params()), "patch": op("patch", patch_params),
                   "delete": op("delete", vec![param("dryRun"), param("propagationPolicy")])}),
        );
        schemas.insert(
            schema_name(t),
            json!({
                "type": "object",
                "description": format!("{} (field schema not emulated)", t.kind),
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [gvk],
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (girder emulator)", "version": crate::discovery::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_operations_carry_gvk_and_field_validation() {
        let r = Registry::new();
        let root = root(&r);
        assert!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
        let doc = group_version(&r, "apps", "v1").unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
    }
}
