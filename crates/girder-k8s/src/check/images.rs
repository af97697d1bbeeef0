//! Container images: a reference the kubelet can pull, and a version that cannot move.
//!
//! The API server accepts any non-empty string as an image; a reference that does not follow
//! the OCI distribution grammar (`Ghcr.io/Acme/App:1`, `app:v1 `, `app@sha256:abc`) is only
//! refused on the node, where the pod sits in `InvalidImageName` or `ErrImagePull`. An image
//! without a tag means `:latest`, and `:latest` is whatever was pushed last: two nodes run
//! different code, a rollback rolls back to nothing, and the kubelet pulls on every start
//! (`imagePullPolicy: Always` is its default for `:latest`). Those are errors unless the
//! container opts out with a reason. A tag without a digest can be moved too, more rarely;
//! that is advice (a warning), silenced by the same opt-out.

use girder_core::{Diagnostic, Diagnostics, Value};
use oci_spec::distribution::{ParseError, Reference};

use super::security::OptOut;
use super::{ContainerView, ObjectView};

/// What is wrong with an image reference, if anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageProblem {
    /// Not a reference the kubelet can pull.
    Invalid(String),
    /// No tag and no digest: the kubelet pulls `:latest`.
    Untagged,
    /// Tagged `:latest` without a digest.
    Latest,
    /// A version tag but no digest.
    TagOnly,
}

/// Classifies `image` (`None`: pinned by digest, nothing to say).
///
/// ```
/// use girder_k8s::check::{ImageProblem, image_problem};
/// assert_eq!(image_problem("nginx"), Some(ImageProblem::Untagged));
/// assert_eq!(image_problem("nginx:latest"), Some(ImageProblem::Latest));
/// assert_eq!(image_problem("nginx:1.27"), Some(ImageProblem::TagOnly));
/// assert!(matches!(image_problem("Nginx:1.27"), Some(ImageProblem::Invalid(_))));
/// let digest = format!("nginx:1.27@sha256:{}", "a".repeat(64));
/// assert_eq!(image_problem(&digest), None);
/// ```
pub fn image_problem(image: &str) -> Option<ImageProblem> {
    if image.trim() != image {
        return Some(ImageProblem::Invalid(
            "it has leading or trailing whitespace".into(),
        ));
    }
    let reference = match Reference::try_from(image) {
        Ok(reference) => reference,
        Err(error) => return Some(ImageProblem::Invalid(explain(image, &error))),
    };
    if reference.digest().is_some() {
        return None;
    }
    // The parser fills in `latest` when there is no tag; the text says which it was.
    let name_part = image.rsplit('/').next().unwrap_or(image);
    match reference.tag() {
        Some("latest") if !name_part.contains(':') => Some(ImageProblem::Untagged),
        Some("latest") => Some(ImageProblem::Latest),
        _ => Some(ImageProblem::TagOnly),
    }
}

/// `image` without its tag and digest (`ghcr.io/acme/app` of `ghcr.io/acme/app:1@sha256:…`);
/// a registry's port (`localhost:5000/app`) is not a tag.
fn repository_of(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    }
}

/// Why the grammar refuses `image`, in words a user can act on.
fn explain(image: &str, error: &ParseError) -> String {
    let repository = repository_of(image);
    let path = repository
        .split_once('/')
        .map_or(repository, |(first, rest)| {
            if first.contains(['.', ':']) || first == "localhost" {
                rest
            } else {
                repository
            }
        });
    if let Some((_, digest)) = image.split_once('@') {
        let hex = |text: &str, len: usize| {
            text.len() == len && text.chars().all(|c| c.is_ascii_hexdigit())
        };
        let well_formed = match digest.split_once(':') {
            Some(("sha256", h)) => hex(h, 64),
            Some(("sha384", h)) => hex(h, 96),
            Some(("sha512", h)) => hex(h, 128),
            _ => false,
        };
        if !well_formed {
            return "its digest is not `sha256:` and 64 hex digits".into();
        }
    }
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return "its repository has uppercase letters; repositories are lowercase".into();
    }
    if image.chars().any(char::is_whitespace) {
        return "it contains whitespace".into();
    }
    match error {
        ParseError::DigestInvalidLength | ParseError::DigestInvalidFormat => {
            "its digest is not `sha256:` and 64 hex digits".into()
        }
        ParseError::DigestUnsupported => {
            "its digest algorithm is not sha256, sha384 or sha512".into()
        }
        ParseError::NameTooLong => "its repository is longer than 255 characters".into(),
        _ if image.contains("://") => {
            "it has a URL scheme; an image reference has none (`ghcr.io/acme/app:1`)".into()
        }
        other => format!("it does not follow the OCI reference grammar ({other})"),
    }
}

/// Checks the image of every container of `object`.
pub(super) fn check(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    for container in object.containers() {
        let Some(image) = container.value.get("image").and_then(Value::as_str) else {
            continue;
        };
        if image.is_empty() {
            continue; // reported as "has no image"
        }
        if let Some(problem) = image_problem(image) {
            report(object, &container, image, &problem, diagnostics);
        }
    }
}

fn report(
    object: &ObjectView<'_>,
    container: &ContainerView<'_>,
    image: &str,
    problem: &ImageProblem,
    diagnostics: &mut Diagnostics,
) {
    let opt_out = OptOut::MutableImage;
    let opted_out = object
        .annotations()
        .get(&opt_out.annotation(&container.name))
        .is_some_and(|reason| !reason.trim().is_empty());
    let who = format!("container `{}` of {}", container.name, object.describe());
    let repository = repository_of(image);
    let opt_out_text = format!(
        "if the program must follow a moving tag, opt out for this container with a reason: `.allow({}, \"why\")` (or the annotation `{}: \"why\"`)",
        opt_out.dsl(),
        opt_out.annotation(&container.name)
    );
    let diagnostic = match problem {
        ImageProblem::Invalid(why) => Diagnostic::error(format!(
            "{who} has the image `{image}`, which is not an image reference: {why}; the API server accepts it, and the pod then waits in `InvalidImageName` on every node"
        ))
        .fix("write it as `REGISTRY/REPOSITORY:TAG` or `REGISTRY/REPOSITORY@sha256:DIGEST` with a lowercase repository, such as `ghcr.io/acme/backend:1.4`"),
        ImageProblem::Untagged | ImageProblem::Latest if !opted_out => Diagnostic::error(format!(
            "{who} runs `{image}`, {}: which code runs changes with every push, nodes run different versions, and a rollback restores nothing",
            if *problem == ImageProblem::Untagged {
                "which has no tag, so the kubelet pulls `:latest`"
            } else {
                "a tag that names no version"
            }
        ))
        .fix(format!(
            "pin a version tag (`{repository}:1.4.2`) or a digest (`{repository}@sha256:…`); {opt_out_text}"
        )),
        ImageProblem::TagOnly if !opted_out => Diagnostic::warning(format!(
            "{who} runs `{image}`, pinned by a tag only; a registry lets a tag be pushed again, so the same program can run different code tomorrow"
        ))
        .fix(format!(
            "pin the digest too: `{image}@sha256:…` (`docker buildx imagetools inspect {image}` or `crane digest {image}` prints it); {opt_out_text}"
        )),
        _ => return,
    };
    diagnostics.push(
        diagnostic
            .resource(object.resource)
            .field(format!("{}.image", container.path))
            .value(image),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_classified_as_the_kubelet_would() {
        let digest = "a".repeat(64);
        for (image, expected) in [
            ("nginx", Some(ImageProblem::Untagged)),
            ("library/nginx", Some(ImageProblem::Untagged)),
            ("localhost:5000/app", Some(ImageProblem::Untagged)),
            ("localhost:5000/app:latest", Some(ImageProblem::Latest)),
            ("ghcr.io/acme/backend:latest", Some(ImageProblem::Latest)),
            ("ghcr.io/acme/backend:1.4", Some(ImageProblem::TagOnly)),
            (
                "registry.k8s.io/metrics-server/metrics-server:v0.8.0",
                Some(ImageProblem::TagOnly),
            ),
            (&format!("ghcr.io/acme/backend@sha256:{digest}"), None),
            (
                &format!("ghcr.io/acme/backend:latest@sha256:{digest}"),
                None,
            ),
        ] {
            assert_eq!(image_problem(image), expected, "{image}");
        }
        for (image, why) in [
            ("ghcr.io/Acme/backend:1", "uppercase"),
            ("backend:1 ", "whitespace"),
            ("back end:1", "whitespace"),
            ("ghcr.io/acme/backend@sha256:abc", "64 hex"),
            ("https://ghcr.io/acme/backend:1", "URL scheme"),
            ("ghcr.io/acme/backend:", "grammar"),
            (":1.4", "grammar"),
        ] {
            match image_problem(image) {
                Some(ImageProblem::Invalid(text)) => assert!(text.contains(why), "{image}: {text}"),
                other => panic!("{image}: {other:?}"),
            }
        }
    }
}
