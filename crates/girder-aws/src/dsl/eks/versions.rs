//! The Kubernetes versions EKS offers and how long each is supported, so a program is told at
//! plan time that its cluster runs a version whose support has ended (refused), is in paid
//! extended support (a warning), or is newer than girder knows (a warning, not a refusal:
//! EKS releases a version every four months and girder should not block it).
//!
//! The dates are EKS's published calendar: 14 months of standard support from release, then
//! 12 months of extended support.

use jiff::civil::{Date, date};

/// One Kubernetes version and the end of its standard and extended support on EKS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EksVersion {
    /// The version, `1.NN`.
    pub version: &'static str,
    /// The last day of standard support.
    pub standard_until: Date,
    /// The last day of extended support; the version cannot be used after it.
    pub extended_until: Date,
}

/// Every version EKS has offered that is not long gone, oldest first.
pub const EKS_VERSIONS: [EksVersion; 8] = [
    v("1.29", date(2025, 3, 23), date(2026, 3, 23)),
    v("1.30", date(2025, 7, 23), date(2026, 7, 23)),
    v("1.31", date(2025, 11, 26), date(2026, 11, 26)),
    v("1.32", date(2026, 3, 23), date(2027, 3, 23)),
    v("1.33", date(2026, 7, 29), date(2027, 7, 29)),
    v("1.34", date(2026, 12, 2), date(2027, 12, 2)),
    v("1.35", date(2027, 3, 27), date(2028, 3, 27)),
    v("1.36", date(2027, 8, 2), date(2028, 8, 2)),
];

const fn v(version: &'static str, standard_until: Date, extended_until: Date) -> EksVersion {
    EksVersion {
        version,
        standard_until,
        extended_until,
    }
}

/// Where a version stands on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// In standard support until the date.
    Standard {
        /// The last day of standard support.
        until: Date,
    },
    /// In extended support (charged extra per cluster hour) until the date.
    Extended {
        /// The last day of extended support.
        until: Date,
    },
    /// No longer offered: EKS refuses to create a cluster with it.
    Ended {
        /// The last day it was supported.
        on: Date,
    },
    /// Newer than the newest version girder knows.
    Newer,
    /// Older than any version girder knows, long out of support.
    Unknown,
}

/// Where `version` (`1.NN`) stands on `today`.
pub fn support_on(version: &str, today: Date) -> Support {
    if let Some(known) = EKS_VERSIONS.iter().find(|v| v.version == version) {
        return if today <= known.standard_until {
            Support::Standard {
                until: known.standard_until,
            }
        } else if today <= known.extended_until {
            Support::Extended {
                until: known.extended_until,
            }
        } else {
            Support::Ended {
                on: known.extended_until,
            }
        };
    }
    let minor = |v: &str| v.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok());
    let newest = EKS_VERSIONS.last().and_then(|v| minor(v.version));
    match (minor(version), newest) {
        (Some(m), Some(newest)) if m > newest => Support::Newer,
        _ => Support::Unknown,
    }
}

/// The versions in standard support on `today`, oldest first: what a fix should suggest.
pub fn standard_on(today: Date) -> Vec<&'static str> {
    EKS_VERSIONS
        .iter()
        .filter(|v| today <= v.standard_until)
        .map(|v| v.version)
        .collect()
}

/// Today's date in UTC, the day support is judged on.
pub(crate) fn today() -> Date {
    jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_follows_the_calendar() {
        let today = date(2026, 12, 3);
        assert_eq!(
            support_on("1.36", today),
            Support::Standard {
                until: date(2027, 8, 2)
            }
        );
        assert_eq!(
            support_on("1.34", today),
            Support::Extended {
                until: date(2027, 12, 2)
            }
        );
        assert_eq!(
            support_on("1.34", date(2026, 12, 2)),
            Support::Standard {
                until: date(2026, 12, 2)
            }
        );
        assert_eq!(
            support_on("1.31", today),
            Support::Ended {
                on: date(2026, 11, 26)
            }
        );
        assert_eq!(support_on("1.37", today), Support::Newer);
        assert_eq!(support_on("1.20", today), Support::Unknown);
        assert_eq!(standard_on(today), ["1.35", "1.36"]);
    }

    #[test]
    fn the_calendar_is_ordered() {
        for pair in EKS_VERSIONS.windows(2) {
            assert!(pair[0].standard_until < pair[1].standard_until);
            assert!(pair[0].extended_until < pair[1].extended_until);
        }
        for v in EKS_VERSIONS {
            assert!(v.standard_until < v.extended_until, "{}", v.version);
        }
    }
}
