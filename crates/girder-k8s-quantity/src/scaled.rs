//! A quantity as a whole number at a scale, rounded up as `resource.Quantity`'s `Value` and
//! `MilliValue` round — what the scheduler compares requests with (millicores, bytes).

use crate::Quantity;

impl Quantity {
    /// The value rounded up to a whole number (`Value()`: `1.5` → 2, `1Gi` → 1073741824), or
    /// `None` if it does not fit an `i128`.
    ///
    /// ```
    /// use girder_k8s_quantity::Quantity;
    /// assert_eq!(Quantity::parse("1Gi").unwrap().value_ceil(), Some(1 << 30));
    /// assert_eq!(Quantity::parse("100m").unwrap().value_ceil(), Some(1));
    /// ```
    pub fn value_ceil(&self) -> Option<i128> {
        self.scaled_ceil(0)
    }

    /// The value in thousandths, rounded up (`MilliValue()`: `0.5` → 500, `250m` → 250): a
    /// CPU quantity in millicores. `None` if it does not fit an `i128`.
    ///
    /// ```
    /// use girder_k8s_quantity::Quantity;
    /// assert_eq!(Quantity::parse("1.5").unwrap().milli_value_ceil(), Some(1500));
    /// assert_eq!(Quantity::parse("0.5m").unwrap().milli_value_ceil(), Some(1));
    /// ```
    pub fn milli_value_ceil(&self) -> Option<i128> {
        self.scaled_ceil(3)
    }

    /// `value × 10^shift`, rounded toward positive infinity.
    fn scaled_ceil(&self, shift: i64) -> Option<i128> {
        let power = self.exponent.checked_add(shift)?;
        let magnitude = if power >= 0 {
            let factor = 10u128.checked_pow(u32::try_from(power).ok()?)?;
            self.unscaled.checked_mul(factor)?
        } else {
            // A divisor past u128 exceeds any mantissa: the quotient is 0, the remainder all.
            match u32::try_from(-power)
                .ok()
                .and_then(|p| 10u128.checked_pow(p))
            {
                Some(divisor) => {
                    let rounded_up = !self.negative && !self.unscaled.is_multiple_of(divisor);
                    self.unscaled / divisor + u128::from(rounded_up)
                }
                None => u128::from(!self.negative && self.unscaled != 0),
            }
        };
        let magnitude = i128::try_from(magnitude).ok()?;
        Some(if self.negative { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use crate::Quantity;

    fn milli(text: &str) -> Option<i128> {
        Quantity::parse(text).ok()?.milli_value_ceil()
    }

    #[test]
    fn scaled_values_round_up_like_the_api_server() {
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(milli("250m"), Some(250));
        assert_eq!(milli("1e3"), Some(1_000_000));
        assert_eq!(milli("-1.5m"), Some(-1));
        assert_eq!(milli("0"), Some(0));
        assert_eq!(milli("1n"), Some(1));
        let value = |t: &str| Quantity::parse(t).ok()?.value_ceil();
        assert_eq!(value("128Mi"), Some(128 << 20));
        assert_eq!(value("1.5Ki"), Some(1536));
        assert_eq!(value("1k"), Some(1000));
        assert_eq!(value("1E"), Some(10i128.pow(18)));
    }
}
