//! Waveform-set descriptors: a YAML file next to a waveform export that says what the waveforms are (stimulus,
//! bias preset of the run) and which trace of the file is which signal of the model, in which unit.
//!
//! ```yaml
//! name: cadence-fig17
//! description: Cadence Virtuoso transient, post spike at 2 ms, pre spike at 4 ms (thesis Fig. 17)
//! source:
//!   file: cadence_fig17_post2ms_pre4ms.csv   # relative to the descriptor
//!   format: viva-csv                         # viva-csv | vcsv | ocean | ngspice | generic
//!   # generic: {header_lines: 2, delimiter: ",", time_column: Time, columns: {vh: CH1}, time_scale: 1.0}
//! stimulus: {duration_s: 0.030, pre_spikes_s: [0.004], post_spikes_s: [0.002]}
//! params: cadence-fig17        # bias preset name, or a parameter file (path relative to the descriptor)
//! signals:
//!   - {model: i_ca, trace: /ica, unit: A}          # model: i_ca | i_hp | i_hd | v_h | z | w
//!   - {model: v_h,  trace: /vh,  unit: V, scale: 1.0}
//! metadata: {simulator: Cadence Virtuoso Spectre, I_INDC_A: "25e-12"}
//! ```
//! [`WaveformSet::load`] reads the descriptor, imports the data file with [`crate::io::waveform`], maps the traces
//! to [`ModelSignal`]s, converts them to SI, and records SHA-256 hashes of both files so a fit report can say
//! exactly which data it used.
//!
//! Units: `unit` is the unit of the trace's numbers in the file (`A`, `mA`, `uA`, `nA`, `pA`, `fA` for currents;
//! `V`, `mV`, `uV` for `v_h`; `1` for `z` and `w`). When the file itself declares a unit (VCSV, OCEAN, a generic
//! header `CH1 (mV)`), the importer has already converted the trace to SI; `unit` must then be that declared unit or
//! its SI unit, anything else is reported as a mismatch rather than silently scaled twice. Omitting `unit` means
//! "as the file says, or SI".
//!
//! Every error names the descriptor (or the data file) with the line and column it is about.

// Errors carry the file, position and the offending text; they are built only on the failure path, so their size
// does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::waveform::{self, location, si_unit, Format, GenericOptions, ImportError, Trace, WaveformFile};

/// A signal of the synapse model that measured waveforms can be compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
pub enum ModelSignal {
    /// Calcium current of the DPI, A.
    #[serde(rename = "i_ca")]
    ICa,
    /// Potentiation current into the early-phase capacitor, A.
    #[serde(rename = "i_hp")]
    IHp,
    /// Depression current (magnitude) out of the early-phase capacitor, A.
    #[serde(rename = "i_hd")]
    IHd,
    /// Early-phase weight voltage, V.
    #[serde(rename = "v_h")]
    VH,
    /// Late-phase weight, dimensionless.
    #[serde(rename = "z")]
    Z,
    /// Total synaptic weight, dimensionless.
    #[serde(rename = "w")]
    W,
    /// Early-phase weight in per cent of the resting weight, 100 v_h / V_H0 (thesis Fig. 11).
    #[serde(rename = "epw_pct")]
    EpwPct,
    /// Late-phase weight in per cent of the resting weight, 100 (1 + z).
    #[serde(rename = "lpw_pct")]
    LpwPct,
    /// Total weight in per cent of the resting weight, EPW% + LPW% - 100 = 100 w / w_rest.
    #[serde(rename = "total_pct")]
    TotalPct,
}

impl ModelSignal {
    /// Every model signal.
    pub const ALL: [ModelSignal; 9] = [
        ModelSignal::ICa,
        ModelSignal::IHp,
        ModelSignal::IHd,
        ModelSignal::VH,
        ModelSignal::Z,
        ModelSignal::W,
        ModelSignal::EpwPct,
        ModelSignal::LpwPct,
        ModelSignal::TotalPct,
    ];

    /// The descriptor name: `i_ca`, `i_hp`, `i_hd`, `v_h`, `z`, `w`.
    pub fn name(&self) -> &'static str {
        match self {
            ModelSignal::ICa => "i_ca",
            ModelSignal::IHp => "i_hp",
            ModelSignal::IHd => "i_hd",
            ModelSignal::VH => "v_h",
            ModelSignal::Z => "z",
            ModelSignal::W => "w",
            ModelSignal::EpwPct => "epw_pct",
            ModelSignal::LpwPct => "lpw_pct",
            ModelSignal::TotalPct => "total_pct",
        }
    }

    /// The SI unit of the signal: `A` for currents, `V` for `v_h`, `1` for `z` and `w`.
    pub fn si_unit(&self) -> &'static str {
        match self {
            ModelSignal::ICa | ModelSignal::IHp | ModelSignal::IHd => "A",
            ModelSignal::VH => "V",
            // Per-cent signals are plain numbers (per cent of the resting weight).
            ModelSignal::Z | ModelSignal::W | ModelSignal::EpwPct | ModelSignal::LpwPct | ModelSignal::TotalPct => "1",
        }
    }

    /// The column name used in output tables (name and SI unit): `i_ca_A`, `i_hp_A`, `i_hd_A`, `v_h_V`, `z`, `w`.
    pub fn column_name(&self) -> &'static str {
        match self {
            ModelSignal::ICa => "i_ca_A",
            ModelSignal::IHp => "i_hp_A",
            ModelSignal::IHd => "i_hd_A",
            ModelSignal::VH => "v_h_V",
            ModelSignal::Z => "z",
            ModelSignal::W => "w",
            ModelSignal::EpwPct => "epw_pct",
            ModelSignal::LpwPct => "lpw_pct",
            ModelSignal::TotalPct => "total_pct",
        }
    }

    /// What the signal is, for messages: `current`, `voltage` or `dimensionless`.
    pub fn quantity(&self) -> &'static str {
        match self.si_unit() {
            "A" => "current",
            "V" => "voltage",
            _ => "dimensionless",
        }
    }

    /// The units a descriptor may give for this signal, for messages.
    fn allowed_units(&self) -> &'static str {
        match self.si_unit() {
            "A" => "A, mA, uA, nA, pA, fA",
            "V" => "V, mV, uV",
            _ => "1",
        }
    }
}

impl fmt::Display for ModelSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelSignal {
    type Err = String;

    /// Parse a descriptor name (`i_ca`, ...).
    fn from_str(s: &str) -> Result<Self, String> {
        ModelSignal::ALL
            .iter()
            .find(|m| m.name() == s.trim())
            .copied()
            .ok_or_else(|| format!("unknown model signal {s:?}: expected one of i_ca, i_hp, i_hd, v_h, z, w"))
    }
}

/// A waveform-set descriptor as written in YAML (see the module documentation). Unknown keys are errors.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// Short identifier of the waveform set (used in reports and file names).
    pub name: String,
    /// One line on what the waveforms show.
    #[serde(default)]
    pub description: Option<String>,
    /// The data file and how to read it.
    pub source: Source,
    /// The stimulus that produced the waveforms (what the model must be driven with to compare); or `protocol`.
    #[serde(default)]
    pub stimulus: Option<Stimulus>,
    /// A protocol file ([`crate::protocol`], path relative to the descriptor) instead of `stimulus`, for long
    /// protocols (e.g. protocols/fig11-strong-potentiation.yaml).
    #[serde(default)]
    pub protocol: Option<PathBuf>,
    /// Weight of this set in a fit over several sets (multiplies each of its signals' weights); default 1.
    #[serde(default = "one")]
    pub weight: f64,
    /// Parameters of the run that differ from the shared parameter set (dotted key -> SI value), applied on top of
    /// it for this set only: e.g. `capacitor.accel: 32` and `late.accel: 32` for the accelerated Fig. 11(b) run.
    #[serde(default)]
    pub overrides: BTreeMap<String, f64>,
    /// The bias preset name, or a parameter file path relative to the descriptor, of the simulated / measured
    /// circuit (see [`WaveformSet::params_path_or_name`]).
    #[serde(default)]
    pub params: Option<String>,
    /// Which trace is which model signal; at least one.
    pub signals: Vec<SignalMap>,
    /// Free-form provenance (simulator, biases as text with units in the keys, e.g. `I_INDC_A: "25e-12"`).
    /// Numbers and booleans are accepted and kept as text; quote them to keep their exact spelling.
    #[serde(default, deserialize_with = "de_metadata")]
    pub metadata: BTreeMap<String, String>,
}

/// Where the waveforms are and in which format.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The data file, relative to the descriptor's folder (or absolute).
    pub file: PathBuf,
    /// Its format.
    pub format: Format,
    /// Column map for `generic` files, vector names / time scale for `ngspice` files (also accepted as
    /// `options:`). Not allowed for the other formats.
    #[serde(default, alias = "options", skip_serializing_if = "Option::is_none")]
    pub generic: Option<GenericOptions>,
}

/// The stimulus of the run: its length and the spike times, all in seconds.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stimulus {
    /// Length of the run, s (finite, > 0).
    pub duration_s: f64,
    /// Presynaptic spike times, s, each in [0, duration_s].
    #[serde(default)]
    pub pre_spikes_s: Vec<f64>,
    /// Postsynaptic spike times, s, each in [0, duration_s].
    #[serde(default)]
    pub post_spikes_s: Vec<f64>,
}

/// One mapping from a trace of the file to a model signal.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalMap {
    /// The model signal the trace measures.
    pub model: ModelSignal,
    /// The trace name in the file (e.g. `/ica`).
    pub trace: String,
    /// The unit of the trace's numbers in the file (`A`, `pA`, `mV`, `1`, ...); `None` = as the file declares,
    /// or SI.
    #[serde(default)]
    pub unit: Option<String>,
    /// Extra factor applied after the unit conversion (e.g. -1 to flip the sign of a current); default 1.
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

fn de_metadata<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    use serde::de::Error;
    let raw = Option::<BTreeMap<String, serde_yaml::Value>>::deserialize(d)?.unwrap_or_default();
    raw.into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_yaml::Value::String(s) => s,
                serde_yaml::Value::Number(n) => n.to_string(),
                serde_yaml::Value::Bool(b) => b.to_string(),
                serde_yaml::Value::Null => String::new(),
                _ => {
                    return Err(D::Error::custom(format!(
                        "metadata `{k}`: expected a text value, found a list or mapping"
                    )))
                }
            };
            Ok((k, text))
        })
        .collect()
}

/// One model signal as measured: time in seconds and values in SI ([`ModelSignal::si_unit`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredSignal {
    /// Which model signal this is.
    pub signal: ModelSignal,
    /// Time points, s, strictly increasing.
    pub t_s: Vec<f64>,
    /// Values in SI (A, V or dimensionless), after unit conversion and `scale`.
    pub values: Vec<f64>,
}

/// A loaded waveform set: the descriptor, the measured signals in SI, and provenance (file hashes, metadata).
#[derive(Clone, Debug, PartialEq)]
pub struct WaveformSet {
    /// The descriptor as written.
    pub descriptor: Descriptor,
    /// Where the descriptor was read from.
    pub descriptor_path: PathBuf,
    /// The data file (descriptor folder joined with `source.file`).
    pub data_path: PathBuf,
    /// One entry per `signals` item, in descriptor order.
    pub signals: Vec<MeasuredSignal>,
    /// SHA-256 (lower-case hex) of the descriptor and of the data file, keyed by their paths as loaded.
    pub file_sha256: BTreeMap<String, String>,
    /// The data file's metadata, overlaid with the descriptor's `metadata` (descriptor wins on equal keys).
    pub metadata: BTreeMap<String, String>,
    /// The stimulus as spike trains (from `stimulus:` or the protocol file), sorted.
    pub spikes: crate::synapse::Spikes,
    /// Length of the run [s].
    pub duration_s: f64,
}

/// Why a waveform set could not be loaded. Every variant names the file, and where it applies the 1-based line and
/// column in it.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// A file could not be read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed, has an unknown key, a wrong type or an unknown format / signal name.
    #[error("{}: {message}", location(path, *line, *column))]
    Yaml { path: PathBuf, line: Option<usize>, column: Option<usize>, message: String },
    /// `source.file` does not exist.
    #[error(
        "{}: the descriptor points at a data file that does not exist: {} (source.file is relative to the descriptor's folder)",
        location(descriptor, *line, *column),
        data.display()
    )]
    MissingData { descriptor: PathBuf, line: Option<usize>, column: Option<usize>, data: PathBuf },
    /// The data file could not be imported (the error names the data file, line and column).
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The protocol file named by `protocol:` is not usable (its message names the protocol file and position).
    #[error("{0}")]
    Protocol(String),
    /// A `signals` item names a trace the file does not have.
    #[error(
        "{}: signal {signal}: expected a trace {trace:?} in {}, but the file has only: {}",
        location(path, *line, *column),
        data.display(),
        available.join(", ")
    )]
    MissingTrace {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        signal: ModelSignal,
        trace: String,
        data: PathBuf,
        available: Vec<String>,
    },
    /// A `signals` item's unit does not fit the model signal or what the file declares.
    #[error("{}: signal {signal}: expected {expected}, found {found:?}", location(path, *line, *column))]
    UnitMismatch {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        signal: ModelSignal,
        expected: String,
        found: String,
    },
    /// A value that parses but makes no sense: a non-positive duration, a spike outside the run, no signals, ...
    #[error("{}: expected {expected}, found {found}", location(path, *line, *column))]
    Invalid { path: PathBuf, line: Option<usize>, column: Option<usize>, expected: String, found: String },
}

/// Finds where keys are in the descriptor text, so that semantic errors (which serde_yaml cannot locate) still
/// point at a line and column. Handles block mappings, block sequences and one-line flow mappings; when it cannot
/// find a key it falls back to the enclosing block, then to no position.
pub(crate) struct YamlText<'a> {
    pub(crate) lines: Vec<&'a str>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// `line` up to a `#` comment (outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return &line[..i],
            None => {}
        }
        previous = c;
    }
    line
}

/// The 1-based column of the value of `key:` in `line` (of the key if the value is on the next lines).
fn find_key(line: &str, key: &str) -> Option<usize> {
    let code = strip_comment(line);
    let mut search = 0;
    while let Some(offset) = code.get(search..)?.find(key) {
        let p = search + offset;
        let before_ok = code[..p].chars().last().is_none_or(|c| matches!(c, ' ' | '\t' | '{' | ',' | '-' | '"' | '\''));
        let after = code[p + key.len()..].trim_start_matches(['"', '\'']).trim_start();
        if before_ok && after.starts_with(':') {
            let colon = code.len() - after.len();
            let rest = &code[colon + 1..];
            let value = colon + 1 + (rest.len() - rest.trim_start().len());
            let at = if value < code.trim_end().len() { value } else { p };
            return Some(code[..at].chars().count() + 1);
        }
        search = p + key.len();
    }
    None
}

impl<'a> YamlText<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        YamlText { lines: text.lines().collect() }
    }

    /// Line range of a top-level key: its own line and the following indented (or `- `) lines.
    pub(crate) fn top_block(&self, key: &str) -> Option<(usize, usize)> {
        let start =
            self.lines.iter().position(|l| l.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with(':')))?;
        let mut end = start + 1;
        while end < self.lines.len() {
            let l = self.lines[end];
            if is_content(l) && indent(l) == 0 && !l.starts_with('-') {
                break;
            }
            end += 1;
        }
        Some((start, end))
    }

    /// Line range of the `index`-th item of the block sequence in `block`.
    pub(crate) fn seq_item(&self, block: (usize, usize), index: usize) -> Option<(usize, usize)> {
        let starts: Vec<usize> = (block.0 + 1..block.1)
            .filter(|&k| {
                let t = self.lines[k].trim_start();
                t.starts_with("- ") || t == "-"
            })
            .collect();
        let min_indent = starts.iter().map(|&k| indent(self.lines[k])).min()?;
        let starts: Vec<usize> = starts.into_iter().filter(|&k| indent(self.lines[k]) == min_indent).collect();
        let start = *starts.get(index)?;
        Some((start, starts.get(index + 1).copied().unwrap_or(block.1)))
    }

    /// (line, column) of `key:`'s value in `range`.
    pub(crate) fn key_in(&self, range: (usize, usize), key: &str) -> Option<(usize, usize)> {
        (range.0..range.1.min(self.lines.len())).find_map(|k| find_key(self.lines[k], key).map(|c| (k + 1, c)))
    }

    /// Best position for `top.key` (or `top[item].key`): the key, else the item / block start, else nothing.
    pub(crate) fn locate(&self, top: &str, item: Option<usize>, key: &str) -> (Option<usize>, Option<usize>) {
        let Some(block) = self.top_block(top) else { return (None, None) };
        let range = match item {
            Some(i) => match self.seq_item(block, i) {
                Some(r) => r,
                None => return (Some(block.0 + 1), Some(1)),
            },
            None => block,
        };
        match self.key_in(range, key) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (Some(range.0 + 1), Some(indent(self.lines[range.0]) + 1)),
        }
    }
}

fn invalid(
    path: &Path,
    at: (Option<usize>, Option<usize>),
    expected: impl Into<String>,
    found: impl Into<String>,
) -> DescriptorError {
    DescriptorError::Invalid {
        path: path.to_path_buf(),
        line: at.0,
        column: at.1,
        expected: expected.into(),
        found: found.into(),
    }
}

impl Descriptor {
    /// Parse and check a descriptor's YAML text (without touching the data file). `path_for_messages` is used in
    /// errors only.
    pub fn from_yaml_str(text: &str, path_for_messages: &Path) -> Result<Descriptor, DescriptorError> {
        let path = path_for_messages;
        let descriptor: Descriptor = serde_yaml::from_str(text).map_err(|e| {
            let loc = e.location();
            let mut message = e.to_string();
            if let Some(at) = message.rfind(" at line ") {
                message.truncate(at);
            }
            DescriptorError::Yaml {
                path: path.to_path_buf(),
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                message,
            }
        })?;
        descriptor.check(&YamlText::new(text), path)?;
        Ok(descriptor)
    }

    fn check(&self, yaml: &YamlText, path: &Path) -> Result<(), DescriptorError> {
        if self.name.trim().is_empty() {
            return Err(invalid(path, yaml.locate("name", None, "name"), "a non-empty name", "an empty one"));
        }
        if self.source.generic.is_some() && !matches!(self.source.format, Format::Generic | Format::Ngspice) {
            let block = yaml.top_block("source").unwrap_or((0, 0));
            let key = if yaml.key_in(block, "generic").is_some() { "generic" } else { "options" };
            let at = yaml.locate("source", None, key);
            return Err(invalid(
                path,
                at,
                "source.generic only with format generic or ngspice",
                format!("format {}", self.source.format),
            ));
        }
        if self.stimulus.is_some() == self.protocol.is_some() {
            return Err(invalid(
                path,
                yaml.locate("stimulus", None, "stimulus"),
                "exactly one of `stimulus:` and `protocol:`",
                if self.stimulus.is_some() { "both" } else { "neither" },
            ));
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(invalid(
                path,
                yaml.locate("weight", None, "weight"),
                "a finite weight >= 0",
                format!("{}", self.weight),
            ));
        }
        let Some(stimulus) = &self.stimulus else {
            return Ok(());
        };
        let d = stimulus.duration_s;
        if !(d.is_finite() && d > 0.0) {
            return Err(invalid(
                path,
                yaml.locate("stimulus", None, "duration_s"),
                "a positive, finite duration_s",
                format!("{d}"),
            ));
        }
        for (key, spikes) in [("pre_spikes_s", &stimulus.pre_spikes_s), ("post_spikes_s", &stimulus.post_spikes_s)] {
            if let Some(t) = spikes.iter().find(|t| !(t.is_finite() && **t >= 0.0 && **t <= d)) {
                return Err(invalid(
                    path,
                    yaml.locate("stimulus", None, key),
                    format!("{key} within [0, {d}] s (the duration)"),
                    format!("{t}"),
                ));
            }
        }
        if self.signals.is_empty() {
            return Err(invalid(path, yaml.locate("signals", None, "signals"), "at least one signal", "none"));
        }
        for (i, s) in self.signals.iter().enumerate() {
            if self.signals[..i].iter().any(|o| o.model == s.model) {
                return Err(invalid(
                    path,
                    yaml.locate("signals", Some(i), "model"),
                    "each model signal once",
                    format!("{} a second time", s.model),
                ));
            }
            if !(s.scale.is_finite() && s.scale != 0.0) {
                return Err(invalid(
                    path,
                    yaml.locate("signals", Some(i), "scale"),
                    "a finite, non-zero scale",
                    format!("{}", s.scale),
                ));
            }
            if let Some(u) = &s.unit {
                if si_unit(u).map(|(_, base)| base) != Some(s.model.si_unit()) {
                    return Err(DescriptorError::UnitMismatch {
                        path: path.to_path_buf(),
                        line: yaml.locate("signals", Some(i), "unit").0,
                        column: yaml.locate("signals", Some(i), "unit").1,
                        signal: s.model,
                        expected: format!("a {} unit ({})", s.model.quantity(), s.model.allowed_units()),
                        found: u.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The factor from `trace`'s numbers to SI for signal item `i` (see the module documentation on units).
    fn unit_factor(
        &self,
        i: usize,
        trace: &Trace,
        file: &WaveformFile,
        yaml: &YamlText,
        path: &Path,
    ) -> Result<f64, DescriptorError> {
        let s = &self.signals[i];
        let expected_base = s.model.si_unit();
        let mismatch = |expected: String, found: String| {
            let at = yaml.locate("signals", Some(i), if s.unit.is_some() { "unit" } else { "trace" });
            DescriptorError::UnitMismatch {
                path: path.to_path_buf(),
                line: at.0,
                column: at.1,
                signal: s.model,
                expected,
                found,
            }
        };
        let declared = s.unit.as_deref().map(str::trim);
        let declared_factor = match declared {
            None => 1.0,
            Some(u) => match si_unit(u) {
                Some((f, base)) if base == expected_base => f,
                _ => {
                    return Err(mismatch(
                        format!("a {} unit ({})", s.model.quantity(), s.model.allowed_units()),
                        u.to_string(),
                    ))
                }
            },
        };
        let Some(imported) = trace.unit.as_deref() else { return Ok(declared_factor) };
        let in_file = file.metadata.get(&format!("trace.{}.unit_in_file", trace.name)).map_or(imported, String::as_str);
        match si_unit(imported) {
            Some((_, base)) if base == expected_base => match declared {
                None => Ok(1.0),
                Some(u) if u == imported || u == in_file => Ok(1.0),
                Some(u) => Err(mismatch(
                    format!("unit {in_file} or {imported} (the file declares trace {} in {in_file}; it is imported in {imported})", trace.name),
                    u.to_string(),
                )),
            },
            _ => Err(mismatch(
                format!("a {} trace (the file declares trace {} in a unit of another quantity)", s.model.quantity(), trace.name),
                in_file.to_string(),
            )),
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl WaveformSet {
    /// Load a waveform set: read and check the descriptor, import its data file, map and convert the signals, and
    /// hash both files.
    pub fn load(descriptor: &Path) -> Result<WaveformSet, DescriptorError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DescriptorError::Io { path, source }
        };
        let descriptor_bytes = std::fs::read(descriptor).map_err(io(descriptor))?;
        let text = String::from_utf8_lossy(&descriptor_bytes);
        let d = Descriptor::from_yaml_str(&text, descriptor)?;
        let yaml = YamlText::new(&text);
        let dir = descriptor.parent().unwrap_or(Path::new(""));
        let data_path = dir.join(&d.source.file);
        if !data_path.is_file() {
            let at = yaml.locate("source", None, "file");
            return Err(DescriptorError::MissingData {
                descriptor: descriptor.to_path_buf(),
                line: at.0,
                column: at.1,
                data: data_path,
            });
        }
        let data_bytes = std::fs::read(&data_path).map_err(io(&data_path))?;
        let file = waveform::read_file(&data_path, &d.source.format, d.source.generic.as_ref())?;

        let (spikes, duration_s) = match (&d.stimulus, &d.protocol) {
            (Some(st), _) => {
                let mut s = crate::synapse::Spikes { pre: st.pre_spikes_s.clone(), post: st.post_spikes_s.clone() };
                s.pre.sort_by(f64::total_cmp);
                s.post.sort_by(f64::total_cmp);
                (s, st.duration_s)
            }
            (None, Some(p)) => {
                let proto = crate::protocol::Protocol::load(&dir.join(p))
                    .map_err(|e| DescriptorError::Protocol(format!("{e} (named by {})", descriptor.display())))?;
                (proto.spikes(), proto.duration_s)
            }
            (None, None) => unreachable!("checked by from_yaml_str"),
        };
        let mut signals = Vec::new();
        for (i, s) in d.signals.iter().enumerate() {
            let Some(trace) = file.trace(&s.trace) else {
                let at = yaml.locate("signals", Some(i), "trace");
                return Err(DescriptorError::MissingTrace {
                    path: descriptor.to_path_buf(),
                    line: at.0,
                    column: at.1,
                    signal: s.model,
                    trace: s.trace.clone(),
                    data: data_path.clone(),
                    available: file.trace_names(),
                });
            };
            let factor = d.unit_factor(i, trace, &file, &yaml, descriptor)? * s.scale;
            let values: Vec<f64> = trace.values.iter().map(|v| v * factor).collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(invalid(
                    descriptor,
                    yaml.locate("signals", Some(i), "scale"),
                    "finite values after unit conversion and scale",
                    "an overflow",
                ));
            }
            // Points outside the stimulus would be compared with an extrapolated model (and a point at 1e5 s
            // would make the simulation run for minutes): an error. Digitised curves overshoot the ends a little,
            // so 1 % of the duration is tolerated.
            let d_s = duration_s;
            let tol = 0.01 * d_s;
            if let Some(&t) = trace.t_s.iter().find(|&&t| t < -tol || t > d_s + tol) {
                return Err(invalid(
                    descriptor,
                    if d.stimulus.is_some() {
                        yaml.locate("stimulus", None, "duration_s")
                    } else {
                        yaml.locate("protocol", None, "protocol")
                    },
                    format!(
                        "the points of trace {:?} in {} inside the stimulus [0, {d_s}] s (1 % tolerance)",
                        s.trace,
                        data_path.display()
                    ),
                    format!("a point at t = {t:e} s; trim the data or extend duration_s"),
                ));
            }
            signals.push(MeasuredSignal { signal: s.model, t_s: trace.t_s.clone(), values });
        }

        let mut file_sha256 = BTreeMap::new();
        file_sha256.insert(descriptor.display().to_string(), sha256_hex(&descriptor_bytes));
        if let Some(p) = &d.protocol {
            if let Ok(bytes) = std::fs::read(dir.join(p)) {
                file_sha256.insert(dir.join(p).display().to_string(), sha256_hex(&bytes));
            }
        }
        file_sha256.insert(data_path.display().to_string(), sha256_hex(&data_bytes));
        let mut metadata = file.metadata.clone();
        metadata.extend(d.metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(WaveformSet {
            descriptor: d,
            descriptor_path: descriptor.to_path_buf(),
            data_path,
            signals,
            file_sha256,
            metadata,
            spikes,
            duration_s,
        })
    }

    /// The measured signal for `signal`, if the set has it.
    pub fn signal(&self, signal: ModelSignal) -> Option<&MeasuredSignal> {
        self.signals.iter().find(|s| s.signal == signal)
    }

    /// The `params` of the descriptor: if it looks like a path (contains `/` or ends in `.yaml` / `.yml`) and that
    /// file exists relative to the descriptor's folder, the resolved path; otherwise the text as written (a preset
    /// name). `None` if the descriptor has no `params`.
    pub fn params_path_or_name(&self) -> Option<String> {
        let p = self.descriptor.params.as_ref()?;
        let looks_like_path = p.contains('/') || p.ends_with(".yaml") || p.ends_with(".yml");
        if looks_like_path {
            let resolved = self.descriptor_path.parent().unwrap_or(Path::new("")).join(p);
            if resolved.is_file() {
                return Some(resolved.display().to_string());
            }
        }
        Some(p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_descriptor() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("waveforms/cadence-fig17/descriptor.yaml")
    }

    /// Count the non-empty X cells of each pair in the real CSV, independently of the importer.
    fn counts_in_csv(csv: &str) -> Vec<usize> {
        let mut counts = vec![0; 4];
        for line in csv.lines().skip(1) {
            for (k, cell) in line.split(',').enumerate().filter(|(k, _)| k % 2 == 0) {
                if !cell.trim().is_empty() {
                    counts[k / 2] += 1;
                }
            }
        }
        counts
    }

    #[test]
    fn real_cadence_fig17_loads() {
        let set = WaveformSet::load(&real_descriptor()).unwrap();
        assert_eq!(set.descriptor.name, "cadence-fig17");
        assert_eq!(set.descriptor.source.format, Format::VivaCsv);
        let st = set.descriptor.stimulus.as_ref().unwrap();
        assert_eq!(st.duration_s, 0.030);
        assert_eq!(st.pre_spikes_s, vec![0.004]);
        assert_eq!(st.post_spikes_s, vec![0.002]);
        assert_eq!(set.spikes.pre, vec![0.004]);
        let order: Vec<ModelSignal> = set.signals.iter().map(|s| s.signal).collect();
        assert_eq!(order, vec![ModelSignal::ICa, ModelSignal::IHd, ModelSignal::IHp, ModelSignal::VH]);

        let csv = std::fs::read_to_string(&set.data_path).unwrap();
        let expected_counts = counts_in_csv(&csv); // file order: /ica, /ihd, /ihp, /vh
        assert_eq!(expected_counts, vec![27, 34, 41, 52]);
        let counts: Vec<usize> = set.signals.iter().map(|s| s.t_s.len()).collect();
        assert_eq!(counts, expected_counts);
        for s in &set.signals {
            assert_eq!(s.t_s.len(), s.values.len());
            assert!(s.t_s.windows(2).all(|w| w[1] > w[0]));
        }

        let first_last = |m: ModelSignal| {
            let s = set.signal(m).unwrap();
            (s.t_s[0], s.values[0], *s.t_s.last().unwrap(), *s.values.last().unwrap())
        };
        assert_eq!(first_last(ModelSignal::ICa), (1.005291005e-03, 1.703703704e-11, 3.003527337e-02, 1.864197531e-11));
        assert_eq!(first_last(ModelSignal::IHd), (9.633802817e-04, -1.212121212e-13, 2.996197596e-02, 6.059126420e-14));
        assert_eq!(first_last(ModelSignal::IHp), (9.726226289e-04, 1.461409356e-13, 2.991949153e-02, 2.752293578e-13));
        assert_eq!(first_last(ModelSignal::VH), (9.779655749e-04, 9.000087465e-01, 2.998689019e-02, 8.944019462e-01));

        assert_eq!(set.file_sha256.len(), 2);
        assert!(set.file_sha256.values().all(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit())));
        assert_eq!(set.file_sha256[&set.data_path.display().to_string()], sha256_hex(csv.as_bytes()));
        assert_eq!(set.metadata["I_INDC_A"], "25e-12");
        assert_eq!(set.metadata["format"], "viva-csv");
        assert_eq!(set.metadata["simulator"], "Cadence Virtuoso Spectre");
        assert_eq!(set.params_path_or_name().as_deref(), Some("cadence-fig17"));
    }

    #[test]
    fn model_signal_names_units_and_columns() {
        for m in ModelSignal::ALL {
            assert_eq!(m.name().parse::<ModelSignal>().unwrap(), m);
            assert_eq!(serde_yaml::to_string(&m).unwrap().trim(), m.name());
        }
        assert_eq!(ModelSignal::ICa.si_unit(), "A");
        assert_eq!(ModelSignal::VH.si_unit(), "V");
        assert_eq!(ModelSignal::W.si_unit(), "1");
        assert_eq!(ModelSignal::IHd.column_name(), "i_hd_A");
        assert_eq!(ModelSignal::VH.column_name(), "v_h_V");
        assert_eq!(ModelSignal::Z.column_name(), "z");
        assert!("i_k".parse::<ModelSignal>().is_err());
    }

    const DATA: &str = "/ica X,/ica Y,/vh X,/vh Y\n1e-3,17e-12,1e-3,0.9\n2e-3,20e-12,2e-3,0.91\n";

    const GOOD: &str = "\
name: t
source:
  file: data.csv
  format: viva-csv
stimulus:
  duration_s: 0.01
  pre_spikes_s: [0.004]
  post_spikes_s: [0.002]
params: fast
signals:
  - model: i_ca
    trace: /ica
    unit: pA
    scale: 2
  - {model: v_h, trace: /vh, unit: mV}
metadata: {simulator: test, I_TH_A: 10e-12, n: 3}
";

    /// Write `descriptor` and `data` into a fresh folder and load the set.
    fn load(
        descriptor: &str,
        data: Option<(&str, &str)>,
    ) -> (tempfile::TempDir, PathBuf, Result<WaveformSet, DescriptorError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desc.yaml");
        std::fs::write(&path, descriptor).unwrap();
        if let Some((name, text)) = data {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let result = WaveformSet::load(&path);
        (dir, path, result)
    }

    fn load_err(descriptor: &str, data: Option<(&str, &str)>) -> (String, String) {
        let (_dir, path, result) = load(descriptor, data);
        (path.display().to_string(), result.unwrap_err().to_string())
    }

    #[test]
    fn units_scale_and_metadata_apply() {
        let (_dir, _path, result) = load(GOOD, Some(("data.csv", DATA)));
        let set = result.unwrap();
        let ica = set.signal(ModelSignal::ICa).unwrap();
        assert_eq!(ica.t_s, vec![1e-3, 2e-3]);
        let expected = [2.0 * 17e-12 * 1e-12, 2.0 * 20e-12 * 1e-12];
        for (v, e) in ica.values.iter().zip(expected) {
            assert!((v - e).abs() < 1e-12 * e.abs(), "{v} vs {e}");
        }
        let vh = set.signal(ModelSignal::VH).unwrap();
        assert!((vh.values[1] - 0.91e-3).abs() < 1e-18);
        assert_eq!(set.metadata["I_TH_A"].parse::<f64>().unwrap(), 10e-12);
        assert_eq!(set.metadata["n"], "3");
        assert_eq!(set.params_path_or_name().as_deref(), Some("fast"));
    }

    #[test]
    fn params_resolved_only_when_a_path_to_an_existing_file() {
        let text = GOOD.replace("params: fast", "params: biases/run.yaml");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("biases")).unwrap();
        std::fs::write(dir.path().join("biases/run.yaml"), "x: 1\n").unwrap();
        std::fs::write(dir.path().join("data.csv"), DATA).unwrap();
        let path = dir.path().join("desc.yaml");
        std::fs::write(&path, &text).unwrap();
        let set = WaveformSet::load(&path).unwrap();
        assert_eq!(set.params_path_or_name(), Some(dir.path().join("biases/run.yaml").display().to_string()));
        std::fs::write(&path, GOOD.replace("params: fast", "params: other.yaml")).unwrap();
        let set = WaveformSet::load(&path).unwrap();
        assert_eq!(set.params_path_or_name().as_deref(), Some("other.yaml"));
        std::fs::write(&path, GOOD.replace("params: fast\n", "")).unwrap();
        assert_eq!(WaveformSet::load(&path).unwrap().params_path_or_name(), None);
    }

    #[test]
    fn unknown_format_is_located() {
        let (p, e) = load_err(&GOOD.replace("format: viva-csv", "format: spectre-psf"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:4:11: source.format: unknown variant `spectre-psf`")), "{e}");
    }

    #[test]
    fn unknown_key_is_located() {
        let (p, e) = load_err(&GOOD.replace("    scale: 2", "    scael: 2"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:14:5: signals[0]: unknown field `scael`")), "{e}");
        let (p, e) = load_err(&format!("{GOOD}colour: red\n"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:17:1: unknown field `colour`")), "{e}");
    }

    #[test]
    fn yaml_syntax_error_is_located() {
        let (p, e) = load_err(&GOOD.replace("  format: viva-csv", "  format: [viva-csv"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:")), "{e}");
        assert!(e.split(':').nth(1).unwrap().parse::<usize>().unwrap() >= 4, "{e}");
    }

    #[test]
    fn missing_data_file_names_descriptor_and_path() {
        let (p, e) = load_err(GOOD, None);
        let data = Path::new(&p).parent().unwrap().join("data.csv");
        assert_eq!(
            e,
            format!(
                "{p}:3:9: the descriptor points at a data file that does not exist: {} (source.file is relative to the descriptor's folder)",
                data.display()
            )
        );
    }

    #[test]
    fn unit_mismatch_is_located() {
        let (p, e) = load_err(&GOOD.replace("unit: pA", "unit: mV"), Some(("data.csv", DATA)));
        assert_eq!(e, format!("{p}:13:11: signal i_ca: expected a current unit (A, mA, uA, nA, pA, fA), found \"mV\""));
        let (p, e) = load_err(&GOOD.replace("unit: mV}", "unit: Ohm}"), Some(("data.csv", DATA)));
        assert_eq!(e, format!("{p}:15:36: signal v_h: expected a voltage unit (V, mV, uV), found \"Ohm\""));
        // the file declares the unit (generic header in mV): uV would scale twice
        let scope = "Time (s),CH1 (mV)\n0,900\n1e-3,901\n";
        let desc = "name: s\nsource:\n  file: s.csv\n  format: generic\n  generic: {columns: {vh: CH1}}\nstimulus: {duration_s: 1}\nsignals:\n  - {model: v_h, trace: vh, unit: uV}\n";
        let (p, e) = load_err(desc, Some(("s.csv", scope)));
        assert!(
            e.starts_with(&format!("{p}:8:35: signal v_h: expected unit mV or V (the file declares trace vh in mV")),
            "{e}"
        );
        let (_d, _p, ok) = load(&desc.replace("unit: uV", "unit: mV"), Some(("s.csv", scope)));
        assert_eq!(ok.unwrap().signals[0].values, vec![0.9, 0.901]);
        let (_d, _p, ok) = load(&desc.replace(", unit: uV", ""), Some(("s.csv", scope)));
        assert_eq!(ok.unwrap().signals[0].values, vec![0.9, 0.901]);
        // a current model signal on a voltage trace
        let (p, e) = load_err(
            &desc.replace("model: v_h, trace: vh, unit: uV", "model: i_ca, trace: vh"),
            Some(("s.csv", scope)),
        );
        assert!(e.starts_with(&format!("{p}:8:26: signal i_ca: expected a current trace")), "{e}");
    }

    #[test]
    fn missing_trace_lists_the_traces() {
        let (p, e) = load_err(&GOOD.replace("trace: /vh", "trace: /vhh"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:15:25: signal v_h: expected a trace \"/vhh\" in ")), "{e}");
        assert!(e.ends_with("but the file has only: /ica, /vh"), "{e}");
    }

    #[test]
    fn bad_stimulus_and_signals_are_located() {
        let (p, e) = load_err(&GOOD.replace("duration_s: 0.01", "duration_s: -0.01"), Some(("data.csv", DATA)));
        assert_eq!(e, format!("{p}:6:15: expected a positive, finite duration_s, found -0.01"));
        let (p, e) = load_err(&GOOD.replace("duration_s: 0.01", "duration_s: .nan"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:6:15: expected a positive, finite duration_s")), "{e}");
        let (p, e) =
            load_err(&GOOD.replace("pre_spikes_s: [0.004]", "pre_spikes_s: [0.004, 0.02]"), Some(("data.csv", DATA)));
        assert_eq!(e, format!("{p}:7:17: expected pre_spikes_s within [0, 0.01] s (the duration), found 0.02"));
        let (p, e) = load_err(&GOOD.replace("post_spikes_s: [0.002]", "post_spikes_s: [-1]"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:8:18: expected post_spikes_s within")), "{e}");
        let no_signals = GOOD.split("signals:").next().unwrap().to_string() + "signals: []\n";
        let (p, e) = load_err(&no_signals, Some(("data.csv", DATA)));
        assert_eq!(e, format!("{p}:10:10: expected at least one signal, found none"));
        let (p, e) = load_err(&GOOD.replace("model: v_h", "model: i_ca"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:15:13: expected each model signal once")), "{e}");
        let (p, e) = load_err(&GOOD.replace("scale: 2", "scale: 0"), Some(("data.csv", DATA)));
        assert!(e.starts_with(&format!("{p}:14:12: expected a finite, non-zero scale")), "{e}");
        let (p, e) = load_err(
            &GOOD.replace("  format: viva-csv", "  format: viva-csv\n  generic: {time_column: t}"),
            Some(("data.csv", DATA)),
        );
        assert!(
            e.starts_with(&format!("{p}:5:12: expected source.generic only with format generic or ngspice")),
            "{e}"
        );
    }

    #[test]
    fn import_errors_name_the_data_file() {
        let (p, e) = load_err(GOOD, Some(("data.csv", &DATA.replace("0.91", "zero"))));
        let data = Path::new(&p).parent().unwrap().join("data.csv");
        assert_eq!(e, format!("{}:3:18: expected a number for /vh Y, found \"zero\"", data.display()));
        let (_p, e) = load_err(GOOD, Some(("data.csv", "/ica X,/ica Y,/vh X,/vh Y\n1,2,,\n")));
        assert!(e.ends_with(":1:15: expected at least one data point for /vh, found none"), "{e}");
    }

    #[test]
    fn ngspice_set_with_vector_names() {
        let data = "0 0.9 0 1.7e-11\n1e-3 0.91 1e-3 1.6e-11\n";
        let desc = "name: n\nsource:\n  file: out.txt\n  format: ngspice\n  options: {columns: [v(vh), i(vica)]}\nstimulus: {duration_s: 1e-3}\nsignals:\n  - {model: v_h, trace: v(vh)}\n  - {model: i_ca, trace: i(vica), scale: -1}\n";
        let (_d, _p, set) = load(desc, Some(("out.txt", data)));
        let set = set.unwrap();
        assert_eq!(set.signal(ModelSignal::VH).unwrap().values, vec![0.9, 0.91]);
        assert_eq!(set.signal(ModelSignal::ICa).unwrap().values, vec![-1.7e-11, -1.6e-11]);
        assert_eq!(set.metadata["ngspice.layout"], "repeated-scale");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("STC_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Mutated descriptors (bytes inserted, deleted, replaced) give a descriptor or an error, never a panic,
        /// including in the key locator that positions semantic errors.
        #[test]
        fn mutated_descriptors_never_panic(
            edits in proptest::collection::vec((0u8..3, proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..8),
        ) {
            let mut bytes = GOOD.as_bytes().to_vec();
            for (op, pos, byte) in edits {
                let n = bytes.len();
                match op {
                    0 => bytes.insert(pos % (n + 1), byte),
                    1 if n > 0 => { bytes.remove(pos % n); }
                    _ if n > 0 => bytes[pos % n] = byte,
                    _ => {}
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = Descriptor::from_yaml_str(&text, Path::new("d.yaml"));
            let y = YamlText::new(&text);
            for key in ["name", "source", "stimulus", "signals", "file", "unit", "trace"] {
                let _ = y.locate("signals", Some(1), key);
                let _ = y.locate(key, None, key);
            }
        }
    }

    #[test]
    fn locator_finds_keys() {
        assert_eq!(find_key("  file: data.csv # c", "file"), Some(9));
        assert_eq!(find_key("  - {model: v_h, trace: /vh, unit: mV}", "unit"), Some(36));
        assert_eq!(find_key("  profile: x", "file"), None);
        assert_eq!(find_key("  # file: x", "file"), None);
        assert_eq!(find_key("signals:", "signals"), Some(1));
        let y = YamlText::new(GOOD);
        assert_eq!(y.top_block("signals"), Some((9, 15)));
        assert_eq!(y.seq_item((9, 15), 1), Some((14, 15)));
        assert_eq!(y.locate("signals", Some(0), "unit"), (Some(13), Some(11)));
    }
}
