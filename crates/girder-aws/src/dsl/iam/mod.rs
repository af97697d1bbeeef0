//! IAM building blocks: roles with typed trust and permission documents, managed policies,
//! instance profiles and OpenID Connect providers.

mod identity;
mod role;

pub use identity::{InstanceProfile, InstanceProfileHandle, OidcProvider, OidcProviderHandle};
pub use role::{IamRole, IamRoleHandle, ManagedPolicy, ManagedPolicyHandle};

use girder_core::{Diagnostic, Stack};

pub(crate) fn valid_iam_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
}

pub(crate) fn check_name(s: &mut Stack, resource: &str, field: &str, name: &str, max: usize) {
    if !valid_iam_name(name, max) {
        s.report(
            Diagnostic::error(format!(
                "an IAM name has 1 to {max} letters, digits and `+=,.@-_`"
            ))
            .resource(resource)
            .field(field)
            .value(name)
            .fix("remove other characters, such as `/` or spaces"),
        );
    }
}
