//! ngspice `wrdata` output (`ngspice`).
//!
//! ```text
//! * wrdata out.txt v(vh) i(vica)          (lines starting with * or # are comments)
//!  0.000000e+00  9.000000e-01  0.000000e+00  1.700000e-11
//!  1.000000e-03  9.002000e-01  1.000000e-03  1.650000e-11
//! ```
//! White-space separated columns. By default `wrdata` repeats the scale (time) before every vector:
//! `t v1 t v2 ...`; the repeated time columns must equal the first one. With `set wr_singlescale` the time is
//! written once: `t v1 v2 ...`. With `set wr_vecnames` the first line holds the vector names (a first line with a
//! number in it is data).
//!
//! Which layout a file has: with `k` vector names from the options ([`GenericOptions::columns`], e.g. a
//! descriptor's `columns: [v(vh), i(vica)]` or `columns: 2`) a row of `2k` columns is the repeated-scale layout
//! and `k + 1` columns the single-scale layout. Without names, a header line decides (the scale name repeated at
//! every even position), otherwise the data: an even number of columns whose even columns equal the first one on
//! the first two rows is the repeated-scale layout. Give the names when in doubt.
//!
//! Trace names: the option names, else the header names, else `v1`, `v2`, ... Units are implied by names
//! `v(...)` (V) and `i(...)` / `...#branch` (A). `time_scale` from the options multiplies the time.

use std::collections::BTreeMap;

use super::engineering::parse_number;
use super::fast::{self, RowSpec, Sep};
use super::text::{self, Cell, Line};
use super::{check_point, check_unique, Ctx, GenericOptions, ImportError, ImportErrorKind, Trace, TraceBuilder};

fn implied_unit(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("v(") {
        Some("V".into())
    } else if lower.starts_with("i(") || lower.ends_with("#branch") {
        Some("A".into())
    } else {
        None
    }
}

/// Parse `wrdata` output; see the module documentation for the layout rules.
pub(crate) fn parse(
    ctx: &Ctx,
    text: &str,
    options: Option<&GenericOptions>,
    metadata: &mut BTreeMap<String, String>,
    rest: Option<&mut fast::Rest>,
) -> Result<Vec<Trace>, ImportError> {
    let time_scale = options.map_or(1.0, |o| o.time_scale);
    if !(time_scale.is_finite() && time_scale > 0.0) {
        return Err(ctx.file(ImportErrorKind::Invalid {
            expected: "a positive, finite time_scale".into(),
            found: format!("{time_scale}"),
        }));
    }
    let given: Vec<String> = options.map(|o| o.columns.iter().map(|c| c.0.clone()).collect()).unwrap_or_default();

    // Rows are split lazily: only the first three are held to decide the header and the layout, the rest stream
    // straight into the traces (a 5 M-row file must not be held as cells).
    let mut all_lines = text::lines(text).filter(|l| {
        let t = l.text.trim_start();
        !(t.is_empty() || t.starts_with('*') || t.starts_with('#'))
    });
    let mut rows: Vec<(Line, Vec<Cell>)> =
        all_lines.by_ref().take(3).map(|l| (l, text::split_whitespace(l.text))).collect();
    if rows.is_empty() {
        return Err(ctx.at(
            1,
            1,
            ImportErrorKind::Invalid { expected: "wrdata rows `t v1 ...`".into(), found: "no data".into() },
        ));
    }
    // A `wr_vecnames` header holds names only; a first row with a number in it is data (a malformed value there is
    // reported, not taken as a vector name).
    let header = if rows[0].1.iter().all(|c| parse_number(&c.text).is_err()) { Some(rows.remove(0)) } else { None };
    let width = match (&header, rows.first()) {
        (_, Some(first)) => first.1.len(),
        (Some(h), None) => h.1.len(),
        (None, None) => 0,
    };
    let (first_line, first_column) = header.as_ref().or(rows.first()).map_or((1, 1), |r| (r.0.number, 1));
    if width < 2 {
        return Err(ctx.invalid(
            first_line,
            first_column,
            "a time column and at least one vector column",
            format!("{width} column(s)"),
        ));
    }
    if let Some(h) = &header {
        if h.1.len() != width {
            return Err(ctx.at(
                h.0.number,
                1,
                ImportErrorKind::Ragged { expected: format!("{width} (as in the data)"), found: h.1.len() },
            ));
        }
    }

    // Decide the layout.
    let paired = if !given.is_empty() {
        let k = given.len();
        if width == 2 * k {
            true
        } else if width == k + 1 {
            false
        } else {
            return Err(ctx.invalid(
                first_line,
                first_column,
                format!(
                    "{} columns (time repeated before each of the {k} named vectors) or {} (wr_singlescale)",
                    2 * k,
                    k + 1
                ),
                format!("{width} columns"),
            ));
        }
    } else if width % 2 != 0 {
        false
    } else if let Some(h) = &header {
        h.1.iter().step_by(2).all(|c| c.text == h.1[0].text)
    } else {
        rows.iter().take(2).all(|(_, cells)| {
            let t0 = parse_number(&cells[0].text).ok();
            cells.len() == width && cells.iter().step_by(2).all(|c| parse_number(&c.text).ok() == t0)
        })
    };
    let vectors = if paired { width / 2 } else { width - 1 };
    let value_column = |j: usize| if paired { 2 * j + 1 } else { j + 1 };

    let names: Vec<String> = if !given.is_empty() {
        given
    } else if let Some(h) = &header {
        (0..vectors).map(|j| h.1[value_column(j)].text.clone()).collect()
    } else {
        (1..=vectors).map(|j| format!("v{j}")).collect()
    };
    let declared_at = |j: usize| header.as_ref().map_or((first_line, 1), |h| (h.0.number, h.1[value_column(j)].column));
    let located: Vec<_> =
        names.iter().enumerate().map(|(j, n)| (n.clone(), declared_at(j).0, declared_at(j).1)).collect();
    check_unique(ctx, &located)?;
    metadata.insert("ngspice.layout".into(), if paired { "repeated-scale" } else { "single-scale" }.into());
    if let Some(h) = &header {
        metadata.insert("ngspice.header".into(), h.0.text.trim().to_string());
    }

    let mut traces: Vec<TraceBuilder> =
        names.iter().enumerate().map(|(j, n)| TraceBuilder::new(n.clone(), implied_unit(n), declared_at(j))).collect();
    // Data rows: plain rows in parallel blocks (`fast`), every other row line by line here, with its location.
    let first_data_line = header.as_ref().map_or(1, |h| h.0.number + 1);
    drop(rows);
    let spec = RowSpec {
        sep: Sep::Whitespace,
        width,
        time: 0,
        time_factor: time_scale,
        values: (0..vectors).map(|j| (value_column(j), 1.0)).collect(),
        equal_to_time: if paired { (1..vectors).map(|j| 2 * j).collect() } else { Vec::new() },
        comments: true,
    };
    let mut slow = |line: Line, previous: Option<f64>| -> Result<Option<(f64, Vec<f64>)>, ImportError> {
        let start = line.text.trim_start();
        if start.is_empty() || start.starts_with('*') || start.starts_with('#') {
            return Ok(None);
        }
        let cells = text::split_whitespace(line.text);
        if cells.len() != width {
            let column = cells.get(width).map_or_else(|| text::end_column(line.text), |c| c.column);
            return Err(ctx.at(
                line.number,
                column,
                ImportErrorKind::Ragged { expected: width.to_string(), found: cells.len() },
            ));
        }
        let t_raw = ctx.number(line.number, &cells[0], "the time")?;
        let t = t_raw * time_scale;
        let mut values = Vec::with_capacity(vectors);
        for (j, name) in names.iter().enumerate() {
            if paired && j > 0 {
                let scale_cell = &cells[2 * j];
                let tj = ctx.number(line.number, scale_cell, &format!("the time before {name}"))?;
                if tj != t_raw {
                    return Err(ctx.at(
                        line.number,
                        scale_cell.column,
                        ImportErrorKind::ScaleMismatch {
                            vector: name.clone(),
                            expected: cells[0].text.clone(),
                            found: scale_cell.text.clone(),
                        },
                    ));
                }
            }
            let v = ctx.number(line.number, &cells[value_column(j)], name)?;
            check_point(ctx, name, previous, t, v, (line.number, cells[0].column))?;
            values.push(v);
        }
        Ok(Some((t, values)))
    };
    let columns = fast::read_rows(text, first_data_line, &spec, fast::threads(), &mut slow, rest)?;
    fast::fill(&mut traces, columns);
    traces.into_iter().map(|t| t.finish(ctx)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{parse_str, Format, GenericOptions, ImportErrorKind, WaveformFile};
    use std::path::Path;

    /// `wrdata` with the scale repeated before each of two vectors, and a comment line.
    pub(crate) const SAMPLE: &str = "* wrdata out.txt v(vh) i(vica)\n \
        0.000000e+00  9.000000e-01  0.000000e+00  1.700000e-11\n \
        1.000000e-03  9.002000e-01  1.000000e-03  1.650000e-11\n \
        2.500000e-03  8.990000e-01  2.500000e-03 -2.000000e-13\n";

    /// `wrdata` with `wr_singlescale`: one time column and three vectors.
    pub(crate) const SAMPLE_SINGLE: &str = "# singlescale\n0 0.9 1.7e-11 0\n1e-3 0.91 1.6e-11 2e-12\n";

    /// Names for [`SAMPLE_SINGLE`], as a descriptor's `columns:` would give them.
    pub(crate) fn names() -> GenericOptions {
        GenericOptions {
            columns: vec![("v(vh)".into(), "2".into()), ("i(vica)".into(), "3".into()), ("i(vhp)".into(), "4".into())],
            ..GenericOptions::default()
        }
    }

    fn parse(text: &str, options: Option<&GenericOptions>) -> Result<WaveformFile, super::super::ImportError> {
        parse_str(text, Path::new("sim/out.txt"), &Format::Ngspice, options)
    }

    #[test]
    fn repeated_scale_layout() {
        let f = parse(SAMPLE, None).unwrap();
        assert_eq!(f.trace_names(), vec!["v1", "v2"]);
        assert_eq!(f.traces[0].t_s, vec![0.0, 1e-3, 2.5e-3]);
        assert_eq!(f.traces[0].values, vec![0.9, 0.9002, 0.899]);
        assert_eq!(f.traces[1].values, vec![1.7e-11, 1.65e-11, -2e-13]);
        assert_eq!(f.traces[1].unit, None);
        assert_eq!(f.metadata["ngspice.layout"], "repeated-scale");
        let named = GenericOptions {
            columns: vec![("v(vh)".into(), "".into()), ("i(vica)".into(), "".into())],
            time_scale: 1e3,
            ..GenericOptions::default()
        };
        let f = parse(SAMPLE, Some(&named)).unwrap();
        assert_eq!(f.trace_names(), vec!["v(vh)", "i(vica)"]);
        assert_eq!(f.traces[0].unit.as_deref(), Some("V"));
        assert_eq!(f.traces[1].unit.as_deref(), Some("A"));
        assert_eq!(f.traces[1].t_s, vec![0.0, 1.0, 2.5]);
    }

    #[test]
    fn single_scale_layout_with_and_without_names() {
        let f = parse(SAMPLE_SINGLE, Some(&names())).unwrap();
        assert_eq!(f.trace_names(), vec!["v(vh)", "i(vica)", "i(vhp)"]);
        assert_eq!(f.traces[0].values, vec![0.9, 0.91]);
        assert_eq!(f.traces[1].values, vec![1.7e-11, 1.6e-11]);
        assert_eq!(f.traces[2].values, vec![0.0, 2e-12]);
        assert_eq!(f.traces[2].t_s, vec![0.0, 1e-3]);
        assert_eq!(f.metadata["ngspice.layout"], "single-scale");
        let f = parse(SAMPLE_SINGLE, None).unwrap();
        assert_eq!(f.trace_names(), vec!["v1", "v2", "v3"]);
        // four columns whose third is not the time: single scale with three vectors
        let f = parse("0 1 5 6\n1 2 7 8\n", None).unwrap();
        assert_eq!(f.trace_names(), vec!["v1", "v2", "v3"]);
    }

    #[test]
    fn vecnames_header() {
        let f = parse("time v(a) time i(b)\n0 1 0 2\n1 3 1 4\n", None).unwrap();
        assert_eq!(f.trace_names(), vec!["v(a)", "i(b)"]);
        assert_eq!(f.traces[1].values, vec![2.0, 4.0]);
        let f = parse("time v(a) v(b)\n0 1 2\n1 3 4\n", None).unwrap();
        assert_eq!(f.trace_names(), vec!["v(a)", "v(b)"]);
        assert_eq!(f.metadata["ngspice.header"], "time v(a) v(b)");
    }

    #[test]
    fn errors_are_located() {
        let err = parse(&SAMPLE.replace("2.500000e-03 -2", "2.600000e-03 -2"), None).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::ScaleMismatch { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "sim/out.txt:4:30: expected the scale column before vector v2 to repeat the time \"2.500000e-03\", found \"2.600000e-03\""
        );
        let err = parse("0 1\n1 x\n", None).unwrap_err();
        assert_eq!(err.to_string(), "sim/out.txt:2:3: expected a number for v1, found \"x\"");
        let err = parse("0 1\n1 2\n1 3\n", None).unwrap_err();
        assert!(err.to_string().starts_with("sim/out.txt:3:1: expected the time of v1 to increase strictly"), "{err}");
        let err = parse("0 1\n1 2 3\n", None).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::Ragged { .. }));
        assert!(err.to_string().starts_with("sim/out.txt:2:5: "), "{err}");
        let err = parse("0 1\n1 inf\n", None).unwrap_err();
        assert!(err.to_string().starts_with("sim/out.txt:2:3: expected a finite number"), "{err}");
        let err = parse(
            "0 1 2\n",
            Some(&GenericOptions { columns: vec![("a".into(), "".into()); 3], ..GenericOptions::default() }),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("sim/out.txt:1:1: expected 6 columns"), "{err}");
        let err = parse("* only a comment\n", None).unwrap_err();
        assert!(err.to_string().starts_with("sim/out.txt:1:1: "), "{err}");
        let err = parse("time v(a)\n", None).unwrap_err();
        assert_eq!(err.to_string(), "sim/out.txt:1:6: expected at least one data point for v(a), found none");
    }
}
