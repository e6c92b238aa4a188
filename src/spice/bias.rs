//! The bias file of the transistor-level synapse: one reference current (or capacitor, voltage, pulse width) per
//! bias generator of `circuits/sky130/blocks.spice`, keyed by the thesis' bias names with the unit in the key
//! (`I_THPOT_A`, `C_H_F`, ...). `circuits/sky130/README.md` maps each to the model parameter it sets.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The bias point of the circuit, SI units. Unknown or missing keys are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct Biases {
    /// DPI leak current I_tau, A.
    pub I_TAU_A: f64,
    /// DPI threshold (gain) current I_g, A.
    pub I_TH_A: f64,
    /// DPI input current during a pre spike pulse, A.
    pub I_W_PRE_A: f64,
    /// DPI input current during a post spike pulse, A.
    pub I_W_POST_A: f64,
    /// DPI constant input current (sets the resting calcium current), A.
    pub I_REST_A: f64,
    /// DPI capacitor, F.
    pub C_CA_F: f64,
    /// Potentiation comparator threshold, A.
    pub I_THPOT_A: f64,
    /// Depression comparator threshold, A.
    pub I_THDEP_A: f64,
    /// Winner-take-all bias of the comparators, A.
    pub I_WTA_A: f64,
    /// Potentiation current, A.
    pub I_TAILP_A: f64,
    /// Depression current, A.
    pub I_TAILD_A: f64,
    /// Bias of the guard follower of the low-leakage switches, A.
    pub I_FOLLOWER_A: f64,
    /// Recovery transconductor tail current, A.
    pub I_HR_A: f64,
    /// Early-phase capacitor, F.
    pub C_H_F: f64,
    /// Rest voltage of v_h, V.
    pub V_H0_V: f64,
    /// Bump circuit bias, A.
    pub I_BUMP_A: f64,
    /// Tag reference current, A.
    pub I_TAGREF_A: f64,
    /// Late-phase time constant, s.
    pub TAU_Z_S: f64,
    /// Spike pulse width, s.
    pub PULSE_S: f64,
    /// Supply voltage, V.
    pub V_DD_V: f64,
}

/// A bias file that could not be read: `FILE:LINE:COLUMN: what was expected`.
#[derive(Debug)]
pub struct BiasError {
    /// `file:line:column` or `file`.
    pub location: String,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for BiasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for BiasError {}

impl Biases {
    /// The shipped bias point (`circuits/sky130/biases.yaml`).
    pub fn default_point() -> Biases {
        Biases::parse(super::DEFAULT_BIASES, "circuits/sky130/biases.yaml").expect("the shipped bias file parses")
    }

    /// Read a bias file.
    pub fn load(path: &Path) -> Result<Biases, BiasError> {
        let text = std::fs::read_to_string(path).map_err(|e| BiasError {
            location: path.display().to_string(),
            message: format!("cannot read the bias file: {e}"),
        })?;
        Biases::parse(&text, &path.display().to_string())
    }

    /// Parse bias YAML; `name` is used in error locations.
    pub fn parse(text: &str, name: &str) -> Result<Biases, BiasError> {
        let b: Biases = serde_yaml::from_str(text).map_err(|e| {
            let location = match e.location() {
                Some(l) => format!("{name}:{}:{}", l.line(), l.column()),
                None => name.to_string(),
            };
            BiasError { location, message: format!("expected a bias file (see circuits/sky130/README.md): {e}") }
        })?;
        b.check(name)?;
        Ok(b)
    }

    /// Every entry with its key, in file order.
    pub fn entries(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("I_TAU_A", self.I_TAU_A),
            ("I_TH_A", self.I_TH_A),
            ("I_W_PRE_A", self.I_W_PRE_A),
            ("I_W_POST_A", self.I_W_POST_A),
            ("I_REST_A", self.I_REST_A),
            ("C_CA_F", self.C_CA_F),
            ("I_THPOT_A", self.I_THPOT_A),
            ("I_THDEP_A", self.I_THDEP_A),
            ("I_WTA_A", self.I_WTA_A),
            ("I_TAILP_A", self.I_TAILP_A),
            ("I_TAILD_A", self.I_TAILD_A),
            ("I_FOLLOWER_A", self.I_FOLLOWER_A),
            ("I_HR_A", self.I_HR_A),
            ("C_H_F", self.C_H_F),
            ("V_H0_V", self.V_H0_V),
            ("I_BUMP_A", self.I_BUMP_A),
            ("I_TAGREF_A", self.I_TAGREF_A),
            ("TAU_Z_S", self.TAU_Z_S),
            ("PULSE_S", self.PULSE_S),
            ("V_DD_V", self.V_DD_V),
        ]
    }

    /// Ranges: currents in (0, 1 uA] (the blocks are sub-threshold designs), capacitors in (0, 1 nF], V_H0 inside
    /// the supply, pulse width in (0, 1 ms].
    fn check(&self, name: &str) -> Result<(), BiasError> {
        for (key, v) in self.entries() {
            let (lo, hi, what) = match key.rsplit('_').next() {
                Some("A") => (0.0, 1e-6, "a current in (0, 1e-6] A"),
                Some("F") => (0.0, 1e-9, "a capacitance in (0, 1e-9] F"),
                Some("V") if key == "V_DD_V" => (1.0, 1.98, "a supply in (1.0, 1.98] V"),
                Some("V") => (0.0, self.V_DD_V, "a voltage inside (0, V_DD_V) V"),
                _ if key == "PULSE_S" => (0.0, 1e-3, "a pulse width in (0, 1e-3] s"),
                _ => (0.0, 1e9, "a time constant in (0, 1e9] s"),
            };
            if !(v.is_finite() && v > lo && v <= hi) {
                let l = find_key_line(name, key);
                return Err(BiasError { location: l, message: format!("{key}: expected {what}, found {v}") });
            }
        }
        if self.I_REST_A <= self.I_TAU_A {
            return Err(BiasError {
                location: find_key_line(name, "I_REST_A"),
                message: format!(
                    "I_REST_A: expected more than I_TAU_A ({}) so that the DPI has a resting current, found {}",
                    self.I_TAU_A, self.I_REST_A
                ),
            });
        }
        Ok(())
    }
}

/// `name:line:column` of a key when `name` is a readable file, else `name`.
fn find_key_line(name: &str, key: &str) -> String {
    if let Ok(text) = std::fs::read_to_string(name) {
        for (i, line) in text.lines().enumerate() {
            if let Some(c) = line.find(&format!("{key}:")) {
                return format!("{name}:{}:{}", i + 1, c + 1);
            }
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_point_parses_and_errors_are_located() {
        let b = Biases::default_point();
        assert_eq!(b.V_DD_V, 1.8);
        let err = Biases::parse("I_TAU_A: 1\n", "b.yaml").unwrap_err().to_string();
        assert!(err.starts_with("b.yaml:"), "{err}");
        let text = super::super::DEFAULT_BIASES.replace("I_TAILP_A: 50.0e-12", "I_TAILP_A: -5.0e-12");
        let err = Biases::parse(&text, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("I_TAILP_A: expected a current"), "{err}");
        let text = super::super::DEFAULT_BIASES.replace("V_DD_V: 1.8", "V_DD_V: 1.8\nI_FOO_A: 1e-12");
        let err = Biases::parse(&text, "b.yaml").unwrap_err().to_string();
        assert!(err.starts_with("b.yaml:") && err.contains("I_FOO_A"), "{err}");
    }
}
