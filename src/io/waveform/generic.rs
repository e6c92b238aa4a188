//! Oscilloscope / SMU CSV (`generic`), read through a [`GenericOptions`] column map.
//!
//! ```text
//! Model,DSOX1204G                      <- header_lines: 2 metadata lines (`key,value` or `key: value`)
//! Sample interval: 1e-6
//! Time (ms),CH1 (mV),Current [nA]      <- header row
//! 0.0,900.0,17.0                       <- data
//! 0.5,900.2,20.5
//! ```
//! * The first `header_lines` lines are metadata: `key,value...` (split at the delimiter) or `key: value` lines
//!   become entries, any other non-blank line is kept as `line.N`.
//! * The next non-blank line is the header row, unless its time cell and the cells of the traces are all numbers:
//!   then the file has no header row (Tektronix TDS2000: `Record Length,2.5e+03,,-1.25e-4,0.04,`) and that line is
//!   the first data row; traces without a `columns` map are then named `column5` etc.
//! * The delimiter (`,`, `;` or tab) is the option's, or the one that
//!   occurs most in the header row (on a tie: tab, then `;`, then `,`).
//! * `time_column` and the `columns` map select columns by header text (with or without its unit: `Time (ms)` or
//!   `Time`), case-insensitively if nothing matches exactly, or by 1-based index. Without a `columns` map every
//!   other named column becomes a trace named after its header (without the unit).
//! * A unit in the header, `(mV)` or `[nA]`, is converted to SI (`mV` -> V). The time column is converted by
//!   `time_scale` if it is not 1, otherwise by its header unit (`ms`, `us`, `s`; none = seconds).
//! * Every data row has the header's number of cells (more are allowed only if empty); each selected cell must be
//!   a finite number (engineering suffixes accepted); time must increase strictly.

use std::collections::BTreeMap;

use super::fast::{self, RowSpec, Sep};
use super::text::{self, Line};
use super::{
    check_point, check_unique, convert_unit, parse_engineering, si_unit, Ctx, GenericOptions, ImportError,
    ImportErrorKind, Trace, TraceBuilder,
};

/// The delimiter that occurs most often (outside quotes) in `line`.
fn detect_delimiter(line: &str) -> char {
    let mut counts = [(0usize, '\t'), (0, ';'), (0, ',')];
    let mut in_quote = false;
    for c in line.chars() {
        if c == '"' {
            in_quote = !in_quote;
        } else if !in_quote {
            for (n, d) in counts.iter_mut() {
                if c == *d {
                    *n += 1;
                }
            }
        }
    }
    // max_by_key returns the last maximum, so order `counts` from the least to the most preferred on a tie.
    counts.iter().rev().max_by_key(|(n, _)| *n).map_or(',', |(n, d)| if *n == 0 { ',' } else { *d })
}

/// `Time (ms)` -> (`Time`, `ms`); `Current [nA]` -> (`Current`, `nA`); `CH1` -> (`CH1`, none).
fn split_unit(header: &str) -> (String, Option<String>) {
    let h = header.trim();
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(inner) = h.strip_suffix(close) {
            if let Some(at) = inner.rfind(open) {
                let base = inner[..at].trim();
                let unit = inner[at + open.len_utf8()..].trim();
                if !base.is_empty() {
                    return (base.to_string(), Some(unit.to_string()));
                }
            }
        }
    }
    (h.to_string(), None)
}

/// The time factor for a header unit: `ms` -> 1e-3. `Err` if the unit is not a time unit.
fn time_unit_factor(unit: &str) -> Option<f64> {
    match unit.trim() {
        "sec" | "secs" | "seconds" | "second" => Some(1.0),
        u => match si_unit(u) {
            Some((f, "s")) => Some(f),
            Some((_, "1")) => Some(1.0),
            _ => None,
        },
    }
}

/// Parse a generic CSV with `options`; see the module documentation.
pub(crate) fn parse(
    ctx: &Ctx,
    text: &str,
    options: GenericOptions,
    metadata: &mut BTreeMap<String, String>,
    rest: Option<&mut fast::Rest>,
) -> Result<Vec<Trace>, ImportError> {
    if !(options.time_scale.is_finite() && options.time_scale > 0.0) {
        return Err(ctx.file(ImportErrorKind::Invalid {
            expected: "a positive, finite time_scale".into(),
            found: format!("{}", options.time_scale),
        }));
    }
    if let Some(d) = options.delimiter {
        if !matches!(d, ',' | ';' | '\t') {
            return Err(ctx.file(ImportErrorKind::Invalid {
                expected: "the delimiter `,`, `;` or tab".into(),
                found: format!("{d:?}"),
            }));
        }
    }
    // Only the lines up to the header row are held; the data rows stream (a 5 M-row file must not be held as a
    // vector of lines).
    let mut all: Vec<Line> = Vec::new();
    for l in text::lines(text) {
        let is_header = all.len() >= options.header_lines && !l.text.trim().is_empty();
        all.push(l);
        if is_header {
            break;
        }
    }
    let header_index = (options.header_lines..all.len()).find(|&i| !all[i].text.trim().is_empty());
    let Some(header_index) = header_index else {
        let after = all.len().max(1);
        return Err(ctx.invalid(
            after,
            1,
            format!("{} metadata line(s) and then a header row", options.header_lines),
            format!("the end of the file after {} line(s)", all.len()),
        ));
    };
    let header = all[header_index];
    let delimiter = options.delimiter.unwrap_or_else(|| detect_delimiter(header.text));
    metadata.insert("generic.delimiter".into(), if delimiter == '\t' { "tab".into() } else { delimiter.to_string() });

    for line in &all[..options.header_lines.min(all.len())] {
        let trimmed = line.text.trim();
        if trimmed.is_empty() {
            continue;
        }
        let cells = text::split_delimited(trimmed, delimiter).unwrap_or_default();
        let (key, value) = if cells.len() >= 2 && !cells[0].text.is_empty() {
            let rest: Vec<&str> = cells[1..].iter().map(|c| c.text.as_str()).filter(|t| !t.is_empty()).collect();
            (cells[0].text.trim_end_matches(':').trim().to_string(), rest.join(", "))
        } else if let Some((k, v)) = trimmed.split_once(':').filter(|(k, _)| !k.trim().is_empty()) {
            (k.trim().to_string(), v.trim().to_string())
        } else {
            (format!("line.{}", line.number), trimmed.to_string())
        };
        let key = if metadata.contains_key(&key) { format!("{key} (line {})", line.number) } else { key };
        metadata.insert(key, value);
    }

    let mut cells = text::split_delimited(header.text, delimiter)
        .map_err(|(c, m)| ctx.invalid(header.number, c, m, "a malformed header cell"))?;
    while cells.len() > 1 && cells.last().is_some_and(|c| c.text.is_empty()) {
        cells.pop();
    }
    let width = cells.len();
    let split: Vec<(String, Option<String>)> = cells.iter().map(|c| split_unit(&c.text)).collect();
    let available: Vec<String> = cells.iter().map(|c| c.text.clone()).collect();
    let resolve = |spec: &str| -> Option<usize> {
        let spec = spec.trim();
        let by = |eq: &dyn Fn(&str, &str) -> bool| {
            (0..width).find(|&i| eq(&cells[i].text, spec)).or_else(|| (0..width).find(|&i| eq(&split[i].0, spec)))
        };
        by(&|a, b| a == b)
            .or_else(|| by(&|a, b| a.eq_ignore_ascii_case(b)))
            .or_else(|| spec.parse::<usize>().ok().filter(|&i| (1..=width).contains(&i)).map(|i| i - 1))
    };
    let missing = |spec: &str| {
        ctx.at(
            header.number,
            1,
            ImportErrorKind::MissingColumn { wanted: spec.to_string(), available: available.clone() },
        )
    };
    let time_index = resolve(&options.time_column).ok_or_else(|| missing(&options.time_column))?;
    let selected: Vec<(String, usize)> = if options.columns.is_empty() {
        (0..width).filter(|&i| i != time_index && !split[i].0.is_empty()).map(|i| (split[i].0.clone(), i)).collect()
    } else {
        options
            .columns
            .iter()
            .map(|(name, spec)| resolve(spec).map(|i| (name.clone(), i)).ok_or_else(|| missing(spec)))
            .collect::<Result<_, _>>()?
    };
    if selected.is_empty() {
        return Err(ctx.invalid(
            header.number,
            1,
            "at least one signal column besides the time column",
            format!("{width} column(s)"),
        ));
    }
    // A file without a header row (a Tektronix TDS2000 CSV: settings in the first columns, time and value in
    // columns 4 and 5 from the first row on): a "header" whose used cells are all numbers is the first data row.
    let header_is_data = std::iter::once(time_index)
        .chain(selected.iter().map(|(_, i)| *i))
        .all(|i| parse_engineering(&cells[i].text).is_some());
    let selected: Vec<(String, usize)> = if header_is_data && options.columns.is_empty() {
        selected.into_iter().map(|(_, i)| (format!("column{}", i + 1), i)).collect()
    } else {
        selected
    };
    let split: Vec<(String, Option<String>)> =
        if header_is_data { cells.iter().map(|c| (c.text.clone(), None)).collect() } else { split };
    if header_is_data {
        metadata.insert("generic.header".into(), format!("none (line {} is data)", header.number));
    }
    let located: Vec<_> = selected.iter().map(|(n, i)| (n.clone(), header.number, cells[*i].column)).collect();
    check_unique(ctx, &located)?;

    let time_factor = if options.time_scale != 1.0 {
        options.time_scale
    } else {
        match &split[time_index].1 {
            None => 1.0,
            Some(u) => time_unit_factor(u).ok_or_else(|| {
                ctx.invalid(
                    header.number,
                    cells[time_index].column,
                    "a time unit (s, ms, us, ns) in the time column header, or a time_scale",
                    format!("{u:?}"),
                )
            })?,
        }
    };
    metadata.insert("generic.time_column".into(), cells[time_index].text.clone());
    let time_what = cells[time_index].text.clone();

    let mut traces = Vec::new();
    for (name, i) in &selected {
        let (factor, unit) = convert_unit(name, split[*i].1.as_deref(), metadata);
        metadata.insert(format!("generic.column.{name}"), cells[*i].text.clone());
        traces.push((TraceBuilder::new(name.clone(), unit, (header.number, cells[*i].column)), *i, factor));
    }

    // Data rows: plain rows in parallel blocks (`fast`), every other row line by line here, with its location.
    let spec = RowSpec {
        sep: Sep::Byte(delimiter as u8),
        width,
        time: time_index,
        time_factor,
        values: traces.iter().map(|(_, i, factor)| (*i, *factor)).collect(),
        equal_to_time: Vec::new(),
        comments: false,
    };
    let names: Vec<String> = traces.iter().map(|(b, _, _)| b.name.clone()).collect();
    let mut slow = |line: Line, previous: Option<f64>| -> Result<Option<(f64, Vec<f64>)>, ImportError> {
        if line.text.trim().is_empty() {
            return Ok(None);
        }
        let row = text::split_delimited(line.text, delimiter)
            .map_err(|(c, m)| ctx.invalid(line.number, c, m, "a malformed cell"))?;
        if row.len() < width {
            return Err(ctx.at(
                line.number,
                text::end_column(line.text),
                ImportErrorKind::Ragged { expected: width.to_string(), found: row.len() },
            ));
        }
        if let Some(extra) = row[width..].iter().find(|c| !c.text.is_empty()) {
            return Err(ctx.at(
                line.number,
                extra.column,
                ImportErrorKind::Ragged { expected: width.to_string(), found: row.len() },
            ));
        }
        let t = ctx.number(line.number, &row[time_index], &time_what)? * time_factor;
        let mut values = Vec::with_capacity(spec.values.len());
        for (name, &(i, factor)) in names.iter().zip(&spec.values) {
            let v = ctx.number(line.number, &row[i], &cells[i].text)? * factor;
            check_point(ctx, name, previous, t, v, (line.number, row[time_index].column))?;
            values.push(v);
        }
        Ok(Some((t, values)))
    };
    let first_data_line = if header_is_data { header.number } else { header.number + 1 };
    let columns = fast::read_rows(text, first_data_line, &spec, fast::threads(), &mut slow, rest)?;
    let mut traces: Vec<TraceBuilder> = traces.into_iter().map(|(b, _, _)| b).collect();
    fast::fill(&mut traces, columns);
    traces.into_iter().map(|t| t.finish(ctx)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{parse_str, Format, GenericOptions, ImportErrorKind, WaveformFile};
    use std::path::Path;

    /// An oscilloscope export: two metadata lines, units in the header, time in ms.
    pub(crate) const SAMPLE: &str = "Model,DSOX1204G,rev 2\n\
        Sample interval: 0.5 ms\n\
        Time (ms),CH1 (mV),Current [nA],Note\n\
        0.0,900.0,17.0,a\n\
        0.5,900.25,20.5,\n\
        1.0,899.5,-3,b\n";

    /// Options for [`SAMPLE`]: the two traces by header name and by index.
    pub(crate) fn options() -> GenericOptions {
        GenericOptions {
            header_lines: 2,
            delimiter: None,
            time_column: "Time".into(),
            columns: vec![("vh".into(), "CH1".into()), ("ica".into(), "3".into())],
            time_scale: 1.0,
        }
    }

    fn parse(text: &str, options: &GenericOptions) -> Result<WaveformFile, super::super::ImportError> {
        parse_str(text, Path::new("scope/run1.csv"), &Format::Generic, Some(options))
    }

    #[test]
    fn parses_metadata_units_and_column_map() {
        let f = parse(SAMPLE, &options()).unwrap();
        assert_eq!(f.trace_names(), vec!["vh", "ica"]);
        let vh = f.trace("vh").unwrap();
        assert_eq!(vh.unit.as_deref(), Some("V"));
        assert_eq!(vh.t_s, vec![0.0, 0.5e-3, 1.0e-3]);
        let expected_v = [0.9, 0.90025, 0.8995];
        for (v, e) in vh.values.iter().zip(expected_v) {
            assert!((v - e).abs() < 1e-15, "{v} vs {e}");
        }
        let ica = f.trace("ica").unwrap();
        assert_eq!(ica.unit.as_deref(), Some("A"));
        let expected_i = [17e-9, 20.5e-9, -3e-9];
        for (v, e) in ica.values.iter().zip(expected_i) {
            assert!((v - e).abs() < 1e-22, "{v} vs {e}");
        }
        assert_eq!(f.metadata["Model"], "DSOX1204G, rev 2");
        assert_eq!(f.metadata["Sample interval"], "0.5 ms");
        assert_eq!(f.metadata["generic.delimiter"], ",");
        assert_eq!(f.metadata["trace.vh.unit_in_file"], "mV");
        assert_eq!(f.metadata["generic.column.ica"], "Current [nA]");
    }

    #[test]
    fn semicolon_tab_time_scale_and_all_columns() {
        let text = "t;a;b\n1;2;3\n2;4;5\n";
        let o = GenericOptions { time_scale: 1e-3, ..GenericOptions::default() };
        let f = parse(text, &o).unwrap();
        assert_eq!(f.trace_names(), vec!["a", "b"]);
        assert_eq!(f.traces[1].t_s, vec![1e-3, 2e-3]);
        assert_eq!(f.traces[1].values, vec![3.0, 5.0]);
        assert_eq!(f.metadata["generic.delimiter"], ";");
        let f = parse("time\tv\n0\t1\n1\t2\n", &GenericOptions::default()).unwrap();
        assert_eq!(f.trace_names(), vec!["v"]);
        assert_eq!(f.metadata["generic.delimiter"], "tab");
        // time_scale wins over the header unit
        let o = GenericOptions { time_scale: 2.0, ..GenericOptions::default() };
        let f = parse("Time (ms),v\n1,1\n", &o).unwrap();
        assert_eq!(f.traces[0].t_s, vec![2.0]);
    }

    #[test]
    fn errors_are_located() {
        let o = options();
        let err = parse(&SAMPLE.replace("900.25", "9x0"), &o).unwrap_err();
        assert!(
            err.to_string().starts_with("scope/run1.csv:5:5: expected a number for CH1 (mV) with a known suffix"),
            "{err}"
        );
        let err = parse(&SAMPLE.replace("900.25", "abc"), &o).unwrap_err();
        assert_eq!(err.to_string(), "scope/run1.csv:5:5: expected a number for CH1 (mV), found \"abc\"");
        let err = parse(&SAMPLE.replace("900.25", "NaN"), &o).unwrap_err();
        assert_eq!(err.to_string(), "scope/run1.csv:5:5: expected a finite number for CH1 (mV), found \"NaN\"");
        let err = parse(&SAMPLE.replace("900.25", ""), &o).unwrap_err();
        assert_eq!(err.to_string(), "scope/run1.csv:5:5: expected a number for CH1 (mV), found an empty cell");
        let err = parse(&SAMPLE.replace("1.0,899.5", "0.5,899.5"), &o).unwrap_err();
        assert!(
            err.to_string().starts_with("scope/run1.csv:6:1: expected the time of vh to increase strictly"),
            "{err}"
        );
        let missing = GenericOptions { columns: vec![("vh".into(), "CH2".into())], ..o.clone() };
        let err = parse(SAMPLE, &missing).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::MissingColumn { .. }));
        assert_eq!(
            err.to_string(),
            "scope/run1.csv:3:1: expected a column \"CH2\", but the file has only: Time (ms), CH1 (mV), Current [nA], Note"
        );
        let err = parse(SAMPLE, &GenericOptions { time_column: "9".into(), ..o.clone() }).unwrap_err();
        assert!(err.to_string().starts_with("scope/run1.csv:3:1: expected a column \"9\""), "{err}");
        let err = parse(&SAMPLE.replace("1.0,899.5,-3,b", "1.0,899.5"), &o).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::Ragged { .. }));
        assert!(err.to_string().starts_with("scope/run1.csv:6:10: expected 4 cells"), "{err}");
        let err = parse("a,b\n", &GenericOptions { header_lines: 3, ..GenericOptions::default() }).unwrap_err();
        assert!(
            err.to_string().starts_with("scope/run1.csv:1:1: expected 3 metadata line(s) and then a header row"),
            "{err}"
        );
        let header_only: String = SAMPLE.lines().take(3).map(|l| format!("{l}\n")).collect();
        let err = parse(&header_only, &o).unwrap_err();
        assert_eq!(err.to_string(), "scope/run1.csv:3:11: expected at least one data point for vh, found none");
        let err = parse("Time (V),a\n1,2\n", &GenericOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("scope/run1.csv:1:1: expected a time unit"), "{err}");
        let err = parse(SAMPLE, &GenericOptions { time_scale: f64::NAN, ..o }).unwrap_err();
        assert!(err.to_string().starts_with("scope/run1.csv: expected a positive, finite time_scale"), "{err}");
    }
}
