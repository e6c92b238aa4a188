//! Progress-bar text: counts with thousands separators (`8,952,359`) and rates with an SI prefix and three
//! significant digits (`8.95 M/s`), instead of indicatif's `{per_sec}` (`8,952,359.5198/s`).

use indicatif::{ProgressState, ProgressStyle};

/// `n` with `,` between groups of three digits: `8952359` -> `8,952,359`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second with three significant digits and an SI prefix: `8952359.5` -> `8.95 M/s`, `12.5` ->
/// `12.5 /s`, `0.5` -> `0.50 /s`; `-` for a rate not known yet (NaN, infinite or negative).
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec < 0.0 {
        return "- /s".to_string();
    }
    let mut value = per_sec;
    let mut prefix = "";
    for p in ["k", "M", "G", "T", "P"] {
        // Round first, so that 999.6 becomes 1.00 k rather than 1000 /s.
        if format!("{value:.3}").parse::<f64>().unwrap_or(value) < 999.5 {
            break;
        }
        value /= 1000.0;
        prefix = p;
    }
    let digits = if value >= 99.95 {
        0
    } else if value >= 9.995 {
        1
    } else {
        2
    };
    let unit = if prefix.is_empty() { "/s".to_string() } else { format!("{prefix}/s") };
    if value == 0.0 {
        return format!("0 {unit}");
    }
    format!("{value:.digits$} {unit}")
}

/// A bar style from `template`, with two extra keys: `{count}` (`1,234/5,000`: position and length with
/// separators) and `{rate}` (`8.95 M/s`).
pub fn style(template: &str, fallback: ProgressStyle) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| {
            s.with_key("count", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = match state.len() {
                    Some(len) => write!(w, "{}/{}", count(state.pos()), count(len)),
                    None => write!(w, "{}", count(state.pos())),
                };
            })
            .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", rate(state.per_sec()));
            })
        })
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(8_952_359), "8,952,359");
        assert_eq!(count(123_456_789_012), "123,456,789,012");
    }

    #[test]
    fn rates_have_three_significant_digits_and_a_prefix() {
        assert_eq!(rate(8_952_359.519_8), "8.95 M/s");
        assert_eq!(rate(12.5), "12.5 /s");
        assert_eq!(rate(0.5), "0.50 /s");
        assert_eq!(rate(0.0), "0 /s");
        assert_eq!(rate(999.4), "999 /s");
        assert_eq!(rate(999.6), "1.00 k/s");
        assert_eq!(rate(123_456.0), "123 k/s");
        assert_eq!(rate(2.5e9), "2.50 G/s");
        assert_eq!(rate(f64::NAN), "- /s");
        assert_eq!(rate(f64::INFINITY), "- /s");
        assert_eq!(rate(-1.0), "- /s");
    }

    #[test]
    fn the_templates_parse() {
        for t in [
            "{prefix:>12} [{bar:40}] {count} {rate} eta {eta}",
            "{elapsed_precise} [{bar:30}] {count} ngspice runs {msg}",
        ] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
