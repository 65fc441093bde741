//! Fiat values at the edge: daily price series read from CSV, cross rates through a second
//! series (e.g. BTC/USD × USD/JPY), and exact decimal arithmetic from integer satoshis.
//!
//! A price is kept as the decimal written in the file (an integer mantissa and a scale), so
//! `sats × price / 10^8` is computed exactly in i128 and rounded once, half to even, to the
//! currency's minor units (cents; yen have none but are kept to 2 decimals like every currency
//! here, as the price files quote them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};

/// Decimal places of fiat amounts.
pub const FIAT_SCALE: u32 = 2;

/// An exact decimal: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    /// The digits.
    pub mantissa: i128,
    /// Places after the point.
    pub scale: u32,
}

impl Decimal {
    /// Parse `123.45`, `7`, `.5`: the exact non-negative value written (no floating point, no
    /// exponents, at most 18 decimal places).
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty()
            || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        if frac.len() > 18 {
            return None;
        }
        let digits = format!("{int}{frac}");
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(Decimal {
            mantissa,
            scale: frac.len() as u32,
        })
    }

    /// The product, exact.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            scale: self.scale + other.scale,
        })
    }
}

/// Divide with rounding half to even.
fn div_round_half_even(n: i128, d: i128) -> i128 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    // Compare r with d − r rather than 2r with d: no overflow.
    match r.cmp(&(d - r)) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// The fiat value of `sats` at `price` (fiat per coin), in minor units (hundredths), exact up
/// to one rounding half to even. `None` on overflow (beyond ~10^36).
pub fn fiat_minor_units(sats: u128, price: Decimal) -> Option<i128> {
    let n = i128::try_from(sats)
        .ok()?
        .checked_mul(price.mantissa)?
        .checked_mul(10i128.pow(FIAT_SCALE))?;
    let d = 100_000_000i128.checked_mul(10i128.checked_pow(price.scale)?)?;
    Some(div_round_half_even(n, d))
}

/// Minor units as a decimal string with two places (`-12.30`).
pub fn format_minor(units: i128) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let a = units.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Errors of price series.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The file could not be read.
    #[error("cannot read price file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value too large for exact arithmetic.
    #[error("the fiat value of {sats} base units at {price} overflows exact arithmetic; check the price file")]
    Overflow {
        /// The amount.
        sats: u128,
        /// The price, as written.
        price: String,
    },
    /// No price for a date.
    #[error("no {pair} price for {date} in {path}; add it, or set [fiat] previous_day = true to use the last earlier close")]
    Missing {
        /// Which series.
        pair: String,
        /// The date.
        date: NaiveDate,
        /// The file.
        path: PathBuf,
    },
}

/// A daily price series: date → close.
#[derive(Debug, Clone)]
pub struct PriceSeries {
    path: PathBuf,
    column: String,
    closes: BTreeMap<NaiveDate, Decimal>,
}

impl PriceSeries {
    /// Read a CSV with a `date` column (YYYY-MM-DD) and the close in `column` (default: the
    /// first column after `date`). Empty closes are skipped.
    pub fn read(path: &Path, column: Option<&str>) -> Result<PriceSeries, PriceError> {
        let text = std::fs::read_to_string(path).map_err(|source| PriceError::Io {
            path: path.into(),
            source,
        })?;
        let err = |line: usize, message: String| PriceError::Line {
            path: path.into(),
            line,
            message,
        };
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .collect();
        let date_ix = header
            .iter()
            .position(|h| *h == "date")
            .ok_or_else(|| err(1, "no `date` column".into()))?;
        let value_ix = match column {
            Some(c) => header.iter().position(|h| *h == c).ok_or_else(|| {
                err(
                    1,
                    format!("no `{c}` column; the columns are {}", header.join(", ")),
                )
            })?,
            None => (0..header.len())
                .find(|&i| i != date_ix)
                .ok_or_else(|| err(1, "no price column".into()))?,
        };
        let mut closes = BTreeMap::new();
        for (i, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            let (Some(d), Some(v)) = (fields.get(date_ix), fields.get(value_ix)) else {
                continue;
            };
            if v.trim().is_empty() {
                continue;
            }
            let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|e| err(i + 2, format!("date '{d}': {e}")))?;
            let price = Decimal::parse(v)
                .ok_or_else(|| err(i + 2, format!("price '{v}' is not a decimal number")))?;
            if closes.insert(date, price).is_some() {
                return Err(err(i + 2, format!("{date} appears twice")));
            }
        }
        Ok(PriceSeries {
            path: path.into(),
            column: header[value_ix].to_string(),
            closes,
        })
    }

    /// The date whose close stands in for `date` when the series has none for it: the last
    /// earlier date (None when `date` has its own close or nothing earlier exists).
    pub fn stand_in(&self, date: NaiveDate) -> Option<NaiveDate> {
        if self.closes.contains_key(&date) {
            return None;
        }
        self.closes.range(..date).next_back().map(|(d, _)| *d)
    }

    /// The close on `date`, or with `previous_day` the last close before it.
    pub fn on(&self, date: NaiveDate, previous_day: bool) -> Result<Decimal, PriceError> {
        let found = if previous_day {
            self.closes.range(..=date).next_back().map(|(_, p)| *p)
        } else {
            self.closes.get(&date).copied()
        };
        found.ok_or_else(|| PriceError::Missing {
            pair: self.column.clone(),
            date,
            path: self.path.clone(),
        })
    }
}

/// A missing close replaced by an earlier one (`[fiat] previous_day = true`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct StandIn {
    /// The series (its price column).
    pub series: String,
    /// The day that had no close.
    pub date: String,
    /// The day whose close was used.
    pub used: String,
}

/// How to value coins in fiat: a direct series, or a series times a cross rate.
#[derive(Debug, Clone)]
pub struct Pricing {
    /// The fiat currency's code.
    pub currency: String,
    /// Coin price series.
    pub prices: PriceSeries,
    /// Optional cross rate (fiat per unit of the first series' currency).
    pub cross: Option<PriceSeries>,
    /// Use the last earlier close when a date is missing.
    pub previous_day: bool,
}

impl Pricing {
    /// Fiat per coin at the UTC day of `unix_time`.
    pub fn price_at(&self, unix_time: u32) -> Result<Decimal, PriceError> {
        let date = DateTime::from_timestamp(unix_time as i64, 0)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let p = self.prices.on(date, self.previous_day)?;
        match &self.cross {
            None => Ok(p),
            Some(c) => {
                let x = c.on(date, self.previous_day)?;
                p.checked_mul(x).ok_or_else(|| PriceError::Line {
                    path: c.path.clone(),
                    line: 0,
                    message: "price times cross rate overflows".into(),
                })
            }
        }
    }

    /// The closes used in place of missing ones for the day of `unix_time` (with
    /// `previous_day`): one entry per series that lacks the day.
    pub fn stand_ins(&self, unix_time: u32) -> Vec<StandIn> {
        if !self.previous_day {
            return Vec::new();
        }
        let date = DateTime::from_timestamp(unix_time as i64, 0)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        std::iter::once(&self.prices)
            .chain(self.cross.as_ref())
            .filter_map(|s| {
                s.stand_in(date).map(|used| StandIn {
                    series: s.column.clone(),
                    date: date.to_string(),
                    used: used.to_string(),
                })
            })
            .collect()
    }

    /// The value of `sats` at `unix_time`, in minor units.
    pub fn value(&self, sats: u128, unix_time: u32) -> Result<i128, PriceError> {
        let price = self.price_at(unix_time)?;
        fiat_minor_units(sats, price)
            .filter(|v| v.unsigned_abs() < 10u128.pow(38))
            .ok_or_else(|| PriceError::Overflow {
                sats,
                price: format!("{}e-{}", price.mantissa, price.scale),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(
            Decimal::parse("728796.18"),
            Some(Decimal {
                mantissa: 72_879_618,
                scale: 2
            })
        );
        assert_eq!(
            Decimal::parse("7"),
            Some(Decimal {
                mantissa: 7,
                scale: 0
            })
        );
        assert_eq!(Decimal::parse("1.2.3"), None);
        assert_eq!(Decimal::parse("abc"), None);
        assert_eq!(Decimal::parse("-5"), None, "no negative prices");
        assert_eq!(Decimal::parse("1e5"), None, "no exponents");
        assert_eq!(
            Decimal::parse(".5"),
            Some(Decimal {
                mantissa: 5,
                scale: 1
            })
        );
        // 1 BTC at 728796.18 → 728796.18 exactly; 1 sat → 0.00728796… → 0.01 after rounding.
        let p = Decimal::parse("728796.18").unwrap();
        assert_eq!(fiat_minor_units(100_000_000, p), Some(72_879_618));
        assert_eq!(fiat_minor_units(1, p), Some(1));
        assert_eq!(format_minor(72_879_618), "728796.18");
        assert_eq!(format_minor(-5), "-0.05");
    }

    #[test]
    fn rounding_is_half_to_even() {
        assert_eq!(div_round_half_even(5, 2), 2);
        assert_eq!(div_round_half_even(7, 2), 4);
        assert_eq!(div_round_half_even(-5, 2), -2);
        assert_eq!(div_round_half_even(i128::MAX - 1, i128::MAX), 1);
        assert_eq!(div_round_half_even(9, 4), 2);
    }
}
