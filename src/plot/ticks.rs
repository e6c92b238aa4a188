//! Axis ranges, tick values and tick labels, colours.

/// Ten distinguishable colours (matplotlib "tab10"), used when a series has no colour.
pub(crate) const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Colours of horizontal reference lines (dark, distinct from the first series colours).
pub(crate) const HLINE_PALETTE: [(u8, u8, u8); 4] = [(217, 95, 2), (27, 158, 119), (117, 112, 179), (90, 90, 90)];

/// Smallest and largest finite value, `None` if there is none.
pub(crate) fn finite_range<I: IntoIterator<Item = f64>>(values: I) -> Option<(f64, f64)> {
    values.into_iter().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Merge two optional ranges.
pub(crate) fn union(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, None) => a,
        (None, b) => b,
    }
}

/// An axis range for data spanning `r`: padded by `pad` of the span on each side; a missing range gives
/// 0..1, a (nearly) constant one a small span around the value. The result is finite and increasing.
pub(crate) fn axis_range(r: Option<(f64, f64)>, pad: f64) -> (f64, f64) {
    let Some((lo, hi)) = r else { return (0.0, 1.0) };
    let mid = 0.5 * (lo + hi);
    let span = hi - lo;
    if !span.is_finite() {
        // Values near ±f64::MAX: no padding, keep them drawable.
        return (lo.max(-f64::MAX / 4.0), hi.min(f64::MAX / 4.0).max(lo.max(-f64::MAX / 4.0) + 1.0));
    }
    if span <= mid.abs() * 1e-9 || span == 0.0 {
        let half = if mid == 0.0 { 1.0 } else { mid.abs() * 0.05 };
        return (mid - half, mid + half);
    }
    (lo - pad * span, hi + pad * span)
}

/// A logarithmic axis range for positive data: padded by a few percent in log space; missing data gives
/// 1..10, a constant value one decade around it.
pub(crate) fn log_axis_range(r: Option<(f64, f64)>) -> (f64, f64) {
    match r {
        None => (1.0, 10.0),
        Some((lo, hi)) if hi <= lo * (1.0 + 1e-9) => (lo / 3.0, hi * 3.0),
        Some((lo, hi)) => {
            let f = (hi / lo).powf(0.03);
            (lo / f, hi * f)
        }
    }
}

/// "Nice" tick values (steps of 1, 2 or 5 times a power of ten) inside `lo..=hi`, about `target` of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return if lo.is_finite() { vec![lo] } else { vec![] };
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    if !(last - first).is_finite() || last - first > 1000.0 {
        return vec![lo, hi];
    }
    (0..=((last - first) as i64))
        .map(|k| (first + k as f64) * step)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

/// A tick-label formatter for an axis spanning `lo..hi` with about ten ticks: fixed notation with just
/// enough decimals, scientific notation for very large or very small magnitudes.
pub(crate) fn tick_formatter(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let mag = lo.abs().max(hi.abs());
    let step = ((hi - lo) / 10.0).abs();
    let sci = mag >= 1e5 || (mag > 0.0 && mag < 1e-3);
    let decimals = if step > 0.0 && step.is_finite() { (-step.log10()).ceil().clamp(0.0, 9.0) as usize } else { 2 };
    let sig = if step > 0.0 && mag > 0.0 { ((mag / step).log10().ceil() as usize).clamp(1, 6) } else { 3 };
    move |v: &f64| format_value(*v, sci, decimals, sig)
}

fn format_value(v: f64, sci: bool, decimals: usize, sig: usize) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".into();
    }
    // One digit more than the estimated tick step needs, trailing zeros trimmed: exact for any step
    // plotters picks, short for round values.
    let s = if sci {
        let s = format!("{:.*e}", sig, v);
        match s.split_once('e') {
            Some((m, e)) if m.contains('.') => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
            _ => s,
        }
    } else {
        let s = format!("{:.*}", decimals + 1, v);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    // "-0.00" reads badly
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A short label for a colour-bar tick or a log-axis tick (up to 4 significant digits).
pub(crate) fn short_label(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{:.2e}", v);
        // 1.00e3 -> 1e3
        return s.replace(".00e", "e").replace("0e", "e");
    }
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Linear interpolation between colour stops, `t` in 0..=1.
pub(crate) fn lerp_stops(stops: &[(u8, u8, u8)], t: f64) -> (u8, u8, u8) {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let n = stops.len();
    if n == 0 {
        return (0, 0, 0);
    }
    if n == 1 {
        return stops[0];
    }
    let x = t * (n - 1) as f64;
    let i = (x.floor() as usize).min(n - 2);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round().clamp(0.0, 255.0) as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Viridis (perceptually uniform, colour-blind safe), sampled at 9 stops.
pub(crate) const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// White to dark blue (ColorBrewer "Blues").
pub(crate) const BLUES: [(u8, u8, u8); 6] =
    [(247, 251, 255), (198, 219, 239), (107, 174, 214), (49, 130, 189), (8, 81, 156), (8, 48, 107)];

/// Blue - white - red diverging map (ColorBrewer "RdBu", reversed so negative is blue).
pub(crate) const DIVERGING: [(u8, u8, u8); 7] =
    [(33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247), (253, 219, 199), (239, 138, 98), (178, 24, 43)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_finite_and_increasing() {
        assert_eq!(axis_range(None, 0.05), (0.0, 1.0));
        let (a, b) = axis_range(Some((2.0, 2.0)), 0.05);
        assert!(a < 2.0 && b > 2.0);
        let (a, b) = axis_range(Some((0.0, 0.0)), 0.05);
        assert!(a < 0.0 && b > 0.0);
        let (a, b) = axis_range(Some((-f64::MAX, f64::MAX)), 0.05);
        assert!(a.is_finite() && b.is_finite() && a < b);
        assert_eq!(finite_range([f64::NAN, 1.0, f64::INFINITY, -2.0]), Some((-2.0, 1.0)));
        assert_eq!(finite_range([f64::NAN]), None);
        let (a, b) = log_axis_range(Some((5.0, 5.0)));
        assert!(a < 5.0 && b > 5.0);
    }

    #[test]
    fn ticks_and_labels() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert!(nice_ticks(1.0, 1.0, 5).len() == 1);
        let f = tick_formatter(0.0, 1.0);
        assert_eq!(f(&0.5), "0.5");
        let f = tick_formatter(0.0, 3e-12);
        assert_eq!(f(&1e-12), "1e-12");
        assert_eq!(f(&2.5e-12), "2.5e-12");
        let f = tick_formatter(0.0, 1.0);
        assert_eq!((f(&0.8), f(&0.25), f(&0.0), f(&-0.0000001)), ("0.8".into(), "0.25".into(), "0".into(), "0".into()));
        let f = tick_formatter(0.0, 200.0);
        assert_eq!((f(&40.0), f(&-20.0)), ("40".into(), "-20".into()));
        assert_eq!(short_label(0.25), "0.25");
        assert_eq!(short_label(1000.0), "1000");
        assert_eq!(short_label(-0.0), "0");
        assert_eq!(lerp_stops(&BLUES, 0.0), BLUES[0]);
        assert_eq!(lerp_stops(&BLUES, 1.0), BLUES[5]);
    }
}
