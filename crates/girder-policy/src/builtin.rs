//! girder's built-in policy pack, compiled into the binary.

/// `(file name, Rego)` of each policy of the pack, helpers first.
pub(crate) const PACK: [(&str, &str); 6] = [
    ("lib.rego", include_str!("../policies/lib.rego")),
    ("eks.rego", include_str!("../policies/eks.rego")),
    ("network.rego", include_str!("../policies/network.rego")),
    ("s3.rego", include_str!("../policies/s3.rego")),
    ("iam.rego", include_str!("../policies/iam.rego")),
    (
        "kubernetes.rego",
        include_str!("../policies/kubernetes.rego"),
    ),
];
