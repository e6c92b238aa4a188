//! Tabular output: CSV files with one header row of `name_unit` columns, written atomically.
//!
//! Values are written with Rust's shortest round-trip formatting, so a CSV read back gives the same f64; whole
//! numbers below 1e15 (counts, class labels) are written as integers.

use super::atomic::{write_atomic, OutputError};
use std::fmt::Write as _;
use std::path::Path;

/// Render named columns (equal lengths) as CSV text.
pub fn to_csv(columns: &[(&str, &[f64])]) -> String {
    let n = columns.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let mut s = String::with_capacity(n * columns.len() * 14);
    s.push_str(&columns.iter().map(|(h, _)| *h).collect::<Vec<_>>().join(","));
    s.push('\n');
    for k in 0..n {
        for (j, (_, c)) in columns.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            if let Some(&v) = c.get(k) {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    // Counts, classes and whole numbers read as integers (`98`, not `9.8e1`); exact in f64.
                    let _ = write!(s, "{}", v as i64);
                } else {
                    let _ = write!(s, "{v:e}");
                }
            }
        }
        s.push('\n');
    }
    s
}

/// Write named columns as a CSV file, atomically.
pub fn write_csv(path: &Path, columns: &[(&str, &[f64])]) -> Result<(), OutputError> {
    write_atomic(path, to_csv(columns).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_integers() {
        let text = to_csv(&[("true", &[1.0, 98.0, -3.0]), ("x", &[0.5, 0.0, 1e20])]);
        assert_eq!(text, "true,x\n1,5e-1\n98,0\n-3,1e20\n");
    }

    #[test]
    fn values_round_trip_exactly() {
        let a = [0.1, 1.0 / 3.0, -2.5e-13];
        let b = [1e300, 0.0, 7.0];
        let text = to_csv(&[("t_s", &a), ("v_h_V", &b)]);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("t_s,v_h_V"));
        for (k, line) in lines.enumerate() {
            let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            assert_eq!(v, vec![a[k], b[k]]);
        }
    }
}
