//! Virtuoso ViVA "Export to CSV" (`viva-csv`).
//!
//! ```text
//! /ica X,/ica Y,/vh X,/vh Y
//! 1.0e-03,1.7e-11,9.7e-04,9.0e-01
//! 2.0e-03,1.6e-11,5.0e-03,9.0e-01
//! ,,5.2e-03,9.0e-01
//! ```
//! One `NAME X`, `NAME Y` column pair per trace (the trace is called `NAME`), time in seconds, values in the
//! unit of the signal (ViVA writes SI without saying which, so [`Trace::unit`](super::Trace) is `None`). Traces may
//! have different lengths: a shorter trace's cells are left empty (or missing) at the end. A trace that ends and
//! then resumes, a pair with only one of X / Y filled, and non-empty cells beyond the last pair are errors.

use std::collections::BTreeMap;

use super::text::{self, Cell, Line};
use super::{check_unique, Ctx, ImportError, ImportErrorKind, Trace, TraceBuilder};

/// One X/Y column pair being read by [`parse_pair_rows`].
pub(crate) struct Pair {
    pub builder: TraceBuilder,
    /// Factor from the file's X unit to seconds.
    pub x_factor: f64,
    /// Factor from the file's Y unit to SI.
    pub y_factor: f64,
    /// Line on which the trace ended (an empty X/Y pair), if it has.
    ended_on: Option<usize>,
}

impl Pair {
    pub fn new(builder: TraceBuilder, x_factor: f64, y_factor: f64) -> Self {
        Pair { builder, x_factor, y_factor, ended_on: None }
    }
}

/// Read rows of `x1,y1,x2,y2,...` (comma separated) into `pairs`, allowing shorter traces to end early.
pub(crate) fn parse_pair_rows<'a>(
    ctx: &Ctx,
    rows: impl Iterator<Item = Line<'a>>,
    pairs: &mut [Pair],
) -> Result<(), ImportError> {
    let width = 2 * pairs.len();
    for line in rows {
        if line.text.trim().is_empty() {
            continue;
        }
        let cells = text::split_delimited(line.text, ',')
            .map_err(|(c, m)| ctx.invalid(line.number, c, m, "a malformed cell"))?;
        if let Some(extra) = cells.iter().skip(width).find(|c| !c.text.is_empty()) {
            return Err(ctx.at(
                line.number,
                extra.column,
                ImportErrorKind::Ragged { expected: format!("at most {width} non-empty"), found: cells.len() },
            ));
        }
        let missing_column = text::end_column(line.text);
        for (k, pair) in pairs.iter_mut().enumerate() {
            let empty = Cell { text: String::new(), column: missing_column };
            let x = cells.get(2 * k).unwrap_or(&empty);
            let y = cells.get(2 * k + 1).unwrap_or(&empty);
            let name = pair.builder.name.clone();
            match (x.text.is_empty(), y.text.is_empty()) {
                (true, true) => {
                    pair.ended_on.get_or_insert(line.number);
                }
                (false, false) => {
                    if let Some(ended) = pair.ended_on {
                        return Err(ctx.invalid(
                            line.number,
                            x.column,
                            format!("no more points for {name}, which ended with an empty row on line {ended}"),
                            format!("{:?}", x.text),
                        ));
                    }
                    let t = ctx.number(line.number, x, &format!("{name} X"))? * pair.x_factor;
                    let v = ctx.number(line.number, y, &format!("{name} Y"))? * pair.y_factor;
                    pair.builder.push(ctx, t, v, (line.number, x.column))?;
                }
                (true, false) => {
                    return Err(ctx.at(line.number, x.column, ImportErrorKind::EmptyCell { what: format!("{name} X") }))
                }
                (false, true) => {
                    return Err(ctx.at(line.number, y.column, ImportErrorKind::EmptyCell { what: format!("{name} Y") }))
                }
            }
        }
    }
    Ok(())
}

/// Parse a ViVA CSV text; see the module documentation for the layout.
pub(crate) fn parse(ctx: &Ctx, text: &str, metadata: &mut BTreeMap<String, String>) -> Result<Vec<Trace>, ImportError> {
    let mut lines = text::lines(text).skip_while(|l| l.text.trim().is_empty());
    let header = lines.next().ok_or_else(|| {
        ctx.at(
            1,
            1,
            ImportErrorKind::Invalid {
                expected: "a header row `NAME X,NAME Y,...`".into(),
                found: "an empty file".into(),
            },
        )
    })?;
    let mut cells = text::split_delimited(header.text, ',')
        .map_err(|(c, m)| ctx.invalid(header.number, c, m, "a malformed header cell"))?;
    while cells.last().is_some_and(|c| c.text.is_empty()) {
        cells.pop();
    }
    if cells.is_empty() || cells.len() % 2 != 0 {
        let column = cells.last().map_or(1, |c| c.column);
        return Err(ctx.invalid(
            header.number,
            column,
            "a header of `NAME X`,`NAME Y` column pairs",
            format!("{} header cells", cells.len()),
        ));
    }
    let mut pairs = Vec::new();
    let mut names = Vec::new();
    for pair in cells.chunks(2) {
        let (x, y) = (&pair[0], &pair[1]);
        let name = x.text.strip_suffix(" X").or_else(|| x.text.strip_suffix("\tX")).map(str::trim);
        let name = match name {
            Some(n) if !n.is_empty() => n,
            _ => return Err(ctx.invalid(header.number, x.column, "a header cell `NAME X`", format!("{:?}", x.text))),
        };
        let expected_y = format!("{name} Y");
        if y.text != expected_y {
            return Err(ctx.invalid(header.number, y.column, format!("{expected_y:?}"), format!("{:?}", y.text)));
        }
        // A header written as an OCEAN expression (`v("/net" ?result "tran") X`) names the trace after the net,
        // as OCEAN itself does; the expression is kept in the metadata.
        let name = match super::ocean::net_name(name) {
            Some((net, _)) => {
                metadata.insert(format!("trace.{net}.expression"), name.to_string());
                net
            }
            None => name.to_string(),
        };
        names.push((name.clone(), header.number, x.column));
        pairs.push(Pair::new(TraceBuilder::new(name, None, (header.number, x.column)), 1.0, 1.0));
    }
    check_unique(ctx, &names)?;
    parse_pair_rows(ctx, lines, &mut pairs)?;
    metadata.insert("viva.traces".into(), names.iter().map(|n| n.0.as_str()).collect::<Vec<_>>().join(","));
    pairs.into_iter().map(|p| p.builder.finish(ctx)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{parse_str, Format, ImportErrorKind};
    use std::path::Path;

    /// A small ViVA export: two traces of unequal length.
    pub(crate) const SAMPLE: &str = "/ica X,/ica Y,/vh X,/vh Y\n\
        1.0e-03,1.7e-11,9.7e-04,9.0e-01\n\
        2.0e-03,-1.6e-11,5.0e-03,9.002e-01\n\
        ,,5.2e-03,8.99e-01\n";

    fn parse(text: &str) -> Result<super::super::WaveformFile, super::super::ImportError> {
        parse_str(text, Path::new("waveforms/x.csv"), &Format::VivaCsv, None)
    }

    #[test]
    fn ocean_expression_headers_are_shortened_to_the_net() {
        let f = parse("v(\"/net\" ?result \"tran\") X,v(\"/net\" ?result \"tran\") Y\n0,1\n1e-3,2\n").unwrap();
        assert_eq!(f.trace_names(), vec!["/net"]);
        assert_eq!(f.metadata["trace./net.expression"], "v(\"/net\" ?result \"tran\")");
    }

    #[test]
    fn parses_pairs_of_unequal_length() {
        let f = parse(SAMPLE).unwrap();
        assert_eq!(f.trace_names(), vec!["/ica", "/vh"]);
        let ica = f.trace("/ica").unwrap();
        assert_eq!(ica.t_s, vec![1.0e-3, 2.0e-3]);
        assert_eq!(ica.values, vec![1.7e-11, -1.6e-11]);
        assert_eq!(ica.unit, None);
        let vh = f.trace("/vh").unwrap();
        assert_eq!(vh.t_s, vec![9.7e-4, 5.0e-3, 5.2e-3]);
        assert_eq!(vh.values, vec![0.9, 0.9002, 0.899]);
        assert_eq!(f.metadata["viva.traces"], "/ica,/vh");
    }

    #[test]
    fn accepts_missing_trailing_cells_crlf_and_trailing_comma() {
        let f = parse("/a X,/a Y,/b X,/b Y,\r\n1,2,3,4,\r\n,,5,6\r\n").unwrap();
        assert_eq!(f.trace("/b").unwrap().t_s, vec![3.0, 5.0]);
        let g = parse("/a X,/a Y,/b X,/b Y\n1,2,3,4\n5,6\n").unwrap();
        assert_eq!(g.trace("/a").unwrap().values, vec![2.0, 6.0]);
        assert_eq!(g.trace("/b").unwrap().values, vec![4.0]);
    }

    #[test]
    fn non_numeric_cell_is_located() {
        let err = parse("/a X,/a Y\n1,2\n3,abc\n").unwrap_err();
        assert_eq!(err.to_string(), "waveforms/x.csv:3:3: expected a number for /a Y, found \"abc\"");
        assert!(matches!(err.kind, ImportErrorKind::NotANumber { .. }));
    }

    #[test]
    fn nan_and_inf_are_located() {
        let err = parse("/a X,/a Y\n1,2\n3,NaN\n").unwrap_err();
        assert_eq!(err.to_string(), "waveforms/x.csv:3:3: expected a finite number for /a Y, found \"NaN\"");
        let err = parse("/a X,/a Y\n1,2\ninf,3\n").unwrap_err();
        assert_eq!(err.to_string(), "waveforms/x.csv:3:1: expected a finite number for /a X, found \"inf\"");
    }

    #[test]
    fn time_must_increase_strictly() {
        let err = parse("/a X,/a Y\n1,2\n1,3\n").unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::TimeNotIncreasing { .. }));
        assert!(
            err.to_string().starts_with("waveforms/x.csv:3:1: expected the time of /a to increase strictly"),
            "{err}"
        );
        let err = parse("/a X,/a Y,/b X,/b Y\n1,2,1,1\n2,3,  0.5,1\n").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:3:7: "), "{err}");
    }

    #[test]
    fn empty_signal_is_located_at_its_header() {
        let err = parse("/a X,/a Y,/b X,/b Y\n1,2,,\n").unwrap_err();
        assert_eq!(err.to_string(), "waveforms/x.csv:1:11: expected at least one data point for /b, found none");
    }

    #[test]
    fn malformed_headers_and_rows() {
        let err = parse("/a X,/a Z\n1,2\n").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:1:6: expected \"/a Y\", found \"/a Z\""), "{err}");
        let err = parse("/a X,/a Y,/b X\n").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:1:11: "), "{err}");
        let err = parse("time,/a\n1,2\n").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:1:1: expected a header cell `NAME X`"), "{err}");
        let err = parse("/a X,/a Y,/a X,/a Y\n1,2,3,4\n").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:1:11: expected unique trace names"), "{err}");
        // ragged: a non-empty cell beyond the last pair
        let err = parse("/a X,/a Y\n1,2,3\n").unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::Ragged { .. }));
        assert!(err.to_string().starts_with("waveforms/x.csv:2:5: "), "{err}");
        // half a pair
        let err = parse("/a X,/a Y\n1,\n").unwrap_err();
        assert_eq!(err.to_string(), "waveforms/x.csv:2:3: expected a number for /a Y, found an empty cell");
        // a trace that resumes after it ended
        let err = parse("/a X,/a Y,/b X,/b Y\n1,2,1,2\n,,2,3\n3,4,4,5\n").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:4:1: expected no more points for /a"), "{err}");
        let err = parse("").unwrap_err();
        assert!(err.to_string().starts_with("waveforms/x.csv:1:1: "), "{err}");
    }
}
