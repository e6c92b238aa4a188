//! Virtuoso VCSV (`vcsv`), as written by ViVA "Save as VCSV" / `Trace -> Save`.
//!
//! ```text
//! ;Version, 1, 0
//! ;/ica,;/vh
//! ;X, Y,;X, Y
//! ;Re, Re,;Re, Re
//! ;time (s), /ica (A),;time (s), /vh (V)
//! ;s, A,;s, V
//! 1.0e-03,1.7e-11,1.0e-03,9.0e-01
//! 2.0e-03,1.6e-11,2.0e-03,9.1e-01
//! ```
//! Six header lines starting with `;`, in each of them one `;`-introduced group per trace (groups separated by
//! `,;` or `;`): 1 the version, 2 the trace names, 3 the axes (`X, Y`; complex `X, Y, Y` data is rejected), 4 the
//! number types, 5 axis labels, 6 the units `X unit, Y unit`. Then rows `x1,y1,x2,y2,...` as in ViVA CSV (traces may
//! end early with empty cells). Trace names come from line 2, units from line 6 (converted to SI: `ms`, `nA`, `mV`
//! ... are scaled; the X unit must be a time unit), and lines 1, 3, 4, 5 (and any further `;` lines) are kept as
//! metadata (`vcsv.version`, `vcsv.axes`, `vcsv.types`, `vcsv.labels`, `vcsv.header_line_N`).

use std::collections::BTreeMap;

use super::text::{self, Line};
use super::viva::{parse_pair_rows, Pair};
use super::{check_unique, convert_unit, si_unit, Ctx, ImportError, Trace, TraceBuilder};

/// The `;` groups of a VCSV header line, trimmed, with their 1-based columns.
fn groups(line: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut column = 0; // 0-based char index of the current group's first char
    let mut current = String::new();
    let mut started = false;
    for (i, c) in line.chars().enumerate() {
        if c == ';' {
            if started {
                out.push((current.trim().trim_end_matches(',').trim().to_string(), column + 1));
            }
            current.clear();
            started = true;
            column = i + 1;
        } else if started {
            current.push(c);
        }
    }
    if started {
        out.push((current.trim().trim_end_matches(',').trim().to_string(), column + 1));
    }
    out
}

/// Parse a VCSV text; see the module documentation for the layout.
pub(crate) fn parse(ctx: &Ctx, text: &str, metadata: &mut BTreeMap<String, String>) -> Result<Vec<Trace>, ImportError> {
    let all: Vec<Line> = text::lines(text).collect();
    let header: Vec<Line> = all.iter().take_while(|l| l.text.trim_start().starts_with(';')).copied().collect();
    let first = header.first().map_or("", |l| l.text.trim_start());
    if !first.to_ascii_lowercase().starts_with(";version") {
        let found = all.first().map_or("an empty file".to_string(), |l| format!("{:?}", l.text));
        return Err(ctx.invalid(1, 1, "a VCSV header starting with `;Version, 1, 0`", found));
    }
    metadata.insert("vcsv.version".into(), first.trim_start_matches(';').trim().to_string());
    let Some(names_line) = header.get(1) else {
        return Err(ctx.invalid(2, 1, "a `;` line of trace names", "the end of the header"));
    };
    let names = groups(names_line.text);
    for (name, column) in &names {
        if name.is_empty() {
            return Err(ctx.invalid(names_line.number, *column, "a trace name", "an empty name"));
        }
    }
    let located: Vec<_> = names.iter().map(|(n, c)| (n.clone(), names_line.number, *c)).collect();
    check_unique(ctx, &located)?;

    let check_count = |line: &Line, gs: &[(String, usize)], what: &str| -> Result<(), ImportError> {
        if gs.len() != names.len() {
            let column = gs.get(names.len()).map_or_else(|| text::end_column(line.text), |g| g.1);
            return Err(ctx.invalid(
                line.number,
                column,
                format!("{} {what} groups (one per trace)", names.len()),
                format!("{}", gs.len()),
            ));
        }
        Ok(())
    };

    if let Some(axes) = header.get(2) {
        let gs = groups(axes.text);
        check_count(axes, &gs, "axis")?;
        for (g, column) in &gs {
            let compact: String = g.chars().filter(|c| !c.is_whitespace()).collect();
            if !compact.eq_ignore_ascii_case("x,y") {
                return Err(ctx.invalid(
                    axes.number,
                    *column,
                    "real `X, Y` traces (complex and XYY data are not supported)",
                    format!("{g:?}"),
                ));
            }
        }
        metadata.insert("vcsv.axes".into(), axes.text.trim().to_string());
    }
    if let Some(types) = header.get(3) {
        metadata.insert("vcsv.types".into(), types.text.trim().to_string());
    }
    if let Some(labels) = header.get(4) {
        metadata.insert("vcsv.labels".into(), labels.text.trim().to_string());
    }
    for extra in header.iter().skip(6) {
        metadata.insert(format!("vcsv.header_line_{}", extra.number), extra.text.trim().to_string());
    }

    let mut units: Vec<(Option<String>, Option<String>, usize, usize)> =
        names.iter().map(|(_, c)| (None, None, names_line.number, *c)).collect();
    if let Some(unit_line) = header.get(5) {
        let gs = groups(unit_line.text);
        check_count(unit_line, &gs, "unit")?;
        for (k, (g, column)) in gs.iter().enumerate() {
            let Some((x, y)) = g.split_once(',') else {
                return Err(ctx.invalid(
                    unit_line.number,
                    *column,
                    "units `X unit, Y unit` (e.g. `s, V`)",
                    format!("{g:?}"),
                ));
            };
            units[k] = (Some(x.trim().to_string()), Some(y.trim().to_string()), unit_line.number, *column);
        }
        metadata.insert("vcsv.units".into(), unit_line.text.trim().to_string());
    }

    let mut pairs = Vec::new();
    for ((name, column), (x_unit, y_unit, unit_line, unit_column)) in names.iter().zip(&units) {
        let x_factor = match x_unit.as_deref() {
            None => 1.0,
            Some(u) => match si_unit(u) {
                Some((f, "s")) => f,
                Some((_, "1")) => 1.0,
                _ => {
                    return Err(ctx.invalid(
                        *unit_line,
                        *unit_column,
                        format!("a time unit (s, ms, us, ns) for the X axis of {name}"),
                        format!("{u:?}"),
                    ))
                }
            },
        };
        let (y_factor, unit) = convert_unit(name, y_unit.as_deref(), metadata);
        pairs.push(Pair::new(TraceBuilder::new(name.clone(), unit, (names_line.number, *column)), x_factor, y_factor));
    }
    parse_pair_rows(ctx, all.into_iter().skip(header.len()), &mut pairs)?;
    pairs.into_iter().map(|p| p.builder.finish(ctx)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{parse_str, Format, ImportErrorKind, WaveformFile};
    use std::path::Path;

    /// A small VCSV with two traces; the second in mV, its time in ms, to check unit conversion.
    pub(crate) const SAMPLE: &str = ";Version, 1, 0\n\
        ;/ica,;/vh\n\
        ;X, Y,;X, Y\n\
        ;Re, Re,;Re, Re\n\
        ;time (s), /ica (A),;time (ms), /vh (mV)\n\
        ;s, A,;ms, mV\n\
        1.0e-03,1.7e-11,1.0,900.5\n\
        2.0e-03,1.6e-11,2.5,901\n";

    fn parse(text: &str) -> Result<WaveformFile, super::super::ImportError> {
        parse_str(text, Path::new("w/x.vcsv"), &Format::Vcsv, None)
    }

    #[test]
    fn parses_names_units_and_values() {
        let f = parse(SAMPLE).unwrap();
        assert_eq!(f.trace_names(), vec!["/ica", "/vh"]);
        let ica = f.trace("/ica").unwrap();
        assert_eq!(ica.unit.as_deref(), Some("A"));
        assert_eq!(ica.t_s, vec![1.0e-3, 2.0e-3]);
        assert_eq!(ica.values, vec![1.7e-11, 1.6e-11]);
        let vh = f.trace("/vh").unwrap();
        assert_eq!(vh.unit.as_deref(), Some("V"));
        assert_eq!(vh.t_s, vec![1.0e-3, 2.5e-3]);
        assert_eq!(vh.values, vec![900.5e-3, 901.0e-3]);
        assert_eq!(f.metadata["vcsv.version"], "Version, 1, 0");
        assert_eq!(f.metadata["vcsv.types"], ";Re, Re,;Re, Re");
        assert_eq!(f.metadata["vcsv.labels"], ";time (s), /ica (A),;time (ms), /vh (mV)");
        assert_eq!(f.metadata["trace./vh.unit_in_file"], "mV");
        assert_eq!(f.metadata["trace./ica.unit_in_file"], "A");
    }

    #[test]
    fn accepts_the_semicolon_only_separator_and_short_traces() {
        let text = ";Version, 1, 0\n;/a;/b\n;X, Y;X, Y\n;Re, Re;Re, Re\n;x, y;x, y\n;s ,V;s ,A\n0,1,0,2\n1,2,,\n";
        let f = parse(text).unwrap();
        assert_eq!(f.trace("/a").unwrap().values, vec![1.0, 2.0]);
        assert_eq!(f.trace("/b").unwrap().values, vec![2.0]);
        assert_eq!(f.trace("/b").unwrap().unit.as_deref(), Some("A"));
    }

    #[test]
    fn errors_are_located() {
        let err = parse("time,v\n0,1\n").unwrap_err();
        assert!(err.to_string().starts_with("w/x.vcsv:1:1: expected a VCSV header starting with"), "{err}");
        let bad_cell = SAMPLE.replace("2.5,901", "2.5,abc");
        let err = parse(&bad_cell).unwrap_err();
        assert_eq!(err.to_string(), "w/x.vcsv:8:21: expected a number for /vh Y, found \"abc\"");
        let err = parse(&SAMPLE.replace(";ms, mV", ";Hz, mV")).unwrap_err();
        assert!(err.to_string().starts_with("w/x.vcsv:6:8: expected a time unit"), "{err}");
        let err = parse(&SAMPLE.replace(";X, Y,;X, Y", ";X, Y,;X, Y, Y")).unwrap_err();
        assert!(err.to_string().starts_with("w/x.vcsv:3:8: expected real `X, Y` traces"), "{err}");
        let err = parse(&SAMPLE.replace(";s, A,;ms, mV", ";s, A")).unwrap_err();
        assert!(err.to_string().starts_with("w/x.vcsv:6:6: expected 2 unit groups"), "{err}");
        let err = parse(&SAMPLE.replace("2.0e-03,1.6e-11", "1.0e-03,1.6e-11")).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::TimeNotIncreasing { .. }), "{err}");
        assert!(err.to_string().starts_with("w/x.vcsv:8:1: "), "{err}");
        let header_only: String = SAMPLE.lines().take(6).map(|l| format!("{l}\n")).collect();
        let err = parse(&header_only).unwrap_err();
        assert_eq!(err.to_string(), "w/x.vcsv:2:2: expected at least one data point for /ica, found none");
    }
}
