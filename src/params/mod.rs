//! Parameter files: YAML, SI units in the key names, one section per circuit block.
//!
//! A parameter set is loaded by preset name (the YAML files in `presets/`, embedded in the binary) or by path
//! (any file with the same layout, e.g. a fit written to `fits/`). Loading is strict: an unknown or missing key
//! is an error with the file, line and column; a value out of its physical range (negative time constant or
//! current, V_H0 outside [0, V_DD], ...) is an error naming the file, the key and the expected range.

use crate::blocks::RangeError;
use crate::synapse::{CircuitParams, ReferenceParams};
use std::path::{Path, PathBuf};

pub mod mismatch;
pub mod transfer;

/// The shipped presets: (name, YAML text).
pub const PRESETS: &[(&str, &str)] = &[
    ("thesis-fig9", include_str!("../../presets/thesis-fig9.yaml")),
    ("thesis-network", include_str!("../../presets/thesis-network.yaml")),
    ("mnist-network", include_str!("../../presets/mnist-network.yaml")),
    ("mnist-robust", include_str!("../../presets/mnist-robust.yaml")),
    ("cadence-fig17", include_str!("../../presets/cadence-fig17.yaml")),
    ("reference", include_str!("../../presets/reference.yaml")),
    ("luboeinski-tetzlaff", include_str!("../../presets/luboeinski-tetzlaff.yaml")),
];

/// A loaded parameter set of either model.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyParams {
    /// Circuit-behavioural synapse.
    Circuit(Box<CircuitParams>),
    /// Luboeinski-Tetzlaff reference equations.
    Reference(Box<ReferenceParams>),
}

/// Why a parameter set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    /// Neither a file nor a preset.
    #[error("{name}: no such parameter file, and not a preset (presets: {known})")]
    NotFound { name: String, known: String },
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// YAML syntax, unknown key, missing key or wrong type.
    #[error("{source_name}:{line}:{column}: {message}")]
    Yaml { source_name: String, line: usize, column: usize, message: String },
    /// Values out of range.
    #[error("{}", format_ranges(source_name, .errors, .locations))]
    Range { source_name: String, errors: Vec<RangeError>, locations: Vec<(usize, usize)> },
    /// The file holds the other model.
    #[error("{source_name}: expected a `model: {expected}` parameter file, found `model: {found}`")]
    WrongModel { source_name: String, expected: String, found: String },
    /// A calibration cannot be carried to the target bias point.
    #[error("{0}")]
    Transfer(String),
}

fn format_ranges(source_name: &str, errors: &[RangeError], locations: &[(usize, usize)]) -> String {
    errors
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let at = match locations.get(k) {
                Some(&(l, c)) if l > 0 => format!("{source_name}:{l}:{c}"),
                _ => source_name.to_string(),
            };
            format!("{at}: key `{}` = {} is out of range: expected {}", e.key, e.value, e.expected)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Line and column (1-based) of the value of a dotted key (`dpi.tau_s`) in block-style YAML text, found by
/// re-scanning the text (serde_yaml gives locations only for syntax errors); `(0, 0)` if not found.
pub fn locate_key(text: &str, dotted: &str) -> (usize, usize) {
    let mut parts = dotted.split('.').peekable();
    let mut min_indent = 0usize;
    let mut want = parts.next();
    for (i, line) in text.lines().enumerate() {
        let Some(key) = want else { break };
        let body = line.trim_start();
        let indent = line.len() - body.len();
        if body.starts_with('#') || indent < min_indent {
            continue;
        }
        if let Some(rest) = body.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            if parts.peek().is_none() {
                let value = rest.trim_start();
                let col = line.len() - value.len();
                return (i + 1, line[..col].chars().count() + 1);
            }
            min_indent = indent + 1;
            want = parts.next();
        }
    }
    (0, 0)
}

fn range_error(text: &str, source_name: &str, errors: Vec<RangeError>) -> ParamError {
    // An entry of a list (`dep_switch.on_factor_vs_v_h[1][0]`) is located at its key's line.
    let locations = errors.iter().map(|e| locate_key(text, e.key.split('[').next().unwrap_or(&e.key))).collect();
    ParamError::Range { source_name: source_name.into(), errors, locations }
}

fn yaml_error(source_name: &str, e: serde_yaml::Error) -> ParamError {
    let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
    let message = e.to_string();
    // serde_yaml appends " at line L column C"; the location is already in front.
    let message = match message.find(" at line ") {
        Some(k) => message[..k].to_string(),
        None => message,
    };
    ParamError::Yaml { source_name: source_name.to_string(), line, column, message }
}

#[derive(serde::Deserialize)]
struct ModelOnly {
    model: Option<String>,
}

/// Parse a parameter file's text; `source_name` is used in error messages.
pub fn parse(text: &str, source_name: &str) -> Result<AnyParams, ParamError> {
    // First read only the model kind, leniently, then parse strictly so errors keep their line and column.
    let kind: ModelOnly = match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(v) => ModelOnly { model: v.get("model").and_then(|m| m.as_str()).map(str::to_string) },
        Err(e) => return Err(yaml_error(source_name, e)),
    };
    match kind.model.as_deref() {
        Some("circuit") => {
            let p: CircuitParams = serde_yaml::from_str(text).map_err(|e| yaml_error(source_name, e))?;
            let errors = p.check();
            if !errors.is_empty() {
                return Err(range_error(text, source_name, errors));
            }
            Ok(AnyParams::Circuit(Box::new(p)))
        }
        Some("reference") => {
            let p: ReferenceParams = serde_yaml::from_str(text).map_err(|e| yaml_error(source_name, e))?;
            let errors = p.check();
            if !errors.is_empty() {
                return Err(range_error(text, source_name, errors));
            }
            Ok(AnyParams::Reference(Box::new(p)))
        }
        other => Err(ParamError::Yaml {
            source_name: source_name.into(),
            line: 1,
            column: 1,
            message: format!(
                "key `model` must be `circuit` or `reference`, found {}",
                other.map(|s| format!("`{s}`")).unwrap_or_else(|| "nothing".into())
            ),
        }),
    }
}

/// Load by file path (if such a file exists) or by preset name.
pub fn load(name_or_path: &str) -> Result<AnyParams, ParamError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let bytes = std::fs::read(path).map_err(|source| ParamError::Io { path: path.into(), source })?;
        let text = crate::io::encoding::utf8(&bytes, path).map_err(|e| ParamError::Yaml {
            source_name: path.display().to_string(),
            line: e.line,
            column: e.column,
            message: format!("expected UTF-8 text, found {}", e.found),
        })?;
        return parse(text, &path.display().to_string());
    }
    match PRESETS.iter().find(|(n, _)| *n == name_or_path) {
        Some((n, text)) => parse(text, &format!("preset {n}")),
        None => Err(ParamError::NotFound {
            name: name_or_path.into(),
            known: PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Load a circuit-model parameter set.
pub fn load_circuit(name_or_path: &str) -> Result<CircuitParams, ParamError> {
    match load(name_or_path)? {
        AnyParams::Circuit(p) => Ok(*p),
        AnyParams::Reference(_) => Err(ParamError::WrongModel {
            source_name: name_or_path.into(),
            expected: "circuit".into(),
            found: "reference".into(),
        }),
    }
}

/// Load a reference-model parameter set.
pub fn load_reference(name_or_path: &str) -> Result<ReferenceParams, ParamError> {
    match load(name_or_path)? {
        AnyParams::Reference(p) => Ok(*p),
        AnyParams::Circuit(_) => Err(ParamError::WrongModel {
            source_name: name_or_path.into(),
            expected: "reference".into(),
            found: "circuit".into(),
        }),
    }
}

/// The keys a calibration file lists as fitted circuit `property` (delays, tails, widths, effective C, DPI shape),
/// in file order; fitted biases are not among them.
pub fn fitted_properties(calibration: &CircuitParams) -> Vec<String> {
    let fitted = calibration
        .provenance
        .as_ref()
        .and_then(|v| v.get("fitted"))
        .and_then(|f| f.as_sequence())
        .cloned()
        .unwrap_or_default();
    fitted
        .iter()
        .filter(|item| item.get("role").and_then(|r| r.as_str()) == Some("property"))
        .filter_map(|item| item.get("key").and_then(|k| k.as_str()).map(str::to_string))
        .collect()
}

/// Apply a calibration on top of a bias preset by the transfer rule of [`transfer`]: every fitted circuit property
/// is re-expressed at `p`'s biases the way its block's physics scales it (widths relative to the threshold, slew
/// delays as C U_T / I, capacitances as ratios to nominal); fitted biases are left alone. The nominal point is the
/// preset or file named by the calibration's `provenance.start`. Returns what was applied, key by key.
pub fn apply_calibration(
    p: &mut CircuitParams,
    calibration: &CircuitParams,
) -> Result<Vec<transfer::Transferred>, ParamError> {
    let keys = fitted_properties(calibration);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let nominal = nominal_of(calibration)?;
    transfer::transfer(p, calibration, &nominal, &keys).map_err(|e| ParamError::Transfer(e.to_string()))
}

/// The checked-in calibrations, embedded so that a calibration that started from one of them (e.g. the joint fit
/// `fits/cadence.yaml`, started from `fits/cadence-fig17.yaml`) resolves its nominal point from any directory.
const EMBEDDED_FITS: [(&str, &str); 2] = [
    ("fits/cadence-fig17.yaml", include_str!("../../fits/cadence-fig17.yaml")),
    ("fits/cadence.yaml", include_str!("../../fits/cadence.yaml")),
];

/// The nominal point of a calibration: the bias **preset** its chain of fits started from. A fit started from an
/// earlier fit (`provenance.start` is a calibration file) has that file's start as its nominal point: the ratios
/// of the transfer rule (effective C, tau) are to the nominal design values, never to an earlier fit's values.
fn nominal_of(calibration: &CircuitParams) -> Result<CircuitParams, ParamError> {
    let start_of = |c: &CircuitParams| {
        c.provenance.as_ref().and_then(|v| v.get("start")).and_then(|s| s.as_str()).map(str::to_string)
    };
    let mut name = start_of(calibration).ok_or_else(|| {
        ParamError::Transfer(format!(
            "calibration `{}` has no `provenance.start` (the preset the fit started from): its effective-to-nominal ratios cannot be formed",
            calibration.name
        ))
    })?;
    for _ in 0..8 {
        let p = match EMBEDDED_FITS.iter().find(|(n, _)| *n == name) {
            Some((n, text)) if !std::path::Path::new(&name).is_file() => match parse(text, &format!("{n} (embedded)"))?
            {
                AnyParams::Circuit(p) => *p,
                AnyParams::Reference(_) => {
                    return Err(ParamError::Transfer(format!("{n} is not a circuit calibration")))
                }
            },
            _ => load_circuit(&name)?,
        };
        match start_of(&p) {
            Some(next) if p.provenance.as_ref().and_then(|v| v.get("fitted")).is_some() => name = next,
            _ => return Ok(p),
        }
    }
    Err(ParamError::Transfer(format!("calibration `{}`: the chain of provenance.start is too long", calibration.name)))
}

/// Serialise a circuit parameter set as YAML with a header comment explaining the units.
pub fn circuit_to_yaml(p: &CircuitParams, header: &str) -> String {
    let body = serde_yaml::to_string(p).unwrap_or_default();
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("# SI units throughout: _a ampere, _s second, _v volt, _f farad; other values are dimensionless.\n");
    out.push_str(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads_and_is_valid() {
        for (name, _) in PRESETS {
            load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let p = load_circuit("thesis-network").unwrap();
        assert_eq!(p.pot_comparator.threshold_a, 30e-12);
        assert_eq!(p.capacitor.i_hrn_a, 80e-15);
        assert!(load_reference("thesis-network").is_err());
    }

    #[test]
    fn round_trip_through_yaml() {
        let p = load_circuit("cadence-fig17").unwrap();
        let text = circuit_to_yaml(&p, "test");
        match parse(&text, "rt").unwrap() {
            AnyParams::Circuit(q) => assert_eq!(*q, p),
            _ => panic!("wrong model"),
        }
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let text = PRESETS[1].1.replace("  tau_s: 4.88e-3", "  tau_s: 4.88e-3\n  tau_typo_s: 1.0");
        let e = parse(&text, "my.yaml").unwrap_err().to_string();
        assert!(e.starts_with("my.yaml:"), "{e}");
        assert!(e.contains("tau_typo_s"), "{e}");
        let line = text.lines().position(|l| l.contains("tau_typo_s")).unwrap() + 1;
        assert!(e.contains(&format!(":{line}:")), "line {line} expected in {e}");
    }

    #[test]
    fn missing_key_is_an_error() {
        let text = PRESETS[1].1.replace("  c_f: 1.2215e-12         # C\n", "");
        let e = parse(&text, "m.yaml").unwrap_err().to_string();
        assert!(e.contains("c_f"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_the_key_and_range() {
        let text = PRESETS[1].1.replace("tau_s: 4.88e-3", "tau_s: -4.88e-3");
        let e = parse(&text, "neg.yaml").unwrap_err().to_string();
        assert!(e.contains("neg.yaml") && e.contains("dpi.tau_s") && e.contains("> 0"), "{e}");
        let text = PRESETS[1].1.replace("v_h0_v: 0.9 ", "v_h0_v: 2.5 ");
        let e = parse(&text, "vh.yaml").unwrap_err().to_string();
        assert!(e.contains("capacitor.v_h0_v") && e.contains("[0, 1.8]"), "{e}");
        let text = PRESETS[1].1.replace("i_on_a: 50.0e-12", "i_on_a: -50.0e-12");
        let e = parse(&text, "i.yaml").unwrap_err().to_string();
        assert!(e.contains("pot_switch.i_on_a"), "{e}");
    }

    #[test]
    fn unknown_name_lists_presets() {
        let e = load("no-such-preset").unwrap_err().to_string();
        assert!(e.contains("thesis-network") && e.contains("reference"), "{e}");
    }
}
