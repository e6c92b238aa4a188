//! The data rows of the big-file formats (`generic` CSV and `ngspice`), parsed in blocks on two threads.
//!
//! The data region (the text after the header) is cut into blocks of [`BLOCK_BYTES`] at line ends; each block is
//! split in two halves at a line end and the halves are parsed at the same time (`std::thread::scope`). A row of
//! plain ASCII numbers with the expected cells is parsed in place with `fast-float2`; a blank (or, for ngspice, a
//! comment) row is skipped; every other row is an *exception*. The halves are then merged in file order on the
//! calling thread: exceptions, and fast rows whose time does not increase, go through the format's own
//! line-by-line parser (the *slow row*), so a malformed row keeps its exact `file:line:column` error and a row in
//! engineering notation (`810m`) is still read. Memory: the columns plus a few MB of scratch per block.

use super::text::Line;
use super::ImportError;

/// Bytes of data text per block (split in two halves, one per thread).
/// (Tiny in unit tests, so that small generated files cross block boundaries and use both threads.)
const BLOCK_BYTES: usize = if cfg!(test) { 4 << 10 } else { 8 << 20 };

/// Longest row the streaming reader accepts (a two-column row is some 30 bytes; a ViVA export of hundreds of
/// signals some kB).
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// How the cells of a row are separated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sep {
    /// White space (ngspice): exactly `width` tokens.
    Whitespace,
    /// A delimiter byte (generic CSV): at least `width` cells, any beyond `width` empty, no quotes.
    Byte(u8),
}

/// What a plain row looks like and how it becomes a point.
#[derive(Clone, Debug)]
pub(crate) struct RowSpec {
    pub sep: Sep,
    /// Cells per row (see [`Sep`]).
    pub width: usize,
    /// The 0-based time cell and the factor to seconds.
    pub time: usize,
    pub time_factor: f64,
    /// `(cell, factor)` of each trace, in trace order.
    pub values: Vec<(usize, f64)>,
    /// Cells that must hold exactly the time cell's number (ngspice's repeated scale).
    pub equal_to_time: Vec<usize>,
    /// Skip rows whose first non-blank character is `*` or `#` (ngspice comments).
    pub comments: bool,
}

/// The imported columns: one time axis and one value column per trace.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Columns {
    pub t: Vec<f64>,
    pub values: Vec<Vec<f64>>,
}

/// The line-by-line parser of one row: `Ok(None)` for a row to skip, `Ok(Some((t, values)))` for a point, or the
/// located error. It gets the previous time to check that time increases, exactly as the format reports it.
pub(crate) type SlowRow<'a> = dyn FnMut(Line, Option<f64>) -> Result<Option<(f64, Vec<f64>)>, ImportError> + 'a;

const DATA: u8 = 0;
const SKIP: u8 = 1;
const EXCEPTION: u8 = 2;

fn is_blank(b: u8) -> bool {
    // `char::is_whitespace` restricted to ASCII (it includes the vertical tab, unlike `u8::is_ascii_whitespace`).
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_blank(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_blank(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// A plain finite number (no engineering suffix), or `None`.
fn number(cell: &[u8]) -> Option<f64> {
    fast_float2::parse::<f64, _>(cell).ok().filter(|v| v.is_finite())
}

/// Threads for parsing: two, or one on a single-core machine.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

/// Move `columns` into the (empty) trace builders: every trace gets the time axis and its value column.
pub(crate) fn fill(traces: &mut [super::TraceBuilder], columns: Columns) {
    let Columns { t, values } = columns;
    let n = traces.len();
    for (k, (trace, v)) in traces.iter_mut().zip(values).enumerate() {
        if k + 1 < n {
            trace.t_s = t.clone();
        }
        trace.values = v;
    }
    if let Some(last) = traces.last_mut() {
        last.t_s = t;
    }
}

/// Split the line starting at `pos` into `cells` (byte ranges) and return the position after its `\n`, whether
/// it may be a plain row (ASCII; no quote for a delimiter) and whether it is blank.
fn scan_line(bytes: &[u8], mut pos: usize, sep: Sep, cells: &mut Vec<(usize, usize)>) -> (usize, bool, bool) {
    cells.clear();
    let mut plain = true;
    let mut blank = true;
    match sep {
        Sep::Whitespace => {
            let mut token: Option<usize> = None;
            while pos < bytes.len() && bytes[pos] != b'\n' {
                let b = bytes[pos];
                if is_blank(b) {
                    if let Some(start) = token.take() {
                        cells.push((start, pos));
                    }
                } else {
                    plain &= b.is_ascii();
                    token.get_or_insert(pos);
                }
                pos += 1;
            }
            if let Some(start) = token {
                cells.push((start, pos));
            }
            blank = cells.is_empty();
        }
        Sep::Byte(d) => {
            let mut start = pos;
            while pos < bytes.len() && bytes[pos] != b'\n' {
                let b = bytes[pos];
                if b == d {
                    cells.push((start, pos));
                    start = pos + 1;
                    blank = false;
                } else if !is_blank(b) {
                    plain &= b.is_ascii() && b != b'"';
                    blank = false;
                }
                pos += 1;
            }
            cells.push((start, pos));
        }
    }
    (pos + 1, plain, blank)
}

/// The state of a scanned, plain, non-blank line; a data row's time and values (scaled) are appended to `out`.
fn plain_row(bytes: &[u8], cells: &[(usize, usize)], spec: &RowSpec, out: &mut Vec<f64>) -> u8 {
    let cell = |k: usize| trim(&bytes[cells[k].0..cells[k].1]);
    match spec.sep {
        Sep::Whitespace if cells.len() != spec.width => return EXCEPTION,
        Sep::Byte(_) if cells.len() < spec.width || (spec.width..cells.len()).any(|k| !cell(k).is_empty()) => {
            return EXCEPTION
        }
        _ => {}
    }
    let Some(t_raw) = number(cell(spec.time)) else { return EXCEPTION };
    let t = t_raw * spec.time_factor;
    if !t.is_finite() || spec.equal_to_time.iter().any(|&k| number(cell(k)) != Some(t_raw)) {
        return EXCEPTION;
    }
    let mark = out.len();
    out.push(t);
    for &(k, factor) in &spec.values {
        match number(cell(k)).map(|v| v * factor).filter(|v| v.is_finite()) {
            Some(v) => out.push(v),
            None => {
                out.truncate(mark);
                return EXCEPTION;
            }
        }
    }
    DATA
}

/// What one thread made of one half block: a state per line, the values of the data rows (`1 + traces` each) and
/// the byte offset of each exception line.
#[derive(Default)]
struct Half {
    states: Vec<u8>,
    values: Vec<f64>,
    exceptions: Vec<usize>,
}

/// The state of one line, appending a data row's values to `out`.
fn line_state(
    bytes: &[u8],
    pos: usize,
    spec: &RowSpec,
    cells: &mut Vec<(usize, usize)>,
    out: &mut Vec<f64>,
) -> (usize, u8) {
    let (next, plain, blank) = scan_line(bytes, pos, spec.sep, cells);
    let comment = spec.comments && cells.first().is_some_and(|&(a, _)| matches!(bytes[a], b'*' | b'#'));
    let state = if !plain {
        EXCEPTION
    } else if blank || comment {
        SKIP
    } else {
        plain_row(bytes, cells, spec, out)
    };
    (next, state)
}

fn parse_half(text: &str, spec: &RowSpec) -> Half {
    let bytes = text.as_bytes();
    let mut half = Half::default();
    let mut cells = Vec::with_capacity(spec.width + 1);
    let mut pos = 0;
    while pos < bytes.len() {
        let (next, state) = line_state(bytes, pos, spec, &mut cells, &mut half.values);
        if state == EXCEPTION {
            half.exceptions.push(pos);
        }
        half.states.push(state);
        pos = next;
    }
    half
}

/// The line of `text` starting at byte `at`, as `str::lines` gives it (without `\n` or `\r\n`).
fn line_at(text: &str, at: usize) -> &str {
    text.get(at..).and_then(|rest| rest.lines().next()).unwrap_or("")
}

/// The byte offset in `text` just after the first `\n` at or after `at` (or the end).
fn line_end_after(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    text.as_bytes()[at..].iter().position(|&b| b == b'\n').map_or(text.len(), |k| at + k + 1)
}

/// The byte offset where 1-based line `number` of `text` starts (`text.len()` past the end).
pub(crate) fn line_start(text: &str, number: usize) -> usize {
    let mut at = 0;
    for _ in 1..number {
        if at >= text.len() {
            break;
        }
        at = line_end_after(text, at);
    }
    at
}

/// The rest of a file too big to be held whole: its rows after the head text, read block by block.
pub(crate) struct Rest<'a> {
    /// The bytes after the head (the head ends at a line end).
    pub reader: Box<dyn std::io::Read + 'a>,
    /// The file, for UTF-8 errors.
    pub path: &'a std::path::Path,
    /// The whole file's size in bytes when known (to size the columns once instead of doubling them).
    pub size_hint: Option<u64>,
    /// How a read error becomes an import error (an I/O error, or a compressed file inflating past its limit).
    pub on_error: &'a dyn Fn(std::io::Error) -> ImportError,
}

/// Parse the rows of `text` from 1-based line `first_line` on (line numbers as [`super::text::lines`] counts
/// them, after a leading byte-order mark) with `spec`, sending every row that is not plain to `slow`; then, when
/// `rest` is given, the rows of the rest of the file, read [`BLOCK_BYTES`] at a time and cut at line ends, so the
/// text is never held whole.
pub(crate) fn read_rows(
    text: &str,
    first_line: usize,
    spec: &RowSpec,
    threads: usize,
    slow: &mut SlowRow,
    rest: Option<&mut Rest>,
) -> Result<Columns, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let data = &text[line_start(text, first_line)..];
    // Reserve from the mean line length of the first 64 kB, so that the columns are not grown by doubling.
    let sample = &data[..line_end_after(data, data.len().min(64 << 10))];
    let sample_lines = sample.bytes().filter(|&b| b == b'\n').count();
    let mean_line = sample.len().checked_div(sample_lines).map_or(24, |m| m.max(4));
    let streamed = rest.as_ref().and_then(|r| r.size_hint).map_or(0, |s| s.saturating_sub(text.len() as u64));
    let estimate = ((data.len() as u64 + streamed) / mean_line as u64).saturating_add(16) as usize;
    let mut out = Columns {
        t: Vec::with_capacity(estimate),
        values: (0..spec.values.len()).map(|_| Vec::with_capacity(estimate)).collect(),
    };
    #[cfg(test)]
    if tests::LINE_BY_LINE.get() {
        return tests::line_by_line(text, first_line, rest, out, slow);
    }
    let mut number = read_region(data, first_line, spec, threads, &mut out, slow)?;
    if let Some(rest) = rest {
        let mut carry = Vec::new();
        loop {
            let mut buf = std::mem::take(&mut carry);
            let before = buf.len();
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut *rest.reader, BLOCK_BYTES as u64), &mut buf)
                .map_err(rest.on_error)?;
            let eof = buf.len() - before < BLOCK_BYTES;
            // Cut after the last line end; the partial line goes with the next block. A line longer than
            // MAX_LINE_BYTES is not a row of a waveform table: an error, instead of a buffer growing without bound.
            let cut = if eof { buf.len() } else { buf.iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1) };
            if buf.len() - cut > MAX_LINE_BYTES {
                return Err(ImportError {
                    path: rest.path.to_path_buf(),
                    line: Some(number + buf[..cut].iter().filter(|&&b| b == b'\n').count()),
                    column: Some(1),
                    kind: super::ImportErrorKind::Invalid {
                        expected: format!("rows of at most {MAX_LINE_BYTES} bytes"),
                        found: "a longer line (is this a waveform table?)".into(),
                    },
                });
            }
            carry = buf.split_off(cut);
            let chunk = utf8_block(&buf, number, rest.path)?;
            number = read_region(chunk, number, spec, threads, &mut out, slow)?;
            if eof {
                break;
            }
        }
    }
    Ok(out)
}

/// A streamed block as text, or the UTF-8 error at its place in the file (the block starts at line `number`).
fn utf8_block<'b>(bytes: &'b [u8], number: usize, path: &std::path::Path) -> Result<&'b str, ImportError> {
    std::str::from_utf8(bytes).or_else(|_| {
        crate::io::encoding::utf8(bytes, path).map_err(|e| ImportError {
            path: path.to_path_buf(),
            line: Some(number + e.line - 1),
            column: Some(e.column),
            kind: super::ImportErrorKind::Invalid { expected: "UTF-8 text".into(), found: e.found },
        })
    })
}

/// The rows of `data` (which starts at line `number`), in blocks of [`BLOCK_BYTES`] parsed on `threads` threads,
/// appended to `out`. Returns the number of the line after `data`.
fn read_region(
    data: &str,
    mut number: usize,
    spec: &RowSpec,
    threads: usize,
    out: &mut Columns,
    slow: &mut SlowRow,
) -> Result<usize, ImportError> {
    let stride = 1 + spec.values.len();
    let mut start = 0;
    while start < data.len() {
        let end = line_end_after(data, (start + BLOCK_BYTES).min(data.len()) - 1);
        let block = &data[start..end];
        let halves: Vec<&str> = if threads < 2 || block.len() < BLOCK_BYTES / 8 {
            vec![block]
        } else {
            let mid = line_end_after(block, block.len() / 2 - 1);
            vec![&block[..mid], &block[mid..]]
        };
        let parsed: Vec<Half> = std::thread::scope(|s| {
            let handles: Vec<_> = halves[1..].iter().map(|h| s.spawn(|| parse_half(h, spec))).collect();
            let mut parsed = vec![parse_half(halves[0], spec)];
            // The parser cannot panic on any input; if a thread did, its half goes line by line (all exceptions).
            parsed.extend(
                handles
                    .into_iter()
                    .zip(&halves[1..])
                    .map(|(h, text)| h.join().unwrap_or_else(|_| all_exceptions(text))),
            );
            parsed
        });
        number = merge(&parsed, &halves, number, stride, out, slow)?;
        start = end;
    }
    Ok(number)
}

/// Append the rows of the parsed halves of one block to `out` in file order; exceptions and rows whose time does not
/// increase go to `slow`. Returns the number of the line after the block.
fn merge(
    parsed: &[Half],
    halves: &[&str],
    mut number: usize,
    stride: usize,
    out: &mut Columns,
    slow: &mut SlowRow,
) -> Result<usize, ImportError> {
    for (half, text) in parsed.iter().zip(halves) {
        let mut values = half.values.chunks_exact(stride);
        let mut exceptions = half.exceptions.iter();
        for (index, &state) in half.states.iter().enumerate() {
            let line_number = number + index;
            let previous = out.t.last().copied();
            let row = match state {
                SKIP => continue,
                DATA => match values.next() {
                    Some(row) if previous.is_none_or(|p| row[0] > p) => {
                        out.t.push(row[0]);
                        for (column, &v) in out.values.iter_mut().zip(&row[1..]) {
                            column.push(v);
                        }
                        continue;
                    }
                    // Time does not increase: the line-by-line parser reports it with its column.
                    _ => slow(Line { number: line_number, text: text.lines().nth(index).unwrap_or("") }, previous)?,
                },
                _ => {
                    let at = exceptions.next().copied().unwrap_or(text.len());
                    slow(Line { number: line_number, text: line_at(text, at) }, previous)?
                }
            };
            if let Some((t, row)) = row {
                out.t.push(t);
                for (column, v) in out.values.iter_mut().zip(row) {
                    column.push(v);
                }
            }
        }
        number += half.states.len();
    }
    Ok(number)
}

/// Every line of `text` as an exception (the line-by-line parser reads them all).
fn all_exceptions(text: &str) -> Half {
    let mut half = Half::default();
    let mut pos = 0;
    while pos < text.len() {
        half.states.push(EXCEPTION);
        half.exceptions.push(pos);
        pos = line_end_after(text, pos);
    }
    half
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Send every row to the line-by-line parser (to compare it with the fast path).
        pub(super) static LINE_BY_LINE: Cell<bool> = const { Cell::new(false) };
    }

    /// The reference the fast path is compared with, sharing none of its block cutting, threads or merging: every
    /// line of `text` from `first_line` on, then of the rest of the file, through the format's line-by-line parser.
    pub(super) fn line_by_line(
        text: &str,
        first_line: usize,
        rest: Option<&mut Rest>,
        mut out: Columns,
        slow: &mut SlowRow,
    ) -> Result<Columns, ImportError> {
        let mut push = |out: &mut Columns, line: Line| -> Result<(), ImportError> {
            if let Some((t, values)) = slow(line, out.t.last().copied())? {
                out.t.push(t);
                for (column, v) in out.values.iter_mut().zip(values) {
                    column.push(v);
                }
            }
            Ok(())
        };
        let mut next = first_line;
        for line in super::super::text::lines(text).filter(|l| l.number >= first_line) {
            next = line.number + 1;
            push(&mut out, line)?;
        }
        if let Some(rest) = rest {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut rest.reader, &mut bytes).map_err(rest.on_error)?;
            let (good, bad) = match std::str::from_utf8(&bytes) {
                Ok(t) => (t, None),
                Err(e) => {
                    let cut = bytes[..e.valid_up_to()].iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1);
                    (std::str::from_utf8(&bytes[..cut]).unwrap_or(""), Some(&bytes[cut..]))
                }
            };
            for line in super::super::text::lines(good) {
                push(&mut out, Line { number: next + line.number - 1, text: line.text })?;
            }
            if let Some(bad) = bad {
                let lines = good.bytes().filter(|&b| b == b'\n').count();
                return Err(utf8_block(bad, next + lines, rest.path).unwrap_err());
            }
        }
        Ok(out)
    }

    fn spec_csv() -> RowSpec {
        RowSpec {
            sep: Sep::Byte(b','),
            width: 2,
            time: 0,
            time_factor: 1.0,
            values: vec![(1, 1.0)],
            equal_to_time: vec![],
            comments: false,
        }
    }

    fn state(line: &[u8], spec: &RowSpec, out: &mut Vec<f64>) -> u8 {
        let mut cells = Vec::new();
        let (next, state) = line_state(line, 0, spec, &mut cells, out);
        assert_eq!(next, line.len() + 1);
        state
    }

    #[test]
    fn plain_rows_skips_and_exceptions() {
        let spec = spec_csv();
        let mut out = Vec::new();
        assert_eq!(state(b" 1.5e-3 , -2", &spec, &mut out), DATA);
        assert_eq!(out, vec![1.5e-3, -2.0]);
        assert_eq!(state(b"  \t\r", &spec, &mut out), SKIP);
        for bad in [
            &b"1,2m"[..],
            b"1",
            b"1,2,3",
            b"\"1\",2",
            b"1,inf",
            b"1,NaN",
            b"x,1",
            b"1,",
            b"1e999,1",
            b"1,2\xc2\xb5",
            b",,",
        ] {
            assert_eq!(state(bad, &spec, &mut out), EXCEPTION, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(out.len(), 2, "an exception leaves no values behind");
        assert_eq!(state(b"1,2,,  \r", &spec, &mut out), DATA);
        let ws = RowSpec { sep: Sep::Whitespace, width: 4, equal_to_time: vec![2], comments: true, ..spec };
        out.clear();
        assert_eq!(state(b" 1e-3  2 1.0e-3 4\r", &ws, &mut out), DATA);
        assert_eq!(out, vec![1e-3, 2.0]);
        assert_eq!(state(b" 1e-3  2 2e-3 4", &ws, &mut out), EXCEPTION);
        assert_eq!(state(b" * comment", &ws, &mut out), SKIP);
        assert_eq!(state(b"#", &ws, &mut out), SKIP);
        assert_eq!(state(b"1 2 1 4 5", &ws, &mut out), EXCEPTION);
    }

    #[test]
    fn exceptions_and_decreasing_time_go_to_the_slow_row_in_order() {
        let spec = spec_csv();
        let text = "h\n0,1\n\n1,2m\n2,3\n1,4\n";
        let mut seen = Vec::new();
        let mut slow = |line: Line, previous: Option<f64>| {
            seen.push((line.number, line.text.to_string(), previous));
            if line.text == "1,4" {
                return Err(super::super::Ctx { path: std::path::Path::new("f") }.invalid(line.number, 1, "x", "y"));
            }
            Ok(Some((1.5, vec![2e-3])))
        };
        let err = read_rows(text, 2, &spec, 2, &mut slow, None).unwrap_err();
        assert_eq!(err.to_string(), "f:6:1: expected x, found y");
        assert_eq!(seen, vec![(4, "1,2m".to_string(), Some(0.0)), (6, "1,4".to_string(), Some(2.0))]);
    }

    #[test]
    fn line_starts() {
        assert_eq!(line_start("a\nbb\r\nc", 1), 0);
        assert_eq!(line_start("a\nbb\r\nc", 2), 2);
        assert_eq!(line_start("a\nbb\r\nc", 3), 6);
        assert_eq!(line_start("a\nbb\r\nc", 9), 7);
    }

    /// Parse `text` with the fast path and line by line, from a string and from a file (streamed past the head),
    /// four ways; all must give the same result (bit for bit) or the same error.
    fn both(text: &str, format: &super::super::Format, options: Option<&super::super::GenericOptions>) -> String {
        use super::super::{parse_str, read_file, WaveformFile};
        let path = std::path::Path::new("mixed.txt");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mixed.txt");
        std::fs::write(&file, text).unwrap();
        let from_file = || {
            read_file(&file, format, options).map_err(|e| e.to_string().replace(&*file.to_string_lossy(), "mixed.txt"))
        };
        let fast = parse_str(text, path, format, options).map_err(|e| e.to_string());
        let streamed = from_file();
        LINE_BY_LINE.set(true);
        let slow = parse_str(text, path, format, options).map_err(|e| e.to_string());
        let slow_streamed = from_file();
        LINE_BY_LINE.set(false);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let same = |a: &Result<WaveformFile, String>, b: &Result<WaveformFile, String>| match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.trace_names(), b.trace_names());
                for (x, y) in a.traces.iter().zip(&b.traces) {
                    assert_eq!(bits(&x.t_s), bits(&y.t_s), "{}", x.name);
                    assert_eq!(bits(&x.values), bits(&y.values), "{}", x.name);
                }
            }
            _ => assert_eq!(a.as_ref().err(), b.as_ref().err()),
        };
        same(&fast, &slow);
        same(&streamed, &slow);
        same(&slow_streamed, &slow);
        match fast {
            Ok(a) => format!("{} rows", a.traces[0].t_s.len()),
            Err(e) => e,
        }
    }

    /// A number in one of several spellings: exponent forms, signs, leading zeros, engineering suffixes (slow path).
    fn spell(v: f64, k: usize) -> String {
        match k % 9 {
            0 => format!("{v:e}"),
            1 => format!("{v:.6e}"),
            2 => format!("{v:.15E}"),
            3 if v >= 0.0 => format!("+{v}"),
            4 => format!("{v:.9}"),
            5 => format!("  {v:e}  "),
            6 => format!("{}m", v * 1e3),
            7 => format!("{v:.17e}").replace("e-", "e-0"),
            _ => format!("{v}"),
        }
    }

    #[test]
    fn fast_path_equals_line_by_line_on_mixed_files() {
        use super::super::{Format, GenericOptions};
        let rows = 160_000; // more than one block
        let mut csv = String::from("Model,X\nTime (s),CH1 (mV),I [nA]\n");
        let mut spice = String::from("* wrdata\n");
        for k in 0..rows {
            let t = k as f64 * 1.3e-7 + 1e-12;
            let (v, i) = (0.9 - 1e-3 * (k as f64).sin(), -(k as f64).cos() * 3e-9);
            let end = if k % 7 == 0 { "\r\n" } else { "\n" };
            csv += &format!("{},{},{}{end}", spell(t, k), spell(v, k / 3), spell(i, k / 5));
            if k % 1000 == 0 {
                csv += "   \n";
                spice += "# comment\n\n";
            }
            let ts = spell(t, k);
            spice += &format!(" {ts} {}\t{ts}  {}{end}", spell(v, k + 1), spell(i, k + 2));
        }
        let options = GenericOptions { header_lines: 1, ..GenericOptions::default() };
        assert_eq!(both(&csv, &Format::Generic, Some(&options)), format!("{rows} rows"));
        assert_eq!(both(&spice, &Format::Ngspice, None), format!("{rows} rows"));
        // Malformed rows deep in the file: the same located error both ways.
        let mut lines: Vec<&str> = csv.lines().collect();
        for (at, bad) in [(150_000, "1,2,3,4"), (123_456, "0,0.2,0.3"), (100_000, "1e-3,\"x\",2"), (159_999, "1,2x,3")]
        {
            let saved = lines[at];
            lines[at] = bad;
            let e = both(&lines.join("\n"), &Format::Generic, Some(&options));
            assert!(e.starts_with(&format!("mixed.txt:{}:", at + 1)), "{e}");
            lines[at] = saved;
        }
        let mut lines: Vec<&str> = spice.lines().collect();
        let at = lines.len() - 20_000;
        lines[at] = " 1.0 0.9 1.0 2x";
        let e = both(&lines.join("\n"), &Format::Ngspice, None);
        assert!(e.starts_with(&format!("mixed.txt:{}:14: expected a number for v2", at + 1)), "{e}");
    }

    #[test]
    fn streamed_rows_keep_utf8_errors_located_and_gzip_streams_too() {
        use super::super::{read_file, Format};
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"t,v\n".to_vec();
        for k in 0..3000 {
            bytes.extend_from_slice(format!("{},{}\n", k as f64 * 1e-6, 0.9 + 1e-4 * k as f64).as_bytes());
        }
        // Compressed: decompressed as it is read, the rows streamed like a plain file's.
        let gz = dir.path().join("w.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let opts = super::super::GenericOptions { header_lines: 1, ..Default::default() };
        let f = read_file(&gz, &Format::Generic, Some(&opts)).unwrap();
        assert_eq!(f.traces[0].t_s.len(), 3000);
        assert_eq!(f.traces[0].values[2999], 0.9 + 1e-4 * 2999.0);
        // A Latin-1 degree sign on line 2,501 (cell 2, after "2.499e-3,"), far past the head.
        let line = 2501;
        let at = bytes.iter().enumerate().filter(|(_, &b)| b == b'\n').nth(line - 2).unwrap().0 + 1;
        let cell = bytes[at..].iter().position(|&b| b == b',').unwrap() + 1;
        bytes.insert(at + cell, 0xB0);
        let plain = dir.path().join("w.csv");
        std::fs::write(&plain, &bytes).unwrap();
        let e = read_file(&plain, &Format::Generic, Some(&opts)).unwrap_err();
        assert_eq!((e.line, e.column), (Some(line), Some(cell + 1)), "{e}");
        assert!(e.to_string().contains("0xB0"), "{e}");
    }

    /// A line longer than MAX_LINE_BYTES, at the start or deep in the file, is refused at its line (instead of
    /// being buffered whole: a 600 MB single-line file took 1.85 GB).
    #[test]
    fn overlong_lines_are_refused_where_they_start() {
        use super::super::{read_file, Format};
        let dir = tempfile::tempdir().unwrap();
        let long = "1".repeat(2 * MAX_LINE_BYTES);
        let f = dir.path().join("one-line.txt");
        std::fs::write(&f, &long).unwrap();
        let e = read_file(&f, &Format::Ngspice, None).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(1)), "{e}");
        assert!(e.to_string().contains("longer line"), "{e}");
        let mut text = String::from("t,v\n");
        for k in 0..2000 {
            text += &format!("{},{}\n", k as f64 * 1e-6, 0.9);
        }
        text += &long;
        text += "\n1,2\n";
        let f = dir.path().join("late.csv");
        std::fs::write(&f, &text).unwrap();
        let opts = super::super::GenericOptions { header_lines: 1, ..Default::default() };
        let e = read_file(&f, &Format::Generic, Some(&opts)).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2002), Some(1)), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(48))]
        /// Generated files of up to ~60 kB (past the 16 kB head, across many 4 kB blocks, both threads) with
        /// blank, comment, engineering-notation and CRLF rows anywhere, and at most one malformed, ragged or
        /// time-reversing row: fast and line-by-line, whole and streamed, agree on every bit and every error.
        #[test]
        fn fast_and_streamed_equal_line_by_line_on_generated_files(
            mut kinds in proptest::collection::vec(0u8..20, 1..2500),
            bad in proptest::option::of((0.0f64..1.0, 3u8..6)),
            ngspice in proptest::bool::ANY,
        ) {
            // Rows of kinds 3-5 are errors: at most one, anywhere (often past the head and deep in a block).
            for k in kinds.iter_mut().filter(|k| (3..6).contains(*k)) {
                *k = 7;
            }
            if let Some((at, kind)) = bad {
                let n = kinds.len();
                kinds[((at * n as f64) as usize).min(n - 1)] = kind;
            }
            use super::super::{Format, GenericOptions};
            let mut text = if ngspice { String::from("* wrdata\n") } else { String::from("t,v\n") };
            let sep = if ngspice { "  " } else { "," };
            let mut t = 0.0;
            for (k, kind) in kinds.iter().enumerate() {
                t += 1e-6;
                let v = 0.9 + 1e-3 * (k as f64).sin();
                let row = match kind {
                    0 => String::new(),
                    1 if ngspice => "# note".to_string(),
                    2 => format!("{}{sep}{}m", spell(t, k), v * 1e3),
                    3 => format!("{}{sep}x{v}", spell(t, k)),
                    4 => format!("{}{sep}{v}", t - 5e-6),
                    5 => format!("{}{sep}{v}{sep}{v}", spell(t, k)),
                    6 => format!("{}{sep}{v}\r", spell(t, k)),
                    _ => format!("{}{sep}{}", spell(t, k), spell(v, k + 1)),
                };
                text += &row;
                text.push('\n');
            }
            if ngspice {
                both(&text, &Format::Ngspice, None);
            } else {
                both(&text, &Format::Generic, Some(&GenericOptions { header_lines: 1, ..GenericOptions::default() }));
            }
        }
    }
}
