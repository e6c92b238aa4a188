//! Engineering-notation numbers (`810m`, `214.68f`, `1Meg`) and SI unit prefixes (`pA`, `mV`, `ms`).
//!
//! # Suffix rules
//! The scale suffixes follow SPICE, case-insensitive, with one deliberate exception:
//!
//! | suffix                 | factor | note                                             |
//! |------------------------|--------|--------------------------------------------------|
//! | `a` `A`                | 1e-18  | atto                                             |
//! | `f` `F`                | 1e-15  | femto                                            |
//! | `p` `P`                | 1e-12  | pico                                             |
//! | `n` `N`                | 1e-9   | nano                                             |
//! | `u` `U` `µ` `μ`        | 1e-6   | micro                                            |
//! | `m`                    | 1e-3   | milli (lower case only)                          |
//! | `k` `K`                | 1e3    | kilo                                             |
//! | `M`                    | 1e6    | **mega** (upper case alone)                      |
//! | `Meg` `MEG` `meg` ...  | 1e6    | mega, SPICE spelling, any case                   |
//! | `g` `G`                | 1e9    | giga                                             |
//! | `t` `T`                | 1e12   | tera                                             |
//!
//! In SPICE decks `M` means milli, but Virtuoso's ViVA and OCEAN `ocnPrint` print mega as `M` (and milli as `m`),
//! and those are the files this crate reads. So `m` is milli, a lone `M` is mega and `Meg` in any case is mega.
//! Anything else after the number (units such as `810mV`, `x`, `mil`) is rejected: silently ignoring trailing
//! letters, as SPICE does, would let `1.2x` or a mangled cell through as a wrong number.
//!
//! The mantissa may carry a sign, a decimal point and an exponent (`-1.5e-3`, `2E6`, `.5`, `3.`); an exponent and
//! a suffix may be combined (`1e3m` = 1). The result is correctly rounded: `810m` gives the `f64` nearest to 0.81.

/// Why a text cell is not an acceptable number. Internal: the importers turn it into an
/// [`ImportErrorKind`](super::ImportErrorKind) with the file position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NumberError {
    /// The cell is empty (only white space).
    Empty,
    /// The cell does not start with a number.
    NotANumber,
    /// A number followed by a suffix that is not a known scale suffix.
    UnknownSuffix(String),
    /// `NaN`, `inf`, or a value that overflows `f64`.
    NonFinite,
}

/// Parse a number in engineering notation and return its value in SI (the suffix applied), or `None` if the text
/// is not a finite number with an optional known suffix.
///
/// `"810m"` -> 0.81, `"214.68f"` -> 2.1468e-13, `"3Meg"` -> 3e6, `"2M"` -> 2e6 (ViVA/OCEAN convention, see the
/// module documentation), `"-1.5e-3"` -> -0.0015, `"1.2x"` -> `None`, `"NaN"` -> `None`.
pub fn parse_engineering(s: &str) -> Option<f64> {
    parse_number(s).ok()
}

/// [`parse_engineering`] with the reason for a rejection.
pub(crate) fn parse_number(s: &str) -> Result<f64, NumberError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    let bytes = s.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    if bytes[0] == b'+' || bytes[0] == b'-' {
        i = 1;
    }
    // `i` only ever advances over ASCII bytes, so every `s[..i]` / `s[i..]` below is on a char boundary.
    let word = s[i..].to_ascii_lowercase();
    if matches!(word.as_str(), "nan" | "inf" | "infinity") {
        return Err(NumberError::NonFinite);
    }
    let int_start = i;
    while i < n && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < n && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < n && bytes[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    if int_digits + frac_digits == 0 {
        return Err(NumberError::NotANumber);
    }
    let mantissa_end = i;
    let mut exponent: i64 = 0;
    if i < n && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        let mut negative = false;
        if j < n && (bytes[j] == b'+' || bytes[j] == b'-') {
            negative = bytes[j] == b'-';
            j += 1;
        }
        let digits_start = j;
        let mut value: i64 = 0;
        while j < n && bytes[j].is_ascii_digit() {
            // Saturate: anything beyond +-100000 is zero or infinite anyway.
            value = (value * 10 + i64::from(bytes[j] - b'0')).min(100_000);
            j += 1;
        }
        if j > digits_start {
            exponent = if negative { -value } else { value };
            i = j;
        }
        // else: an `e` without digits is not an exponent; it is left as an (unknown) suffix.
    }
    let suffix = &s[i..];
    let shift = suffix_exponent(suffix).ok_or_else(|| NumberError::UnknownSuffix(suffix.to_string()))?;
    let text = format!("{}e{}", &s[..mantissa_end], exponent + shift);
    let value: f64 = text.parse().map_err(|_| NumberError::NotANumber)?;
    if !value.is_finite() {
        return Err(NumberError::NonFinite);
    }
    Ok(value)
}

/// The power of ten of a scale suffix (`""` -> 0, `"m"` -> -3, `"M"` / `"Meg"` -> 6), `None` if unknown.
fn suffix_exponent(suffix: &str) -> Option<i64> {
    if suffix.eq_ignore_ascii_case("meg") {
        return Some(6);
    }
    Some(match suffix {
        "" => 0,
        "m" => -3,
        "M" => 6,
        "a" | "A" => -18,
        "f" | "F" => -15,
        "p" | "P" => -12,
        "n" | "N" => -9,
        "u" | "U" | "µ" | "μ" => -6,
        "k" | "K" => 3,
        "g" | "G" => 9,
        "t" | "T" => 12,
        _ => return None,
    })
}

/// Split a unit as written in a file or descriptor (`"pA"`, `"mV"`, `"ms"`, `"A"`, `"1"`) into the factor that
/// converts a value in that unit to SI and the SI base unit: `"A"` (current), `"V"` (voltage), `"s"` (time) or
/// `"1"` (dimensionless; written `1`, `-` or left empty). `None` for any other unit.
///
/// Prefixes: `a f p n u µ m k M G T` (here `m` is milli and `M` is mega, as in SI).
/// `si_unit("nA") == Some((1e-9, "A"))`, `si_unit("mV") == Some((1e-3, "V"))`, `si_unit("Hz") == None`.
pub fn si_unit(unit: &str) -> Option<(f64, &'static str)> {
    let unit = unit.trim();
    if unit.is_empty() || unit == "1" || unit == "-" {
        return Some((1.0, "1"));
    }
    let base_of = |s: &str| -> Option<&'static str> {
        match s {
            "A" => Some("A"),
            "V" => Some("V"),
            "s" => Some("s"),
            _ => None,
        }
    };
    if let Some(base) = base_of(unit) {
        return Some((1.0, base));
    }
    let mut chars = unit.chars();
    let prefix = chars.next()?;
    let base = base_of(chars.as_str())?;
    let factor = match prefix {
        'a' => 1e-18,
        'f' => 1e-15,
        'p' => 1e-12,
        'n' => 1e-9,
        'u' | 'µ' | 'μ' => 1e-6,
        'm' => 1e-3,
        'k' => 1e3,
        'M' => 1e6,
        'G' => 1e9,
        'T' => 1e12,
        _ => return None,
    };
    Some((factor, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_exponents() {
        assert_eq!(parse_engineering("0"), Some(0.0));
        assert_eq!(parse_engineering("42"), Some(42.0));
        assert_eq!(parse_engineering("-3.5"), Some(-3.5));
        assert_eq!(parse_engineering("+2.5"), Some(2.5));
        assert_eq!(parse_engineering(".5"), Some(0.5));
        assert_eq!(parse_engineering("3."), Some(3.0));
        assert_eq!(parse_engineering("1.703703704e-11"), Some(1.703703704e-11));
        assert_eq!(parse_engineering("2E6"), Some(2e6));
        assert_eq!(parse_engineering("-1.5e-3"), Some(-1.5e-3));
        assert_eq!(parse_engineering("  7e+2 "), Some(700.0));
    }

    #[test]
    fn suffixes_are_exact() {
        assert_eq!(parse_engineering("810m"), Some(0.81));
        assert_eq!(parse_engineering("214.68f"), Some(214.68e-15));
        assert_eq!(parse_engineering("1.2u"), Some(1.2e-6));
        assert_eq!(parse_engineering("1.2U"), Some(1.2e-6));
        assert_eq!(parse_engineering("1.2µ"), Some(1.2e-6));
        assert_eq!(parse_engineering("3n"), Some(3e-9));
        assert_eq!(parse_engineering("5p"), Some(5e-12));
        assert_eq!(parse_engineering("5P"), Some(5e-12));
        assert_eq!(parse_engineering("2k"), Some(2e3));
        assert_eq!(parse_engineering("2K"), Some(2e3));
        assert_eq!(parse_engineering("1G"), Some(1e9));
        assert_eq!(parse_engineering("1T"), Some(1e12));
        assert_eq!(parse_engineering("1a"), Some(1e-18));
        assert_eq!(parse_engineering("-25p"), Some(-25e-12));
        assert_eq!(parse_engineering("1e3m"), Some(1.0));
        assert_eq!(parse_engineering("2.5e-3k"), Some(2.5));
    }

    #[test]
    fn milli_mega_and_meg() {
        assert_eq!(parse_engineering("2m"), Some(2e-3));
        assert_eq!(parse_engineering("2M"), Some(2e6), "lone M is mega (ViVA / ocnPrint)");
        assert_eq!(parse_engineering("3Meg"), Some(3e6));
        assert_eq!(parse_engineering("3MEG"), Some(3e6));
        assert_eq!(parse_engineering("3meg"), Some(3e6));
        assert_eq!(parse_engineering("-1.5Meg"), Some(-1.5e6));
    }

    #[test]
    fn rejections() {
        assert_eq!(parse_engineering("1.2x"), None);
        assert_eq!(parse_number("1.2x"), Err(NumberError::UnknownSuffix("x".into())));
        assert_eq!(parse_number("810mV"), Err(NumberError::UnknownSuffix("mV".into())));
        assert_eq!(parse_number("1e"), Err(NumberError::UnknownSuffix("e".into())));
        assert_eq!(parse_number("abc"), Err(NumberError::NotANumber));
        assert_eq!(parse_number("-"), Err(NumberError::NotANumber));
        assert_eq!(parse_number("."), Err(NumberError::NotANumber));
        assert_eq!(parse_number(""), Err(NumberError::Empty));
        assert_eq!(parse_number("   "), Err(NumberError::Empty));
        assert_eq!(parse_number("NaN"), Err(NumberError::NonFinite));
        assert_eq!(parse_number("-inf"), Err(NumberError::NonFinite));
        assert_eq!(parse_number("Infinity"), Err(NumberError::NonFinite));
        assert_eq!(parse_number("1e400"), Err(NumberError::NonFinite));
        assert_eq!(parse_number("1e99999999999999999999"), Err(NumberError::NonFinite));
        assert_eq!(parse_engineering("1e-99999999999999"), Some(0.0));
        assert_eq!(parse_engineering("1 2"), None);
        assert_eq!(parse_engineering("0x10"), None);
    }

    #[test]
    fn units() {
        assert_eq!(si_unit("A"), Some((1.0, "A")));
        assert_eq!(si_unit("pA"), Some((1e-12, "A")));
        assert_eq!(si_unit("fA"), Some((1e-15, "A")));
        assert_eq!(si_unit("uA"), Some((1e-6, "A")));
        assert_eq!(si_unit("nA"), Some((1e-9, "A")));
        assert_eq!(si_unit("mV"), Some((1e-3, "V")));
        assert_eq!(si_unit("uV"), Some((1e-6, "V")));
        assert_eq!(si_unit("ms"), Some((1e-3, "s")));
        assert_eq!(si_unit(" s "), Some((1.0, "s")));
        assert_eq!(si_unit("1"), Some((1.0, "1")));
        assert_eq!(si_unit(""), Some((1.0, "1")));
        assert_eq!(si_unit("Hz"), None);
        assert_eq!(si_unit("mA "), Some((1e-3, "A")));
        assert_eq!(si_unit("xV"), None);
        assert_eq!(si_unit("VV"), None);
    }
}
