//! Regions and their availability zones, for build-time checks (no AWS call is made while a
//! program is built). AZ letters are mapped per account, so the table lists the letters
//! that exist in a region; a new region the table does not know is a warning, not an error.

/// Known regions and the letters of their availability zones.
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "abc"),
    ("us-west-2", "abcd"),
    ("ca-central-1", "abd"),
    ("ca-west-1", "abc"),
    ("mx-central-1", "abc"),
    ("sa-east-1", "abc"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("eu-central-1", "abc"),
    ("eu-central-2", "abc"),
    ("eu-north-1", "abc"),
    ("eu-south-1", "abc"),
    ("eu-south-2", "abc"),
    ("il-central-1", "abc"),
    ("me-south-1", "abc"),
    ("me-central-1", "abc"),
    ("af-south-1", "abc"),
    ("ap-east-1", "abc"),
    ("ap-south-1", "abc"),
    ("ap-south-2", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-southeast-3", "abc"),
    ("ap-southeast-4", "abc"),
    ("ap-southeast-5", "abc"),
    ("ap-southeast-7", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-northeast-2", "abcd"),
    ("ap-northeast-3", "abc"),
    ("cn-north-1", "abd"),
    ("cn-northwest-1", "abc"),
    ("us-gov-west-1", "abc"),
    ("us-gov-east-1", "abc"),
];

/// The AZ letters of a known region.
pub fn az_letters(region: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(name, _)| *name == region)
        .map(|(_, letters)| *letters)
}

/// True if `name` looks like a region (`xx-word-N`).
pub fn looks_like_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The region an AZ name belongs to (`us-east-1` for `us-east-1a`, and for the local zone
/// `us-east-1-bos-1a`), if the name has a region's shape.
pub fn region_of_az(az: &str) -> Option<&str> {
    // A regular AZ: region + one letter.
    if let Some(region) = az.get(..az.len().saturating_sub(1))
        && az.chars().last().is_some_and(|c| c.is_ascii_lowercase())
        && looks_like_region(region)
    {
        return Some(region);
    }
    // A local or wavelength zone: region + `-city-N` + letter.
    let mut dashes = az.match_indices('-').map(|(i, _)| i).collect::<Vec<_>>();
    while let Some(i) = dashes.pop() {
        let candidate = &az[..i];
        if looks_like_region(candidate) {
            return Some(candidate);
        }
    }
    None
}

/// The AZ names `count` AZs of `region` get when only a count is given: the first letters the
/// region has.
pub fn first_azs(region: &str, count: usize) -> Option<Vec<String>> {
    let letters = az_letters(region)?;
    (count <= letters.len()).then(|| {
        letters
            .chars()
            .take(count)
            .map(|l| format!("{region}{l}"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az_names_map_to_regions() {
        assert_eq!(region_of_az("us-east-1a"), Some("us-east-1"));
        assert_eq!(region_of_az("us-east-1-bos-1a"), Some("us-east-1"));
        assert_eq!(region_of_az("eu-west-1"), None);
        assert_eq!(region_of_az("nonsense"), None);
        assert_eq!(
            first_azs("ap-northeast-1", 2).unwrap(),
            ["ap-northeast-1a", "ap-northeast-1c"]
        );
        assert!(first_azs("eu-west-1", 4).is_none());
    }
}
