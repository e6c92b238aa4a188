//! OCEAN `ocnPrint` text output (`ocean`).
//!
//! ```text
//! time (s)         v("/vh" ?result "tran")   i("/I0/ica" ?result "tran") (A)
//!
//!   0                 900m                      17p
//!   1.5m              900.2m                    214.68f
//! ```
//! A header line of columns separated by white space; a column is an expression (quotes and parentheses may hold
//! spaces) optionally followed by its unit in parentheses, `(s)`. The first column is time (unit `s` unless the
//! header says otherwise, e.g. `(ms)`). A column `v("/net" ...)` / `i("/term" ...)` becomes a trace named after the
//! net (`/net`), with unit `V` / `A` unless the header gives one; any other expression is used whole as the name.
//! The full expressions are kept as metadata (`ocean.column.NAME`).
//!
//! Rows are white-space separated numbers with engineering suffixes (see [`super::engineering`]: `m` milli, `M`
//! and `Meg` mega), all rows as wide as the header. Blank lines and repeats of the header line (page breaks) are
//! skipped.

use std::collections::BTreeMap;

use super::text::{self, Cell};
use super::{check_unique, convert_unit, si_unit, Ctx, ImportError, ImportErrorKind, Trace, TraceBuilder};

/// Split an `ocnPrint` header into column tokens: white space separates tokens except inside quotes or
/// parentheses.
fn header_tokens(line: &str) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut current: Option<Cell> = None;
    let mut depth = 0usize;
    let mut in_quote = false;
    for (i, c) in line.chars().enumerate() {
        if c.is_whitespace() && depth == 0 && !in_quote {
            if let Some(cell) = current.take() {
                cells.push(cell);
            }
            continue;
        }
        current.get_or_insert_with(|| Cell { text: String::new(), column: i + 1 }).text.push(c);
        match c {
            '"' => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    cells.extend(current);
    cells
}

/// `v("/vh" ?result "tran")` -> (`/vh`, `v`); `None` if the expression is not a one-net function call.
pub(crate) fn net_name(expr: &str) -> Option<(String, String)> {
    let open = expr.find('(')?;
    let function = &expr[..open];
    if function.is_empty() || !function.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || !expr.ends_with(')') {
        return None;
    }
    let inner = expr.get(open + 1..expr.len() - 1)?.trim();
    let rest = inner.strip_prefix('"')?;
    let close = rest.find('"')?;
    let name = &rest[..close];
    let after = rest[close + 1..].trim();
    if name.is_empty() || !(after.is_empty() || after.starts_with('?')) {
        return None;
    }
    Some((name.to_string(), function.to_ascii_lowercase()))
}

/// The unit implied by an OCEAN access function: `v` -> V, `i` -> A.
fn implied_unit(function: &str) -> Option<&'static str> {
    match function {
        "v" | "vt" | "vs" | "vdc" | "vtime" => Some("V"),
        "i" | "it" | "is" | "idc" | "itime" => Some("A"),
        _ => None,
    }
}

struct Column {
    expr: Cell,
    unit: Option<Cell>,
}

/// Parse `ocnPrint` output; see the module documentation for the layout.
pub(crate) fn parse(ctx: &Ctx, text: &str, metadata: &mut BTreeMap<String, String>) -> Result<Vec<Trace>, ImportError> {
    let mut lines = text::lines(text).skip_while(|l| l.text.trim().is_empty());
    let header = lines.next().ok_or_else(|| {
        ctx.at(
            1,
            1,
            ImportErrorKind::Invalid {
                expected: "an ocnPrint header line `time (s) v(\"/net\") ...`".into(),
                found: "an empty file".into(),
            },
        )
    })?;
    let mut columns: Vec<Column> = Vec::new();
    for token in header_tokens(header.text) {
        let is_unit = token.text.starts_with('(') && token.text.ends_with(')') && !token.text.contains('"');
        match columns.last_mut() {
            Some(last) if is_unit && last.unit.is_none() => {
                let inner = token.text.get(1..token.text.len() - 1).unwrap_or("").trim().to_string();
                last.unit = Some(Cell { text: inner, column: token.column + 1 });
            }
            _ => columns.push(Column { expr: token, unit: None }),
        }
    }
    if columns.len() < 2 {
        return Err(ctx.invalid(
            header.number,
            1,
            "an ocnPrint header with a time column and at least one signal column",
            format!("{:?}", header.text.trim()),
        ));
    }
    if let Some(numeric) = columns.iter().find(|c| super::parse_engineering(&c.expr.text).is_some()) {
        return Err(ctx.invalid(
            header.number,
            numeric.expr.column,
            "an ocnPrint header line (column names such as `time (s)`), not data",
            format!("the number {:?}", numeric.expr.text),
        ));
    }

    // Time column.
    let time = &columns[0];
    let time_factor = match &time.unit {
        None => 1.0,
        Some(u) => match si_unit(&u.text) {
            Some((f, "s")) => f,
            _ => {
                return Err(ctx.invalid(
                    header.number,
                    u.column,
                    "a time unit (s, ms, us, ns) for the first column",
                    format!("{:?}", u.text),
                ))
            }
        },
    };
    metadata.insert("ocean.time".into(), time.expr.text.clone());

    // Signal columns: names, then de-duplicate by falling back to the whole expression.
    let parsed: Vec<Option<(String, String)>> = columns[1..].iter().map(|c| net_name(&c.expr.text)).collect();
    let mut names: Vec<String> = columns[1..]
        .iter()
        .zip(&parsed)
        .map(|(c, p)| p.as_ref().map_or_else(|| c.expr.text.clone(), |p| p.0.clone()))
        .collect();
    let short = names.clone();
    for (i, name) in names.iter_mut().enumerate() {
        if short.iter().filter(|n| *n == &short[i]).count() > 1 {
            *name = columns[i + 1].expr.text.clone();
        }
    }
    let located: Vec<_> =
        names.iter().zip(&columns[1..]).map(|(n, c)| (n.clone(), header.number, c.expr.column)).collect();
    check_unique(ctx, &located)?;

    let mut traces = Vec::new();
    let mut factors = Vec::new();
    for ((name, column), p) in names.iter().zip(&columns[1..]).zip(&parsed) {
        let declared = column.unit.as_ref().map(|u| u.text.clone());
        let implied = p.as_ref().and_then(|p| implied_unit(&p.1)).map(str::to_string);
        let (factor, unit) = convert_unit(name, declared.or(implied).as_deref(), metadata);
        metadata.insert(format!("ocean.column.{name}"), column.expr.text.clone());
        factors.push(factor);
        traces.push(TraceBuilder::new(name.clone(), unit, (header.number, column.expr.column)));
    }

    let width = columns.len();
    let header_text = header.text.trim();
    for line in lines {
        let trimmed = line.text.trim();
        if trimmed.is_empty() || trimmed == header_text {
            continue;
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
        let t = ctx.number(line.number, &cells[0], &time.expr.text)? * time_factor;
        for ((trace, cell), factor) in traces.iter_mut().zip(&cells[1..]).zip(&factors) {
            let v = ctx.number(line.number, cell, &trace.name)? * factor;
            trace.push(ctx, t, v, (line.number, cells[0].column))?;
        }
    }
    traces.into_iter().map(|t| t.finish(ctx)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{parse_str, Format, ImportErrorKind, WaveformFile};
    use std::path::Path;

    /// A small `ocnPrint` listing with engineering suffixes, an explicit unit and an implied one.
    pub(crate) const SAMPLE: &str =
        "time (s)            v(\"/vh\" ?result \"tran\")     i(\"/I0/ica\" ?result \"tran\") (pA)\n\
        \n\
        0                   900m                        17\n\
        1.5m                900.2m                      214.68\n\
        2M                  1.2u                        -3n\n";

    fn parse(text: &str) -> Result<WaveformFile, super::super::ImportError> {
        parse_str(text, Path::new("run/print.txt"), &Format::Ocean, None)
    }

    #[test]
    fn parses_suffixes_names_and_units() {
        let f = parse(SAMPLE).unwrap();
        assert_eq!(f.trace_names(), vec!["/vh", "/I0/ica"]);
        let vh = f.trace("/vh").unwrap();
        assert_eq!(vh.unit.as_deref(), Some("V"));
        assert_eq!(vh.t_s, vec![0.0, 1.5e-3, 2e6]);
        assert_eq!(vh.values, vec![0.9, 0.9002, 1.2e-6]);
        let ica = f.trace("/I0/ica").unwrap();
        assert_eq!(ica.unit.as_deref(), Some("A"));
        let expected = [17e-12, 214.68e-12, -3e-9 * 1e-12];
        for (v, e) in ica.values.iter().zip(expected) {
            assert!((v - e).abs() <= 1e-15 * e.abs(), "{v} vs {e}");
        }
        assert_eq!(f.metadata["ocean.column./vh"], "v(\"/vh\" ?result \"tran\")");
        assert_eq!(f.metadata["ocean.time"], "time");
        assert_eq!(f.metadata["trace./I0/ica.unit_in_file"], "pA");
    }

    #[test]
    fn plain_names_time_units_and_page_breaks() {
        let text =
            "time (ms)  vout  VT(\"/a\")-VT(\"/b\")\n0 1 2\n\ntime (ms)  vout  VT(\"/a\")-VT(\"/b\")\n1 1e-3 -2\n";
        let f = parse(text).unwrap();
        assert_eq!(f.trace_names(), vec!["vout", "VT(\"/a\")-VT(\"/b\")"]);
        assert_eq!(f.traces[0].t_s, vec![0.0, 1e-3]);
        assert_eq!(f.traces[0].unit, None);
        assert_eq!(f.traces[1].values, vec![2.0, -2.0]);
        // same net twice: the whole expressions become the names
        let f = parse("time v(\"/a\") i(\"/a\")\n0 1 2\n").unwrap();
        assert_eq!(f.trace_names(), vec!["v(\"/a\")", "i(\"/a\")"]);
    }

    #[test]
    fn errors_are_located() {
        let err = parse(&SAMPLE.replace("214.68", "214.68x")).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::UnknownSuffix { .. }));
        assert!(
            err.to_string().starts_with("run/print.txt:4:49: expected a number for /I0/ica with a known suffix"),
            "{err}"
        );
        let err = parse(&SAMPLE.replace("1.5m ", "0    ")).unwrap_err();
        assert!(
            err.to_string().starts_with("run/print.txt:4:1: expected the time of /vh to increase strictly"),
            "{err}"
        );
        let err = parse(&SAMPLE.replace("900.2m", "nan")).unwrap_err();
        assert!(err.to_string().starts_with("run/print.txt:4:21: expected a finite number for /vh"), "{err}");
        let err = parse(&SAMPLE.replace("  -3n", "")).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::Ragged { .. }));
        assert!(err.to_string().starts_with("run/print.txt:5:"), "{err}");
        let err = parse("0 1\n1 2\n").unwrap_err();
        assert!(err.to_string().starts_with("run/print.txt:1:1: expected an ocnPrint header line"), "{err}");
        let err = parse("time (V) v(\"/a\")\n0 1\n").unwrap_err();
        assert!(err.to_string().starts_with("run/print.txt:1:7: expected a time unit"), "{err}");
        let err = parse("time v(\"/a\")\n\n").unwrap_err();
        assert_eq!(err.to_string(), "run/print.txt:1:6: expected at least one data point for /a, found none");
    }
}
