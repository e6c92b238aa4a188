//! Stimulus protocols: YAML files (`protocols/*.yaml`) that describe what a synapse sees, in blocks.
//!
//! A protocol is a duration, a list of blocks (regular or Poisson pre/post trains with a rate, a duration, a
//! pre-to-post lag and repetitions with a start-to-start spacing; or a silence), and optional explicit spike lists
//! merged with the blocks' trains. One file therefore states an experiment such as Luboeinski and Tetzlaff's strong
//! tetanisation (three 1 s trains at 100 Hz, 10 min apart) in a few lines instead of a 2,000-number spike list, and
//! the same file drives `stc simulate --protocol`, waveform-set descriptors, `stc rule` and the fits.
//!
//! Parsing is strict, like the parameter files and descriptors: an unknown key, a wrong type, a negative or
//! non-finite duration or rate, a spike outside `[0, duration_s]`, a block running past `duration_s`, or
//! repetitions without a spacing are errors `FILE:LINE:COLUMN: expected ..., found ...`, never a silent fix.
//! Poisson blocks are reproducible: each (block, repetition, side) draws from its own stream of the file's `seed`.

mod blocks;

pub use blocks::{Block, BlockKind};

use crate::io::descriptor::YamlText;
use crate::synapse::circuit::Spikes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

fn default_seed() -> u64 {
    1
}

/// A stimulus protocol (see the module documentation and `protocols/README.md` for the file format).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Short name (letters, digits, `-`, `_`, `.`): used as a folder name by tools that run many protocols.
    pub name: String,
    /// One line on what the protocol is and where it comes from.
    #[serde(default)]
    pub description: String,
    /// Total simulated time [s] (> 0); every spike lies in `[0, duration_s]`.
    pub duration_s: f64,
    /// Seed of the Poisson blocks (default 1).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Stimulus blocks, each placed at its own `start_s`.
    #[serde(default)]
    pub blocks: Vec<Block>,
    /// Explicit presynaptic spike times [s], merged with the blocks' trains.
    #[serde(default)]
    pub pre_spikes_s: Vec<f64>,
    /// Explicit postsynaptic spike times [s], merged with the blocks' trains.
    #[serde(default)]
    pub post_spikes_s: Vec<f64>,
}

/// Why a protocol could not be loaded: `FILE:LINE:COLUMN: what was expected, found what` (line and column are
/// 1-based; both 0 when the problem is the file itself, e.g. it cannot be read).
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolError {
    /// The file (or the name given to [`Protocol::parse`]).
    pub file: String,
    /// 1-based line, 0 if none.
    pub line: usize,
    /// 1-based column, 0 if none.
    pub column: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (l, 0) => write!(f, "{}:{l}: {}", self.file, self.message),
            (l, c) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Locates semantic errors in the text (serde_yaml locates syntax and type errors itself).
struct Checker<'a> {
    file: &'a str,
    yaml: YamlText<'a>,
}

impl Checker<'_> {
    fn at(&self, top: &str, item: Option<usize>, key: &str, message: String) -> ProtocolError {
        let (line, column) = self.yaml.locate(top, item, key);
        ProtocolError { file: self.file.to_string(), line: line.unwrap_or(1), column: column.unwrap_or(1), message }
    }

    /// Position of element `k` of a spike list: its own line in a block sequence, else the list's value.
    fn element(&self, key: &str, k: usize, message: String) -> ProtocolError {
        if let Some(block) = self.yaml.top_block(key) {
            if let Some(item) = self.yaml.seq_item(block, k) {
                let text = self.yaml.lines[item.0];
                let column = text.len() - text.trim_start().len() + 3;
                return ProtocolError { file: self.file.to_string(), line: item.0 + 1, column, message };
            }
        }
        self.at(key, None, key, message)
    }

    /// Whether block `i` spells out `key` (it may rely on the default).
    fn block_has(&self, i: usize, key: &str) -> bool {
        let item = self.yaml.top_block("blocks").and_then(|b| self.yaml.seq_item(b, i));
        item.is_some_and(|r| self.yaml.key_in(r, key).is_some())
    }

    fn block(&self, i: usize, key: &str, message: String) -> ProtocolError {
        self.at("blocks", Some(i), key, message)
    }
}

/// Tolerance on "inside [0, duration_s]" for times that are sums of decimal fractions.
const EPS_S: f64 = 1e-12;

impl Protocol {
    /// Load a protocol file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Protocol, ProtocolError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProtocolError {
            file: name.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the protocol file: {e}"),
        })?;
        Protocol::parse(&text, &name)
    }

    /// Parse a protocol's YAML text; `file` is the name used in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Protocol, ProtocolError> {
        let p: Protocol = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
            let mut message = e.to_string();
            // serde_yaml appends " at line L column C"; the location is already in front.
            if let Some(k) = message.rfind(" at line ") {
                message.truncate(k);
            }
            ProtocolError { file: file.to_string(), line, column, message }
        })?;
        p.check(&Checker { file, yaml: YamlText::new(text) })?;
        Ok(p)
    }

    fn check(&self, c: &Checker) -> Result<(), ProtocolError> {
        let name_ok = !self.name.is_empty()
            && self.name != "."
            && self.name != ".."
            && self.name.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'));
        if !name_ok {
            return Err(c.at(
                "name",
                None,
                "name",
                format!(
                    "expected a name of letters, digits, `-`, `_` or `.` (it names a folder), found {:?}",
                    self.name
                ),
            ));
        }
        let d = self.duration_s;
        if !(d.is_finite() && d > 0.0) {
            return Err(c.at("duration_s", None, "duration_s", format!("expected a finite duration > 0 s, found {d}")));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            check_block(b, i, d, c)?;
        }
        for key in ["pre_spikes_s", "post_spikes_s"] {
            let list = if key == "pre_spikes_s" { &self.pre_spikes_s } else { &self.post_spikes_s };
            for (k, &t) in list.iter().enumerate() {
                if !(t.is_finite() && t >= 0.0 && t <= d + EPS_S) {
                    return Err(c.element(
                        key,
                        k,
                        format!("expected spike times in [0, duration_s = {d}] s, found {t} (element {k} of {key})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The protocol's spike trains, sorted; Poisson blocks draw from the file's `seed`.
    pub fn spikes(&self) -> Spikes {
        self.spikes_with_seed(self.seed)
    }

    /// The same protocol with another Poisson seed (regular blocks and explicit lists are unchanged).
    pub fn spikes_with_seed(&self, seed: u64) -> Spikes {
        let mut pre = self.pre_spikes_s.clone();
        let mut post = self.post_spikes_s.clone();
        for (i, b) in self.blocks.iter().enumerate() {
            let (a, q) = b.trains(seed, i);
            pre.extend(a);
            post.extend(q);
        }
        // A train's last spike can exceed duration_s only by rounding of start + k / rate; the checks keep blocks
        // inside the duration, so dropping anything beyond it is dropping nothing a user asked for.
        pre.retain(|&t| t <= self.duration_s);
        post.retain(|&t| t <= self.duration_s);
        pre.sort_by(f64::total_cmp);
        post.sort_by(f64::total_cmp);
        Spikes { pre, post }
    }

    /// Time of the last spike of any kind [s] (0 if there is none): after it the synapse only relaxes, which
    /// event-driven models exploit.
    pub fn last_spike_s(&self) -> f64 {
        let s = self.spikes();
        s.pre.last().copied().unwrap_or(0.0).max(s.post.last().copied().unwrap_or(0.0))
    }

    /// A protocol of explicit spike lists only (e.g. from command-line flags), checked like a file.
    pub fn explicit(name: &str, description: &str, duration_s: f64, spikes: Spikes) -> Result<Protocol, ProtocolError> {
        let p = Protocol {
            name: name.to_string(),
            description: description.to_string(),
            duration_s,
            seed: 1,
            blocks: Vec::new(),
            pre_spikes_s: spikes.pre,
            post_spikes_s: spikes.post,
        };
        // No text to point into: the error names the protocol only.
        p.check(&Checker { file: name, yaml: YamlText::new("") }).map_err(|e| ProtocolError {
            line: 0,
            column: 0,
            ..e
        })?;
        Ok(p)
    }

    /// Canonical YAML that parses back to an equal protocol.
    pub fn to_yaml(&self) -> String {
        // Serialising plain numbers, strings and lists cannot fail.
        serde_yaml::to_string(self).expect("a protocol serialises to YAML")
    }
}

fn check_block(b: &Block, i: usize, duration: f64, c: &Checker) -> Result<(), ProtocolError> {
    let e = |key: &str, message: String| c.block(i, key, format!("blocks[{i}].{key}: {message}"));
    if !(b.start_s.is_finite() && b.start_s >= 0.0) {
        return Err(e("start_s", format!("expected a finite start time >= 0 s, found {}", b.start_s)));
    }
    if !(b.duration_s.is_finite() && b.duration_s > 0.0) {
        return Err(e("duration_s", format!("expected a finite duration > 0 s, found {}", b.duration_s)));
    }
    for (key, r) in [("pre_rate_hz", b.pre_rate_hz), ("post_rate_hz", b.post_rate_hz)] {
        if !(r.is_finite() && r >= 0.0) {
            return Err(e(key, format!("expected a finite rate >= 0 Hz, found {r}")));
        }
        if b.kind == BlockKind::Silence && r != 0.0 {
            return Err(e(key, format!("expected no rate in a `silence` block, found {r} Hz")));
        }
    }
    if !b.post_lag_s.is_finite() {
        return Err(e("post_lag_s", format!("expected a finite lag [s], found {}", b.post_lag_s)));
    }
    if b.repeat == 0 {
        return Err(e("repeat", "expected a number of repetitions >= 1, found 0".into()));
    }
    if !(b.spacing_s.is_finite() && b.spacing_s >= 0.0) {
        return Err(e("spacing_s", format!("expected a finite spacing >= 0 s, found {}", b.spacing_s)));
    }
    if b.repeat > 1 && b.spacing_s < b.duration_s {
        let key = if b.spacing_s == 0.0 { "repeat" } else { "spacing_s" };
        return Err(e(
            key,
            format!(
                "expected spacing_s >= duration_s = {} s for {} repetitions (start-to-start, no overlap), found \
                 spacing_s = {}",
                b.duration_s, b.repeat, b.spacing_s
            ),
        ));
    }
    if b.earliest_s() < -EPS_S {
        return Err(e(
            "post_lag_s",
            format!("expected post spikes at t >= 0, found a lag {} s before a block at {} s", b.post_lag_s, b.start_s),
        ));
    }
    if b.latest_s() > duration + EPS_S {
        // Point at the start if the file gives one, else at the block's duration.
        return Err(e(
            if c.block_has(i, "start_s") { "start_s" } else { "duration_s" },
            format!(
                "expected the block to end by the protocol's duration_s = {duration} s, found it ends at {} s",
                b.latest_s()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
