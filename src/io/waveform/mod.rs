//! Waveform importers: transient waveforms exported from Cadence Virtuoso (ViVA CSV, VCSV, OCEAN `ocnPrint`),
//! ngspice `wrdata` files and oscilloscope / SMU CSV files, converted to SI units with their metadata kept.
//!
//! Every importer returns the same thing, a [`WaveformFile`]: named [`Trace`]s, each with its own time axis in
//! seconds and its values in SI (A, V, or the unit the file declares when it is not A, V or s), plus the metadata
//! the file carries. Which signal of the model a trace is compared with is decided elsewhere, by a waveform-set
//! descriptor ([`crate::io::descriptor`]).
//!
//! Errors never panic and always say where: [`ImportError`] displays as `path:line:column: expected ..., found ...`.
//!
//! | format     | module      | layout                                                                          |
//! |------------|-------------|---------------------------------------------------------------------------------|
//! | `viva-csv` | [`viva`]    | ViVA "Export to CSV": `NAME X,NAME Y` column pairs, columns of unequal length      |
//! | `vcsv`     | [`vcsv`]    | Virtuoso VCSV: six `;` header lines (version, names, `X, Y`, types, labels, units) |
//! | `ocean`    | [`ocean`]   | `ocnPrint` text: `time (s) v("/net" ?result "tran")` header, engineering suffixes |
//! | `ngspice`  | [`ngspice`] | `wrdata`: `t v1 t v2 ...`, or `t v1 v2 ...` with `wr_singlescale`                  |
//! | `generic`  | [`generic`] | instrument CSV: metadata lines, header row, data; column map from [`GenericOptions`] |

// Errors carry the file, position and the offending text; they are built only on the failure path, so their size
// does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub mod engineering;
pub(crate) mod fast;
pub mod generic;
pub mod ngspice;
pub mod ocean;
pub(crate) mod text;
pub mod vcsv;
pub mod viva;

pub use engineering::{parse_engineering, si_unit};

use engineering::{parse_number, NumberError};
use text::Cell;

/// One imported waveform: a named signal sampled at its own time points.
///
/// `t_s` is strictly increasing and in seconds; `values` has the same length and is in SI (`unit` says which: `A`,
/// `V`, `1`, or the file's own unit when that is not a recognised SI unit; `None` when the file does not say).
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The name the file gives the signal, e.g. `/ica` (ViVA, VCSV, OCEAN net name) or `v(out)` (ngspice).
    pub name: String,
    /// The SI unit of `values`, if the file declares or implies one.
    pub unit: Option<String>,
    /// Time points in seconds, strictly increasing.
    pub t_s: Vec<f64>,
    /// Values in SI (see `unit`), one per time point.
    pub values: Vec<f64>,
}

/// The result of importing one file: its traces and its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveformFile {
    /// The path the data came from (as given to [`read_file`] / [`parse_str`]).
    pub path: PathBuf,
    /// The format it was read as.
    pub format: Format,
    /// The traces in file order.
    pub traces: Vec<Trace>,
    /// Header information the file carries (VCSV header lines, instrument settings, OCEAN expressions, ...) and
    /// the units each trace had in the file before conversion (`trace.NAME.unit_in_file`).
    pub metadata: BTreeMap<String, String>,
}

impl WaveformFile {
    /// The trace called `name`, if any.
    pub fn trace(&self, name: &str) -> Option<&Trace> {
        self.traces.iter().find(|t| t.name == name)
    }

    /// The names of all traces, in file order (for error messages that list what exists).
    pub fn trace_names(&self) -> Vec<String> {
        self.traces.iter().map(|t| t.name.clone()).collect()
    }
}

/// The file formats the importers understand. Serde / command-line names: `viva-csv`, `vcsv`, `ocean`, `ngspice`,
/// `generic`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Virtuoso ViVA "Export to CSV": a header of `NAME X,NAME Y` pairs, columns of unequal length.
    VivaCsv,
    /// Virtuoso VCSV: `;` header lines (version, names, axes, types, labels, units), then `x1,y1,x2,y2,...` rows.
    Vcsv,
    /// OCEAN `ocnPrint` text output: a header line, then white-space separated rows with engineering suffixes.
    Ocean,
    /// ngspice `wrdata` output: `t v1 t v2 ...` (or `t v1 v2 ...` with `wr_singlescale`), no header.
    Ngspice,
    /// Oscilloscope / SMU CSV: metadata lines, a header row and data, read through a [`GenericOptions`] map.
    Generic,
}

impl Format {
    /// Every format, in documentation order.
    pub const ALL: [Format; 5] = [Format::VivaCsv, Format::Vcsv, Format::Ocean, Format::Ngspice, Format::Generic];

    /// The serde / command-line name (`viva-csv`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Format::VivaCsv => "viva-csv",
            Format::Vcsv => "vcsv",
            Format::Ocean => "ocean",
            Format::Ngspice => "ngspice",
            Format::Generic => "generic",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::ALL`] (from the command line or a descriptor).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unknown waveform format {0:?}: expected one of viva-csv, vcsv, ocean, ngspice, generic")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        Format::ALL.iter().find(|f| f.name() == s.trim()).cloned().ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// How to read a `generic` CSV (and, for `ngspice`, the vector names): which lines are metadata, the delimiter,
/// which column is time and which columns become which traces.
///
/// In a descriptor this is the `source.generic` mapping; `columns` is written as a mapping
/// `{trace name: column}` (column = header name or 1-based index), a list of trace names (`[v_out, i_dd]`, each
/// taking the next column), or, for ngspice, a count (`3` -> `v1 v2 v3`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GenericOptions {
    /// Number of lines before the header row; kept as metadata (`key,value` and `key: value` lines become
    /// entries). Default 0.
    #[serde(default)]
    pub header_lines: usize,
    /// Cell delimiter: `,`, `;` or tab; `None` = detect from the header row. Default `None`.
    #[serde(default)]
    pub delimiter: Option<char>,
    /// The time column: a header name or a 1-based index. Default `"1"` (the first column).
    #[serde(default = "default_time_column")]
    pub time_column: String,
    /// `(trace name, column)` pairs, column = header name or 1-based index. Empty = every other column, named by
    /// its header. For `ngspice`: the names of the vectors in file order (the column part is unused).
    #[serde(default, deserialize_with = "de_columns", serialize_with = "ser_columns")]
    pub columns: Vec<(String, String)>,
    /// Factor that converts the time column to seconds (e.g. `1e-3` for a column in ms). Default 1; when it is 1,
    /// a time unit in the header (`Time (ms)`) is converted instead.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
}

fn default_time_column() -> String {
    "1".to_string()
}

fn default_time_scale() -> f64 {
    1.0
}

impl Default for GenericOptions {
    fn default() -> Self {
        GenericOptions {
            header_lines: 0,
            delimiter: None,
            time_column: default_time_column(),
            columns: Vec::new(),
            time_scale: 1.0,
        }
    }
}

fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn de_columns<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    use serde::de::Error;
    use serde::Deserialize;
    let value = serde_yaml::Value::deserialize(d)?;
    let bad = || D::Error::custom("expected `columns` as a mapping {trace: column}, a list of names, or a count");
    match value {
        serde_yaml::Value::Null => Ok(Vec::new()),
        serde_yaml::Value::Mapping(m) => {
            m.iter().map(|(k, v)| Ok((scalar_text(k).ok_or_else(bad)?, scalar_text(v).ok_or_else(bad)?))).collect()
        }
        serde_yaml::Value::Sequence(s) => {
            s.iter().enumerate().map(|(i, v)| Ok((scalar_text(v).ok_or_else(bad)?, (i + 2).to_string()))).collect()
        }
        serde_yaml::Value::Number(n) => match n.as_u64() {
            Some(k) if (1..=10_000).contains(&k) => {
                Ok((1..=k).map(|i| (format!("v{i}"), (i + 1).to_string())).collect())
            }
            _ => Err(D::Error::custom("expected a column count between 1 and 10000")),
        },
        _ => Err(bad()),
    }
}

fn ser_columns<S: serde::Serializer>(columns: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(columns.iter().map(|(k, v)| (k, v)))
}

/// Why a waveform file could not be imported: where (file, 1-based line and column when they apply) and what was
/// expected. Displays as `path:line:column: expected ..., found ...`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", location(path, *line, *column))]
pub struct ImportError {
    /// The file (as given to the importer).
    pub path: PathBuf,
    /// 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// 1-based character column within that line, when the problem is in one cell.
    pub column: Option<usize>,
    /// What went wrong.
    pub kind: ImportErrorKind,
}

/// `path`, `path:line` or `path:line:column`.
pub(crate) fn location(path: &Path, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
        (Some(l), None) => format!("{}:{l}", path.display()),
        _ => path.display().to_string(),
    }
}

fn for_what(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!(" for {what}")
    }
}

/// What was wrong with an imported file (the position is in [`ImportError`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// A cell that should hold a number does not.
    #[error("expected a number{}, found {found:?}", for_what(what))]
    NotANumber { what: String, found: String },
    /// A cell that should hold a number is empty.
    #[error("expected a number{}, found an empty cell", for_what(what))]
    EmptyCell { what: String },
    /// A number followed by an unknown scale suffix (`1.2x`).
    #[error(
        "expected a number{} with a known suffix (a f p n u m k M Meg G T), found {found:?} (unknown suffix {suffix:?})",
        for_what(what)
    )]
    UnknownSuffix { what: String, found: String, suffix: String },
    /// `NaN`, `inf` or an overflowing value.
    #[error("expected a finite number{}, found {found:?}", for_what(what))]
    NonFinite { what: String, found: String },
    /// A time point not after the previous one (equal times are rejected too).
    #[error("expected the time of {trace} to increase strictly, found {found_s:e} s after {previous_s:e} s")]
    TimeNotIncreasing { trace: String, previous_s: f64, found_s: f64 },
    /// ngspice: a repeated scale column that differs from the first one.
    #[error("expected the scale column before vector {vector} to repeat the time {expected:?}, found {found:?}")]
    ScaleMismatch { vector: String, expected: String, found: String },
    /// A column named in the options is not in the file.
    #[error("expected a column {wanted:?}, but the file has only: {}", available.join(", "))]
    MissingColumn { wanted: String, available: Vec<String> },
    /// A trace without a single point.
    #[error("expected at least one data point for {trace}, found none")]
    EmptySignal { trace: String },
    /// A row with the wrong number of cells.
    #[error("expected {expected} cells in this row, found {found}")]
    Ragged { expected: String, found: usize },
    /// Anything else: a malformed header, a bad option.
    #[error("expected {expected}, found {found}")]
    Invalid { expected: String, found: String },
}

/// The file being parsed, for building located errors.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub path: &'a Path,
}

impl<'a> Ctx<'a> {
    /// An error at `line:column`.
    pub fn at(&self, line: usize, column: usize, kind: ImportErrorKind) -> ImportError {
        ImportError { path: self.path.to_path_buf(), line: Some(line), column: Some(column), kind }
    }

    /// An error about the file as a whole.
    pub fn file(&self, kind: ImportErrorKind) -> ImportError {
        ImportError { path: self.path.to_path_buf(), line: None, column: None, kind }
    }

    /// An [`ImportErrorKind::Invalid`] at `line:column`.
    pub fn invalid(
        &self,
        line: usize,
        column: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> ImportError {
        let found = shorten(&found.into());
        self.at(line, column, ImportErrorKind::Invalid { expected: expected.into(), found })
    }

    /// Parse `cell` (on `line`) as a finite number in engineering notation; `what` names the column for messages.
    pub fn number(&self, line: usize, cell: &Cell, what: &str) -> Result<f64, ImportError> {
        parse_number(&cell.text).map_err(|e| {
            let what = what.to_string();
            let found = shorten(&cell.text);
            let kind = match e {
                NumberError::Empty => ImportErrorKind::EmptyCell { what },
                NumberError::NotANumber => ImportErrorKind::NotANumber { what, found },
                NumberError::UnknownSuffix(suffix) => ImportErrorKind::UnknownSuffix { what, found, suffix },
                NumberError::NonFinite => ImportErrorKind::NonFinite { what, found },
            };
            self.at(line, cell.column, kind)
        })
    }
}

/// A trace being filled row by row; checks that time increases strictly as points arrive.
pub(crate) struct TraceBuilder {
    pub name: String,
    pub unit: Option<String>,
    pub t_s: Vec<f64>,
    pub values: Vec<f64>,
    /// Where the trace is declared (header line, column), for the empty-signal error.
    pub declared_at: (usize, usize),
}

impl TraceBuilder {
    pub fn new(name: impl Into<String>, unit: Option<String>, declared_at: (usize, usize)) -> Self {
        TraceBuilder { name: name.into(), unit, t_s: Vec::new(), values: Vec::new(), declared_at }
    }

    /// Append a point; `time_at` is the position of the time cell (for the error if time does not increase).
    pub fn push(&mut self, ctx: &Ctx, t_s: f64, value: f64, time_at: (usize, usize)) -> Result<(), ImportError> {
        check_point(ctx, &self.name, self.t_s.last().copied(), t_s, value, time_at)?;
        self.t_s.push(t_s);
        self.values.push(value);
        Ok(())
    }

    /// The finished trace; an error if it has no points.
    pub fn finish(self, ctx: &Ctx) -> Result<Trace, ImportError> {
        if self.t_s.is_empty() {
            return Err(ctx.at(
                self.declared_at.0,
                self.declared_at.1,
                ImportErrorKind::EmptySignal { trace: self.name },
            ));
        }
        Ok(Trace { name: self.name, unit: self.unit, t_s: self.t_s, values: self.values })
    }
}

/// The checks of [`TraceBuilder::push`] for a point of trace `name` after `previous_s`: finite values, strictly
/// increasing time.
pub(crate) fn check_point(
    ctx: &Ctx,
    name: &str,
    previous_s: Option<f64>,
    t_s: f64,
    value: f64,
    time_at: (usize, usize),
) -> Result<(), ImportError> {
    if !t_s.is_finite() || !value.is_finite() {
        return Err(ctx.invalid(time_at.0, time_at.1, "finite values after unit conversion", "an overflow"));
    }
    match previous_s {
        Some(previous_s) if t_s <= previous_s => Err(ctx.at(
            time_at.0,
            time_at.1,
            ImportErrorKind::TimeNotIncreasing { trace: name.to_string(), previous_s, found_s: t_s },
        )),
        _ => Ok(()),
    }
}

/// Convert a unit declared in a file to SI: `(factor, Some(SI unit))` for `A`/`V`/`s`/`1` with any prefix,
/// `(1, Some(unit))` for another unit (kept as written), `(1, None)` for none. Records the unit as written in
/// `metadata` under `trace.NAME.unit_in_file`.
pub(crate) fn convert_unit(
    name: &str,
    unit_in_file: Option<&str>,
    metadata: &mut BTreeMap<String, String>,
) -> (f64, Option<String>) {
    match unit_in_file.map(str::trim).filter(|u| !u.is_empty()) {
        None => (1.0, None),
        Some(u) => {
            metadata.insert(format!("trace.{name}.unit_in_file"), u.to_string());
            match si_unit(u) {
                Some((factor, base)) => (factor, Some(base.to_string())),
                None => (1.0, Some(u.to_string())),
            }
        }
    }
}

/// Fail on duplicate trace names (a descriptor could not tell them apart).
pub(crate) fn check_unique(ctx: &Ctx, names: &[(String, usize, usize)]) -> Result<(), ImportError> {
    for (i, (name, line, column)) in names.iter().enumerate() {
        if names[..i].iter().any(|(n, _, _)| n == name) {
            return Err(ctx.invalid(*line, *column, "unique trace names", format!("{name:?} a second time")));
        }
    }
    Ok(())
}

/// Largest inflated size accepted from a `.gz` waveform file (512 MiB): a guard against gzip bombs, far above any
/// transient export (a 5 M-row two-column file is about 170 MB).
pub const MAX_INFLATED_BYTES: u64 = 512 << 20;

/// Bytes read before the format is parsed. A file that fits is parsed as one text. A bigger `ngspice` or `generic`
/// file is parsed from this head (cut at a line end: the header and the first rows), and its remaining rows are
/// read and parsed block by block ([`fast::Rest`]), so that the text is never held whole: a 170 MB, 5 M-row export
/// costs its columns (80 MB) and a few blocks, not the file size on top. (Small in unit tests, so that their
/// generated files take the streaming path.)
const HEAD_BYTES: usize = if cfg!(test) { 16 << 10 } else { 16 << 20 };

/// A compressed stream that fails once it has inflated past [`MAX_INFLATED_BYTES`].
struct Inflated<R> {
    inner: R,
    read: u64,
}

/// The error [`Inflated`] returns past its limit (recognised by [`read_file`]).
#[derive(Debug)]
struct InflatesTooFar;

impl std::fmt::Display for InflatesTooFar {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "inflates past {MAX_INFLATED_BYTES} bytes")
    }
}

impl std::error::Error for InflatesTooFar {}

impl<R: std::io::Read> std::io::Read for Inflated<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > MAX_INFLATED_BYTES {
            return Err(std::io::Error::other(InflatesTooFar));
        }
        Ok(n)
    }
}

/// Read and import a waveform file. Files ending in `.gz` are decompressed as they are read (at most
/// [`MAX_INFLATED_BYTES`]). Text must be UTF-8: a UTF-16 file (byte-order mark) or bytes that are not UTF-8
/// (Latin-1, Windows-1252) are errors with the position and a hint to convert the file. Big `ngspice` and `generic`
/// files are never held whole ([`HEAD_BYTES`]).
pub fn read_file(path: &Path, format: &Format, generic: Option<&GenericOptions>) -> Result<WaveformFile, ImportError> {
    use std::io::Read;
    let on_error = |e: std::io::Error| {
        let kind = if e.get_ref().is_some_and(|inner| inner.is::<InflatesTooFar>()) {
            ImportErrorKind::Invalid {
                expected: format!("a compressed file that inflates to at most {MAX_INFLATED_BYTES} bytes"),
                found: "more (stopped there; decompress it yourself if it is really a waveform)".into(),
            }
        } else {
            ImportErrorKind::Io(e)
        };
        ImportError { path: path.to_path_buf(), line: None, column: None, kind }
    };
    let file = std::fs::File::open(path).map_err(on_error)?;
    let compressed = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let size_hint = if compressed { None } else { file.metadata().ok().map(|m| m.len()) };
    let mut reader: Box<dyn Read> = if compressed {
        Box::new(Inflated { inner: flate2::read::GzDecoder::new(std::io::BufReader::new(file)), read: 0 })
    } else {
        Box::new(file)
    };
    let mut bytes = Vec::new();
    (&mut reader).take(HEAD_BYTES as u64).read_to_end(&mut bytes).map_err(on_error)?;
    let head_end = bytes.iter().rposition(|&b| b == b'\n').map(|k| k + 1);
    let streams = bytes.len() == HEAD_BYTES && matches!(format, Format::Ngspice | Format::Generic);
    if streams && head_end.is_none_or(|end| bytes.len() - end > fast::MAX_LINE_BYTES) {
        // No line end in the head (or a huge last line): not a table; refuse instead of reading it all.
        let line = 1 + head_end.map_or(0, |end| bytes[..end].iter().filter(|&&b| b == b'\n').count());
        return Err(ImportError {
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(1),
            kind: ImportErrorKind::Invalid {
                expected: format!("rows of at most {} bytes", fast::MAX_LINE_BYTES),
                found: "a longer line (is this a waveform table?)".into(),
            },
        });
    }
    let (head_end, mut rest) = match head_end {
        Some(end) if streams => {
            let carry = bytes.split_off(end);
            let rest = fast::Rest {
                reader: Box::new(std::io::Cursor::new(carry).chain(reader)),
                path,
                size_hint,
                on_error: &on_error,
            };
            (end, Some(rest))
        }
        _ => {
            reader.read_to_end(&mut bytes).map_err(on_error)?;
            (bytes.len(), None)
        }
    };
    let text = crate::io::encoding::utf8(&bytes[..head_end], path).map_err(|e| ImportError {
        path: path.to_path_buf(),
        line: Some(e.line),
        column: Some(e.column),
        kind: ImportErrorKind::Invalid { expected: "UTF-8 text".into(), found: e.found },
    })?;
    parse_text(text, path, format, generic, rest.as_mut())
}

/// `text` cut to at most 80 characters (with `...`), for quoting file content in error messages: a huge "header"
/// must never be echoed whole.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((k, _)) => format!("{}...", &text[..k]),
        None => text.to_string(),
    }
}

/// Import waveform text already in memory; `path_for_messages` is only used in errors and [`WaveformFile::path`].
/// `generic` is used by the `generic` format (default options if `None`) and, for `ngspice`, for vector names and
/// the time scale; the other formats ignore it.
pub fn parse_str(
    text: &str,
    path_for_messages: &Path,
    format: &Format,
    generic: Option<&GenericOptions>,
) -> Result<WaveformFile, ImportError> {
    parse_text(text, path_for_messages, format, generic, None)
}

/// [`parse_str`] of a head text, with the rest of the file still to read for the formats that stream.
fn parse_text(
    text: &str,
    path_for_messages: &Path,
    format: &Format,
    generic: Option<&GenericOptions>,
    rest: Option<&mut fast::Rest>,
) -> Result<WaveformFile, ImportError> {
    let ctx = Ctx { path: path_for_messages };
    let mut metadata = BTreeMap::new();
    let traces = match format {
        Format::VivaCsv => viva::parse(&ctx, text, &mut metadata)?,
        Format::Vcsv => vcsv::parse(&ctx, text, &mut metadata)?,
        Format::Ocean => ocean::parse(&ctx, text, &mut metadata)?,
        Format::Ngspice => ngspice::parse(&ctx, text, generic, &mut metadata, rest)?,
        Format::Generic => generic::parse(&ctx, text, generic.cloned().unwrap_or_default(), &mut metadata, rest)?,
    };
    if traces.is_empty() {
        return Err(ctx.file(ImportErrorKind::Invalid { expected: "at least one trace".into(), found: "none".into() }));
    }
    metadata.insert("format".to_string(), format.name().to_string());
    Ok(WaveformFile { path: path_for_messages.to_path_buf(), format: format.clone(), traces, metadata })
}

/// Guess the format of a waveform text from its first lines (for a command-line `--format auto`): `;Version` ->
/// VCSV, `NAME X,NAME Y` header -> ViVA CSV, only numbers -> ngspice, a white-space header with `(...)` -> OCEAN,
/// anything else -> generic. `None` for a text without a non-blank line.
pub fn detect_format(text: &str) -> Option<Format> {
    let first = text::lines(text).map(|l| l.text.trim()).find(|t| !t.is_empty())?;
    if first.starts_with(';') {
        return Some(Format::Vcsv);
    }
    if first.starts_with('*') || first.starts_with('#') {
        return Some(Format::Ngspice);
    }
    if let Ok(cells) = text::split_delimited(first, ',') {
        let named = cells.iter().filter(|c| !c.text.is_empty()).collect::<Vec<_>>();
        if named.len() >= 2
            && named.len() % 2 == 0
            && named.chunks(2).all(|p| p[0].text.ends_with(" X") && p[1].text.ends_with(" Y"))
        {
            return Some(Format::VivaCsv);
        }
    }
    let tokens = text::split_whitespace(first);
    if tokens.iter().all(|t| parse_engineering(&t.text).is_some()) {
        return Some(Format::Ngspice);
    }
    if !first.contains(',') && !first.contains(';') && !first.contains('\t') && first.contains('(') {
        return Some(Format::Ocean);
    }
    Some(Format::Generic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small valid sample of every format, with the options it needs.
    fn samples() -> Vec<(Format, &'static str, Option<GenericOptions>)> {
        vec![
            (Format::VivaCsv, viva::tests::SAMPLE, None),
            (Format::Vcsv, vcsv::tests::SAMPLE, None),
            (Format::Ocean, ocean::tests::SAMPLE, None),
            (Format::Ngspice, ngspice::tests::SAMPLE, None),
            (Format::Ngspice, ngspice::tests::SAMPLE_SINGLE, Some(ngspice::tests::names())),
            (Format::Generic, generic::tests::SAMPLE, Some(generic::tests::options())),
        ]
    }

    #[test]
    fn samples_are_valid() {
        for (format, text, options) in samples() {
            let file = parse_str(text, Path::new("s"), &format, options.as_ref()).unwrap();
            assert!(!file.traces.is_empty(), "{format}");
            assert_eq!(file.metadata["format"], format.name());
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            let yaml = serde_yaml::to_string(&f).unwrap();
            assert_eq!(yaml.trim(), f.name());
            assert_eq!(serde_yaml::from_str::<Format>(f.name()).unwrap(), f);
        }
        let err = "spectre-psf".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("spectre-psf") && err.to_string().contains("viva-csv"), "{err}");
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect_format(viva::tests::SAMPLE), Some(Format::VivaCsv));
        assert_eq!(detect_format(vcsv::tests::SAMPLE), Some(Format::Vcsv));
        assert_eq!(detect_format(ocean::tests::SAMPLE), Some(Format::Ocean));
        assert_eq!(detect_format(ngspice::tests::SAMPLE), Some(Format::Ngspice));
        assert_eq!(detect_format(generic::tests::SAMPLE), Some(Format::Generic));
        assert_eq!(detect_format("  \n"), None);
    }

    #[test]
    fn read_file_reads_plain_and_gzip_and_reports_missing_files() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("w.csv");
        std::fs::write(&plain, viva::tests::SAMPLE).unwrap();
        let a = read_file(&plain, &Format::VivaCsv, None).unwrap();
        let gz = dir.path().join("w.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(viva::tests::SAMPLE.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let b = read_file(&gz, &Format::VivaCsv, None).unwrap();
        assert_eq!(a.traces, b.traces);
        assert_eq!(a.path, plain);
        let missing = dir.path().join("nope.csv");
        let err = read_file(&missing, &Format::VivaCsv, None).unwrap_err();
        assert!(matches!(err.kind, ImportErrorKind::Io(_)));
        assert!(err.to_string().starts_with(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn generic_options_from_yaml() {
        let o: GenericOptions = serde_yaml::from_str(
            "{header_lines: 3, delimiter: \";\", time_column: Time, columns: {v_h: CH1, i: 3}, time_scale: 1.0e-3}",
        )
        .unwrap();
        assert_eq!(o.header_lines, 3);
        assert_eq!(o.delimiter, Some(';'));
        assert_eq!(o.time_column, "Time");
        assert_eq!(o.columns, vec![("v_h".to_string(), "CH1".to_string()), ("i".to_string(), "3".to_string())]);
        assert_eq!(o.time_scale, 1e-3);
        let back: GenericOptions = serde_yaml::from_str(&serde_yaml::to_string(&o).unwrap()).unwrap();
        assert_eq!(back, o);
        let d: GenericOptions = serde_yaml::from_str("columns: 2").unwrap();
        assert_eq!(d.columns, vec![("v1".into(), "2".into()), ("v2".into(), "3".into())]);
        assert_eq!(d.time_column, "1");
        let l: GenericOptions = serde_yaml::from_str("columns: [a, b]").unwrap();
        assert_eq!(l.columns, vec![("a".into(), "2".into()), ("b".into(), "3".into())]);
        assert!(serde_yaml::from_str::<GenericOptions>("colums: [a]").is_err());
        assert!(serde_yaml::from_str::<GenericOptions>("columns: 0").is_err());
    }

    #[test]
    fn readme_examples_parse() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("waveforms/README.md")).unwrap();
        let mut checked = 0;
        for section in readme.split("\n### `").skip(1) {
            let name = section.split('`').next().unwrap();
            let format: Format = name.parse().unwrap();
            let block = section.split("```text\n").nth(1).unwrap().split("```").next().unwrap();
            let options = GenericOptions { header_lines: 2, ..GenericOptions::default() };
            let options = (format == Format::Generic).then_some(&options);
            let file = parse_str(block, Path::new("README.md"), &format, options)
                .unwrap_or_else(|e| panic!("README example for {name}: {e}"));
            assert!(file.traces.len() >= 2, "{name}");
            checked += 1;
        }
        assert_eq!(checked, 5);
    }

    /// Apply byte edits (op 0 insert, 1 delete, 2 replace) to `text` at positions taken modulo its length.
    fn mutate(text: &str, edits: &[(u8, usize, u8)]) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for &(op, pos, byte) in edits {
            let n = bytes.len();
            match op % 3 {
                0 => bytes.insert(pos % (n + 1), byte),
                1 if n > 0 => {
                    bytes.remove(pos % n);
                }
                _ if n > 0 => bytes[pos % n] = byte,
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn parse_everything(text: &str) {
        let generic = generic::tests::options();
        let names = ngspice::tests::names();
        for format in Format::ALL {
            let _ = parse_str(text, Path::new("fuzz.txt"), &format, None);
            let _ = parse_str(text, Path::new("fuzz.txt"), &format, Some(&generic));
            let _ = parse_str(text, Path::new("fuzz.txt"), &format, Some(&names));
        }
        let _ = detect_format(text);
    }

    proptest! {
        // 256 cases per format by default; set STC_FUZZ_CASES for a longer run.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("STC_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            parse_everything(&text);
        }

        #[test]
        fn waveform_like_text_never_panics(text in "[-0-9eE.,;:+ \t\n\r\"()/?XYmMkKgGuUnpfaTtS#*nNaAiIvV]{0,300}") {
            parse_everything(&text);
        }

        #[test]
        fn mutated_samples_never_panic(
            which in 0usize..6,
            edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..12),
        ) {
            let samples = samples();
            let (_, text, _) = &samples[which % samples.len()];
            parse_everything(&mutate(text, &edits));
        }
    }
}
