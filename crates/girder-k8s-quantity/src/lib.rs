//! Kubernetes resource quantities (`0.5`, `500m`, `1Gi`, `1e3`), parsed and printed the way
//! the API server does, following `k8s.io/apimachinery/pkg/api/resource.Quantity` exactly.
//!
//! The API server decodes every quantity field into a `resource.Quantity` and encodes it back
//! in canonical form, so what a client reads is rarely what it wrote: `0.5` is stored as
//! `500m`, `1000m` as `1`, `1024Mi` as `1Gi`. The rules, which [`Quantity::parse`] and
//! [`Quantity`]'s `Display` follow:
//!
//! - A quantity is `<signed number><suffix>`: the suffix is a decimal SI one (`n u m k M G T P
//!   E`, or none), a binary SI one (`Ki Mi Gi Ti Pi Ei`) or a decimal exponent (`e3`, `E-6`).
//!   The suffix family is kept as the quantity's [`Format`].
//! - Values that need more than nano precision are rounded up (away from zero) to it
//!   (`0.5n` → `1n`); values computed that way are capped at 2^63-1.
//! - Decimal forms print a mantissa without trailing zeros and an exponent that is a multiple
//!   of three (`0.5` → `500m`, `1.5k` → `1500`, `1e3` → `1e3`); exponents past `E` fall back
//!   to exponent notation (`1000E` → `1e21`).
//! - Binary forms print in the largest binary suffix that divides the value (`1024Mi` →
//!   `1Gi`); below 1024 or with a fraction they print in decimal SI (`0.5Ki` → `512`,
//!   `0.1Gi` → `107374182400m`).
//!
//! ```
//! use girder_k8s_quantity::{Format, Quantity, canonical};
//!
//! assert_eq!(canonical("0.5").unwrap(), "500m");
//! assert_eq!(canonical("1024Mi").unwrap(), "1Gi");
//! let q: Quantity = "1.5Gi".parse().unwrap();
//! assert_eq!((q.to_string(), q.format()), ("1536Mi".to_string(), Format::BinarySi));
//! assert!(canonical("1.5 Gi").is_err());
//! ```

use std::fmt;
use std::str::FromStr;

mod scaled;

/// Why a string is not a quantity (the messages are the API server's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text does not have the shape of a quantity.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// The suffix is not one Kubernetes knows.
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The number could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
}

/// The suffix family of a quantity, kept from what was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `n u m k M G T P E` or no suffix.
    DecimalSi,
    /// `Ki Mi Gi Ti Pi Ei`.
    BinarySi,
    /// `e<exponent>` / `E<exponent>`.
    DecimalExponent,
}

/// A parsed quantity: `negative × unscaled × 10^exponent` in a [`Format`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quantity {
    negative: bool,
    unscaled: u128,
    exponent: i64,
    format: Format,
}

/// 2^63-1: the largest value a quantity that needed rounding can hold.
const MAX_ALLOWED: u128 = i64::MAX as u128;
/// 10^9: quantities are exact to the nano.
const NANO: u128 = 1_000_000_000;

impl Quantity {
    /// Parses a quantity as `resource.ParseQuantity` does (no surrounding whitespace).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::Format);
        }
        if text == "0" {
            return Ok(Quantity::zero(Format::DecimalSi));
        }
        let parts = split(text)?;
        let (base, exponent, format) = interpret(parts.suffix).ok_or(QuantityError::Suffix)?;
        if let Some(fast) = fast_path(&parts, base, exponent, format) {
            return Ok(fast);
        }
        slow_path(&parts, base, exponent, format)
    }

    fn zero(format: Format) -> Quantity {
        Quantity {
            negative: false,
            unscaled: 0,
            exponent: 0,
            format,
        }
    }

    /// The suffix family the quantity prints in, as parsed (a binary quantity below 1 became
    /// decimal SI when parsed).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.unscaled == 0
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative && self.unscaled != 0
    }

    /// Compares the values, whatever their suffixes (`500m` equals `0.5`, `1Gi` is more than
    /// `1G`), as the API server does when it checks that a request is within its limit.
    ///
    /// ```
    /// use girder_k8s_quantity::Quantity;
    /// use std::cmp::Ordering;
    /// let q = |s: &str| s.parse::<Quantity>().unwrap();
    /// assert_eq!(q("500m").cmp_value(&q("0.5")), Ordering::Equal);
    /// assert_eq!(q("1Gi").cmp_value(&q("1G")), Ordering::Greater);
    /// assert_eq!(q("-1").cmp_value(&q("1m")), Ordering::Less);
    /// ```
    pub fn cmp_value(&self, other: &Quantity) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self.is_negative(), other.is_negative()) {
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let magnitude = compare_magnitude(
            (self.unscaled, self.exponent),
            (other.unscaled, other.exponent),
        );
        if self.is_negative() {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    /// The mantissa without trailing zeros and its power of ten, rounded down to a multiple of
    /// three (`AsCanonicalBytes`).
    fn canonical_decimal(&self) -> (u128, i64) {
        let (mut mantissa, mut exponent) = (self.unscaled, self.exponent);
        while mantissa != 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        // The mantissa shrank by at least 10^r, so multiplying back cannot overflow.
        let r = exponent.rem_euclid(3);
        (mantissa * 10u128.pow(r as u32), exponent - r)
    }

    /// The value as a whole number, if it is one (and fits).
    fn whole(&self) -> Option<u128> {
        if self.exponent >= 0 {
            10u128
                .checked_pow(u32::try_from(self.exponent).ok()?)
                .and_then(|p| self.unscaled.checked_mul(p))
        } else {
            let divisor = 10u128.checked_pow(u32::try_from(-self.exponent).ok()?)?;
            self.unscaled
                .is_multiple_of(divisor)
                .then(|| self.unscaled / divisor)
        }
    }

    /// Whether |value| < 1024.
    fn below_1024(&self) -> bool {
        if self.exponent >= 0 {
            self.whole().is_some_and(|w| w < 1024)
        } else {
            match 10u128.checked_pow(u32::try_from(-self.exponent).unwrap_or(u32::MAX)) {
                Some(divisor) => self.unscaled / divisor < 1024,
                None => true,
            }
        }
    }
}

impl fmt::Display for Quantity {
    /// The canonical form (`CanonicalizeBytes`), as the API server stores it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let mut format = self.format;
        let mut binary = None;
        if format == Format::BinarySi {
            match self.whole().filter(|_| !self.below_1024()) {
                Some(whole) => binary = Some(whole),
                None => format = Format::DecimalSi,
            }
        }
        if let Some(mut value) = binary {
            let mut power = 0;
            while value % 1024 == 0 && power < BINARY_SUFFIXES.len() - 1 {
                value /= 1024;
                power += 1;
            }
            return write!(f, "{value}{}", BINARY_SUFFIXES[power]);
        }
        let (mantissa, exponent) = self.canonical_decimal();
        match (format, decimal_suffix(exponent)) {
            (Format::DecimalSi, Some(suffix)) => write!(f, "{mantissa}{suffix}"),
            (_, _) if exponent == 0 => write!(f, "{mantissa}"),
            _ => write!(f, "{mantissa}e{exponent}"),
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// The canonical form of a quantity, as the API server stores it (`0.5` → `500m`).
pub fn canonical(text: &str) -> Result<String, QuantityError> {
    Quantity::parse(text).map(|q| q.to_string())
}

/// Whether two texts are the same stored quantity (`0.5` and `500m` are; `1Gi` and
/// `1073741824` are not, since their canonical forms differ). Texts that do not parse are
/// compared as they are.
pub fn same_stored_value(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Compares `a.0 × 10^a.1` with `b.0 × 10^b.1` exactly: the operand with the larger exponent is
/// scaled down to the other's; if that overflows, it is larger than anything a `u128` holds.
fn compare_magnitude(a: (u128, i64), b: (u128, i64)) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.0 == 0, b.0 == 0) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let scaled = |(mantissa, exponent): (u128, i64), to: i64| {
        u32::try_from(exponent - to)
            .ok()
            .and_then(|shift| 10u128.checked_pow(shift))
            .and_then(|factor| mantissa.checked_mul(factor))
    };
    let low = a.1.min(b.1);
    match (scaled(a, low), scaled(b, low)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
    }
}

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

fn decimal_suffix(exponent: i64) -> Option<&'static str> {
    Some(match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    })
}

/// The pieces of a quantity's text (`parseQuantityString`).
#[derive(Debug)]
struct Parts<'a> {
    positive: bool,
    /// The integer digits without leading zeros (`"0"` when there are none).
    num: &'a str,
    /// The fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

fn split(text: &str) -> Result<Parts<'_>, QuantityError> {
    let bytes = text.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut positive = true;
    match bytes.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    if pos == end {
        return Ok(Parts {
            positive,
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = match &text[num_start..pos] {
        "" => "0",
        digits => digits,
    };
    let mut denom = "";
    if pos < end && bytes[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &text[start..pos];
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && matches!(bytes[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos != end {
        return Err(QuantityError::Format);
    }
    Ok(Parts {
        positive,
        num,
        denom,
        suffix: &text[suffix_start..],
    })
}

/// (base, exponent, format) of a suffix.
fn interpret(suffix: &str) -> Option<(u32, i64, Format)> {
    let decimal = match suffix {
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "" => Some(0),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(e) = decimal {
        return Some((10, e, Format::DecimalSi));
    }
    if let Some(power) = BINARY_SUFFIXES[1..].iter().position(|s| *s == suffix) {
        return Some((2, 10 * (power as i64 + 1), Format::BinarySi));
    }
    let rest = suffix.strip_prefix(['e', 'E']).filter(|r| !r.is_empty())?;
    let exponent: i64 = rest.parse().ok()?;
    // The exponent is kept as a 32-bit scale that gets negated: ±(2^31-1) at most.
    (exponent.abs() <= i64::from(i32::MAX)).then_some((10, exponent, Format::DecimalExponent))
}

/// The exact path for values that need no rounding (`ParseQuantity`'s int64 fast path).
fn fast_path(parts: &Parts<'_>, base: u32, exponent: i64, format: Format) -> Option<Quantity> {
    let digits = parts.num.len() + parts.denom.len();
    let (scale, multiplier) = if base == 10 {
        if digits > 18 {
            return None;
        }
        (exponent - parts.denom.len() as i64, 1i64)
    } else {
        if !parts.denom.is_empty() {
            return None;
        }
        // 15 - len(num) - exponent*3/10 - 1 (Go computes the product in float32).
        let precision = 15 - parts.num.len() as i64 - (exponent as f32 * 3.0 / 10.0) as i64 - 1;
        if precision < 0 {
            return None;
        }
        (0, 1i64 << exponent)
    };
    if scale < -9 {
        return None;
    }
    let value: i64 = format!("{}{}", parts.num, parts.denom).parse().ok()?;
    let product = value.checked_mul(multiplier)?;
    Some(Quantity {
        negative: !parts.positive,
        unscaled: product as u128,
        exponent: scale,
        format,
    })
}

/// The exact value rounded up to the nano and capped at 2^63-1 (`ParseQuantity`'s decimal
/// path).
fn slow_path(
    parts: &Parts<'_>,
    base: u32,
    exponent: i64,
    mut format: Format,
) -> Result<Quantity, QuantityError> {
    let digits = format!("{}{}", parts.num, parts.denom);
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(Quantity {
            negative: !parts.positive,
            ..Quantity::zero(format)
        });
    }
    let fraction = parts.denom.len() as i64;
    // nanos = ceil(digits × base^exponent × 10^(9 - fraction)), capped.
    let cap = MAX_ALLOWED * NANO;
    let mut value = Big::from_decimal(digits);
    let mut power_of_ten = 9 - fraction;
    if base == 2 {
        for _ in 0..exponent {
            value.mul_small(2);
        }
    } else {
        power_of_ten += exponent;
    }
    let nanos = if power_of_ten >= 0 {
        // Each factor of ten adds a digit: past 40 digits the cap is long exceeded.
        if value.decimal_digits_at_least() as i64 + power_of_ten > 40 {
            cap
        } else {
            for _ in 0..power_of_ten {
                value.mul_small(10);
            }
            value.to_u128().map_or(cap, |v| v.min(cap))
        }
    } else if -power_of_ten > value.decimal_digits_upper_bound() as i64 {
        // Smaller than one nano: rounds up to one.
        1
    } else {
        let mut remainder_seen = false;
        let mut left = -power_of_ten;
        while left > 0 {
            let step = left.min(9);
            remainder_seen |= value.div_small(10u32.pow(step as u32)) != 0;
            left -= step;
        }
        let whole = value.to_u128().unwrap_or(u128::MAX);
        whole.saturating_add(u128::from(remainder_seen)).min(cap)
    };
    if format == Format::BinarySi && nanos < NANO {
        format = Format::DecimalSi;
    }
    Ok(Quantity {
        negative: !parts.positive,
        unscaled: nanos,
        exponent: -9,
        format,
    })
}

/// A minimal unsigned big integer (little-endian base-2^32 limbs) for the exact slow path.
struct Big(Vec<u32>);

impl Big {
    fn from_decimal(digits: &str) -> Big {
        let mut big = Big(vec![0]);
        for chunk in digits.as_bytes().chunks(9) {
            let mut chunk_value = 0u32;
            for d in chunk {
                chunk_value = chunk_value * 10 + u32::from(d - b'0');
            }
            big.mul_small(10u32.pow(chunk.len() as u32));
            big.add_small(chunk_value);
        }
        big
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(m) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            if carry == 0 {
                return;
            }
            let sum = u64::from(*limb) + carry;
            *limb = sum as u32;
            carry = sum >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// Divides in place; returns the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut remainder = 0u64;
        for limb in self.0.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / u64::from(d)) as u32;
            remainder = current % u64::from(d);
        }
        while self.0.len() > 1 && self.0.last() == Some(&0) {
            self.0.pop();
        }
        remainder as u32
    }

    fn significant_limbs(&self) -> usize {
        self.0.iter().rposition(|l| *l != 0).map_or(0, |i| i + 1)
    }

    /// A lower bound of the number of decimal digits (each limb beyond the first adds > 9).
    fn decimal_digits_at_least(&self) -> usize {
        self.significant_limbs().saturating_sub(1) * 9 + 1
    }

    /// An upper bound of the number of decimal digits (a limb holds < 10 digits).
    fn decimal_digits_upper_bound(&self) -> usize {
        self.significant_limbs() * 10
    }

    fn to_u128(&self) -> Option<u128> {
        let limbs = self.significant_limbs();
        if limbs > 4 {
            return None;
        }
        Some(
            self.0[..limbs]
                .iter()
                .rev()
                .fold(0u128, |acc, l| (acc << 32) | u128::from(*l)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_across_suffixes() {
        use std::cmp::Ordering::*;
        let q = |s: &str| s.parse::<Quantity>().unwrap();
        for (a, b, expected) in [
            ("500m", "0.5", Equal),
            ("1", "1000m", Equal),
            ("1Gi", "1024Mi", Equal),
            ("1Gi", "1G", Greater),
            ("2", "1500m", Greater),
            ("128Mi", "256Mi", Less),
            ("0", "0m", Equal),
            ("-1", "0", Less),
            ("-2", "-1", Less),
            ("1e3", "1k", Equal),
            ("1E", "999P", Greater),
            ("1n", "0", Greater),
            ("100Ei", "1n", Greater),
        ] {
            assert_eq!(q(a).cmp_value(&q(b)), expected, "{a} vs {b}");
            assert_eq!(q(b).cmp_value(&q(a)), expected.reverse(), "{b} vs {a}");
        }
    }

    /// (input, canonical form) pairs from apimachinery's `TestQuantityParseEmit`,
    /// `TestQuantityString` (each expected form and its alternate spelling) and
    /// `TestQuantityParse` (values that round or saturate), plus the forms Kubernetes users
    /// write every day.
    const CANONICAL: &[(&str, &str)] = &[
        // TestQuantityParseEmit
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        // TestQuantityString: expected forms parse to themselves, alternates to them.
        ("1024Mi", "1Gi"),
        ("300Mi", "300Mi"),
        ("307200Ki", "300Mi"),
        ("6Ki", "6Ki"),
        ("1001Gi", "1001Gi"),
        ("1025024Mi", "1001Gi"),
        ("1Ti", "1Ti"),
        ("1024Gi", "1Ti"),
        ("5", "5"),
        ("5000m", "5"),
        ("500m", "500m"),
        ("0.5", "500m"),
        ("1G", "1G"),
        ("0.001T", "1G"),
        ("1m", "1m"),
        ("1000u", "1m"),
        ("80m", "80m"),
        ("1080m", "1080m"),
        ("1.08", "1080m"),
        ("1080000000n", "1080m"),
        ("300M", "300M"),
        ("1T", "1T"),
        ("1E", "1E"),
        ("1000E", "1e21"),
        ("5000E", "5e21"),
        ("1000000E", "1e24"),
        ("1234567M", "1234567M"),
        ("1234567m", "1234567m"),
        ("3k", "3k"),
        ("1025", "1025"),
        ("0", "0"),
        ("1e9", "1e9"),
        (".001e12", "1e9"),
        ("1e-3", "1e-3"),
        ("0.001e0", "1e-3"),
        ("1e-9", "1e-9"),
        ("1000e-12", "1e-9"),
        ("80e-3", "80e-3"),
        ("300e6", "300e6"),
        ("1e12", "1e12"),
        ("1e3", "1e3"),
        ("3e3", "3e3"),
        ("00", "0"),
        ("1n", "1n"),
        ("80n", "80n"),
        ("1080n", "1080n"),
        ("1u", "1u"),
        ("80u", "80u"),
        ("1080u", "1080u"),
        // TestQuantityParse: rounding up to the nano, saturation, odd spellings.
        ("3.001n", "4n"),
        ("1.1E-9", "2e-9"),
        ("0.0000000001", "1n"),
        ("0.0000000005", "1n"),
        ("0.00000000050", "1n"),
        ("0.5e-9", "1e-9"),
        ("0.9n", "1n"),
        ("0.00000012345", "124n"),
        ("0.00000012354", "124n"),
        ("9Ei", "9223372036854775807"),
        ("9223372036854775807Ki", "9223372036854775807"),
        ("12E", "12E"),
        ("100.035Ki", "102435840m"),
        ("0.5Mi", "512Ki"),
        ("0.05Gi", "53687091200m"),
        ("0.025Ti", "27487790694400m"),
        ("0.000000000001Ki", "2n"),
        (".001", "1m"),
        (".0001k", "100m"),
        ("1.", "1"),
        ("1.G", "1G"),
        ("0n", "0"),
        ("0Ki", "0"),
        ("-0", "0"),
        ("+1", "1"),
        ("100.035k", "100035"),
        ("10.035M", "10035k"),
        ("1.2e3", "1200"),
        ("1.3E+6", "1300e3"),
        ("7.123456M", "7123456"),
        ("2.5P", "2500T"),
        // What users write.
        ("0.5", "500m"),
        ("0.25", "250m"),
        ("1000m", "1"),
        ("1500m", "1500m"),
        ("1.5", "1500m"),
        ("2", "2"),
        ("0.1", "100m"),
        ("0.1Gi", "107374182400m"),
        ("0.5Gi", "512Mi"),
        ("1.5Gi", "1536Mi"),
        ("2048Mi", "2Gi"),
        ("1024", "1024"),
        ("1024Ki", "1Mi"),
        ("512Mi", "512Mi"),
        ("128974848", "128974848"),
        ("129e6", "129e6"),
        ("129M", "129M"),
        ("123Mi", "123Mi"),
        ("1k", "1k"),
        ("1000", "1k"),
        ("10Gi", "10Gi"),
        ("-0.5", "-500m"),
        ("-1024Mi", "-1Gi"),
        ("-9.01", "-9010m"),
    ];

    #[test]
    fn canonical_forms_match_apimachinery() {
        for (input, expected) in CANONICAL {
            assert_eq!(
                canonical(input).as_deref(),
                Ok(*expected),
                "canonical({input:?})"
            );
            // A canonical form is a fixed point.
            assert_eq!(
                canonical(expected).as_deref(),
                Ok(*expected),
                "canonical({expected:?})"
            );
        }
    }

    #[test]
    fn formats_follow_the_suffix() {
        for (input, format) in [
            ("0", Format::DecimalSi),
            ("1", Format::DecimalSi),
            ("0Ki", Format::BinarySi),
            ("1Ki", Format::BinarySi),
            ("1e3", Format::DecimalExponent),
            ("0.0005k", Format::DecimalSi),
            ("0.5e0", Format::DecimalExponent),
            ("0.000000000001Ki", Format::DecimalSi),
            ("9Ei", Format::BinarySi),
        ] {
            assert_eq!(Quantity::parse(input).unwrap().format(), format, "{input}");
        }
    }

    #[test]
    fn invalid_quantities_are_rejected_with_the_servers_messages() {
        for (input, error) in [
            ("1.1.M", QuantityError::Format),
            ("1+1.0M", QuantityError::Format),
            ("0.1mi", QuantityError::Suffix),
            ("0.1am", QuantityError::Format),
            ("aoeu", QuantityError::Format),
            (".5i", QuantityError::Suffix),
            ("1i", QuantityError::Suffix),
            ("-3.01i", QuantityError::Suffix),
            ("-3.01e-", QuantityError::Suffix),
            ("1e4294967297", QuantityError::Suffix),
            ("1E2147483648", QuantityError::Suffix),
            (" 1", QuantityError::Format),
            ("1 ", QuantityError::Format),
            ("", QuantityError::Format),
            ("1.5 Gi", QuantityError::Format),
        ] {
            assert_eq!(Quantity::parse(input), Err(error.clone()), "{input:?}");
        }
        assert_eq!(
            QuantityError::Format.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn extreme_exponents_saturate_or_round_without_blowing_up() {
        assert_eq!(canonical("1E2147483647").unwrap(), "10e2147483646");
        assert_eq!(canonical("1E-2147483647").unwrap(), "1e-9");
        assert_eq!(
            canonical("12345678901234567890123E2147483647").unwrap(),
            "9223372036854775807"
        );
        let long_fraction = format!("0.{}1", "0".repeat(5000));
        assert_eq!(canonical(&long_fraction).unwrap(), "1n");
        let long_number = "9".repeat(5000);
        assert_eq!(canonical(&long_number).unwrap(), "9223372036854775807");
    }

    #[test]
    fn stored_values_compare_by_canonical_form() {
        assert!(same_stored_value("0.5", "500m"));
        assert!(same_stored_value("1024Mi", "1Gi"));
        assert!(same_stored_value("1000m", "1"));
        assert!(!same_stored_value("1Gi", "1073741824"));
        assert!(!same_stored_value("250m", "500m"));
        assert!(same_stored_value("not a quantity", "not a quantity"));
        assert!(!same_stored_value("not a quantity", "1"));
    }
}
