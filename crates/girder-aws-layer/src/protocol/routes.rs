//! Operation names of the REST protocols, from the method and the path (as the services'
//! Smithy models route them).

use std::collections::BTreeMap;

use http::Method;

type Route = (Option<String>, BTreeMap<&'static str, String>);

fn route(operation: &str, params: &[(&'static str, &str)]) -> Route {
    (
        Some(operation.to_owned()),
        params.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
    )
}

/// EKS (REST-JSON).
pub(super) fn eks(method: &Method, segments: &[String]) -> Route {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = method.as_str();
    match (m, s.as_slice()) {
        ("POST", ["clusters"]) => route("CreateCluster", &[]),
        ("GET", ["clusters"]) => route("ListClusters", &[]),
        ("GET", ["clusters", n]) => route("DescribeCluster", &[("name", n)]),
        ("DELETE", ["clusters", n]) => route("DeleteCluster", &[("name", n)]),
        ("POST", ["clusters", n, "update-config"]) => route("UpdateClusterConfig", &[("name", n)]),
        ("POST", ["clusters", n, "updates"]) => route("UpdateClusterVersion", &[("name", n)]),
        ("GET", ["clusters", n, "updates"]) => route("ListUpdates", &[("name", n)]),
        ("GET", ["clusters", n, "updates", id]) => {
            route("DescribeUpdate", &[("name", n), ("updateId", id)])
        }
        ("POST", ["clusters", n, "node-groups"]) => route("CreateNodegroup", &[("name", n)]),
        ("GET", ["clusters", n, "node-groups"]) => route("ListNodegroups", &[("name", n)]),
        ("GET", ["clusters", n, "node-groups", g]) => {
            route("DescribeNodegroup", &[("name", n), ("nodegroupName", g)])
        }
        ("DELETE", ["clusters", n, "node-groups", g]) => {
            route("DeleteNodegroup", &[("name", n), ("nodegroupName", g)])
        }
        ("POST", ["clusters", n, "node-groups", g, "update-config"]) => route(
            "UpdateNodegroupConfig",
            &[("name", n), ("nodegroupName", g)],
        ),
        ("POST", ["clusters", n, "node-groups", g, "update-version"]) => route(
            "UpdateNodegroupVersion",
            &[("name", n), ("nodegroupName", g)],
        ),
        ("POST", ["clusters", n, "addons"]) => route("CreateAddon", &[("name", n)]),
        ("GET", ["clusters", n, "addons"]) => route("ListAddons", &[("name", n)]),
        ("GET", ["clusters", n, "addons", a]) => {
            route("DescribeAddon", &[("name", n), ("addonName", a)])
        }
        ("DELETE", ["clusters", n, "addons", a]) => {
            route("DeleteAddon", &[("name", n), ("addonName", a)])
        }
        ("POST", ["clusters", n, "addons", a, "update"]) => {
            route("UpdateAddon", &[("name", n), ("addonName", a)])
        }
        ("GET", ["addons", "supported-versions"]) => route("DescribeAddonVersions", &[]),
        ("POST", ["clusters", n, "access-entries"]) => route("CreateAccessEntry", &[("name", n)]),
        ("GET", ["clusters", n, "access-entries"]) => route("ListAccessEntries", &[("name", n)]),
        ("GET", ["clusters", n, "access-entries", p]) => {
            route("DescribeAccessEntry", &[("name", n), ("principalArn", p)])
        }
        ("POST", ["clusters", n, "access-entries", p]) => {
            route("UpdateAccessEntry", &[("name", n), ("principalArn", p)])
        }
        ("DELETE", ["clusters", n, "access-entries", p]) => {
            route("DeleteAccessEntry", &[("name", n), ("principalArn", p)])
        }
        ("POST", ["clusters", n, "access-entries", p, "access-policies"]) => {
            route("AssociateAccessPolicy", &[("name", n), ("principalArn", p)])
        }
        ("GET", ["clusters", n, "access-entries", p, "access-policies"]) => route(
            "ListAssociatedAccessPolicies",
            &[("name", n), ("principalArn", p)],
        ),
        ("DELETE", ["clusters", n, "access-entries", p, "access-policies", a]) => route(
            "DisassociateAccessPolicy",
            &[("name", n), ("principalArn", p), ("policyArn", a)],
        ),
        ("GET", ["access-policies"]) => route("ListAccessPolicies", &[]),
        ("POST", ["clusters", n, "fargate-profiles"]) => {
            route("CreateFargateProfile", &[("name", n)])
        }
        ("GET", ["clusters", n, "fargate-profiles"]) => {
            route("ListFargateProfiles", &[("name", n)])
        }
        ("GET", ["clusters", n, "fargate-profiles", f]) => route(
            "DescribeFargateProfile",
            &[("name", n), ("fargateProfileName", f)],
        ),
        ("DELETE", ["clusters", n, "fargate-profiles", f]) => route(
            "DeleteFargateProfile",
            &[("name", n), ("fargateProfileName", f)],
        ),
        ("POST", ["tags", ..]) => route("TagResource", &[]),
        ("DELETE", ["tags", ..]) => route("UntagResource", &[]),
        ("GET", ["tags", ..]) => route("ListTagsForResource", &[]),
        _ => (None, BTreeMap::new()),
    }
}

/// Route 53 (REST-XML, `/2013-04-01/...`).
pub(super) fn route53(method: &Method, segments: &[String]) -> Route {
    let s: Vec<&str> = segments.iter().skip(1).map(String::as_str).collect();
    match (method.as_str(), s.as_slice()) {
        ("POST", ["hostedzone"]) => route("CreateHostedZone", &[]),
        ("GET", ["hostedzone"]) => route("ListHostedZones", &[]),
        ("GET", ["hostedzonesbyname"]) => route("ListHostedZonesByName", &[]),
        ("GET", ["hostedzone", id]) => route("GetHostedZone", &[("Id", id)]),
        ("DELETE", ["hostedzone", id]) => route("DeleteHostedZone", &[("Id", id)]),
        ("POST", ["hostedzone", id]) => route("UpdateHostedZoneComment", &[("Id", id)]),
        ("POST", ["hostedzone", id, "rrset"]) => route("ChangeResourceRecordSets", &[("Id", id)]),
        ("GET", ["hostedzone", id, "rrset"]) => route("ListResourceRecordSets", &[("Id", id)]),
        ("POST", ["hostedzone", id, "associatevpc"]) => {
            route("AssociateVPCWithHostedZone", &[("Id", id)])
        }
        ("POST", ["hostedzone", id, "disassociatevpc"]) => {
            route("DisassociateVPCFromHostedZone", &[("Id", id)])
        }
        ("GET", ["change", id]) => route("GetChange", &[("Id", id)]),
        ("POST", ["tags", _, _]) => route("ChangeTagsForResource", &[]),
        ("GET", ["tags", _, _]) => route("ListTagsForResource", &[]),
        ("POST", ["tags", _]) => route("ListTagsForResources", &[]),
        _ => (None, BTreeMap::new()),
    }
}

/// S3 (REST-XML, path style): the operation from the method, the depth and the
/// sub-resource in the query.
pub(super) fn s3(method: &Method, segments: &[String], query: Option<&str>) -> String {
    let keys: Vec<String> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let has = |k: &str| keys.iter().any(|x| x == k);
    const SUBRESOURCES: [(&str, &str); 9] = [
        ("tagging", "Tagging"),
        ("versioning", "Versioning"),
        ("encryption", "Encryption"),
        ("publicAccessBlock", "PublicAccessBlock"),
        ("policy", "Policy"),
        ("lifecycle", "LifecycleConfiguration"),
        ("acl", "Acl"),
        ("location", "Location"),
        ("ownershipControls", "OwnershipControls"),
    ];
    let verb = match *method {
        Method::GET => "Get",
        Method::PUT => "Put",
        Method::DELETE => "Delete",
        Method::HEAD => "Head",
        _ => "Post",
    };
    match segments.len() {
        0 => "ListBuckets".into(),
        1 => {
            if let Some((_, name)) = SUBRESOURCES.iter().find(|(k, _)| has(k)) {
                return format!("{verb}Bucket{name}");
            }
            match (verb, has("versions"), has("delete"), has("list-type")) {
                ("Get", true, _, _) => "ListObjectVersions".into(),
                ("Get", _, _, true) => "ListObjectsV2".into(),
                ("Get", _, _, _) => "ListObjects".into(),
                ("Post", _, true, _) => "DeleteObjects".into(),
                ("Put", _, _, _) => "CreateBucket".into(),
                (verb, _, _, _) => format!("{verb}Bucket"),
            }
        }
        _ if has("tagging") => format!("{verb}ObjectTagging"),
        _ => format!("{verb}Object"),
    }
}
