//! The fit spec (YAML): which parameters are free, their bounds, scales, starting values and roles, the signal
//! weights, and the solver settings. A spec is data the user can read and diff, not code.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How a parameter is mapped onto the optimiser's unit interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Logarithmic between the bounds (currents, time constants, capacitances: positive, spanning decades).
    Log,
    /// Linear between the bounds (delays that may be 0, fractions).
    Linear,
}

/// What a fitted parameter means for other runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A property of the circuit (delay, tail, effective capacitance, DPI shape): carried to other bias settings
    /// by `--calibration`.
    Property,
    /// A bias of this particular run (threshold, current level): fitted here, not carried over.
    Bias,
}

/// One free parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeParam {
    /// Dotted key in the parameter file, e.g. `pot_comparator.delay_on_s`.
    pub key: String,
    /// Lower bound (SI).
    pub lower: f64,
    /// Upper bound (SI).
    pub upper: f64,
    /// Starting value (SI); default: the value in the starting parameter file.
    #[serde(default)]
    pub start: Option<f64>,
    /// Mapping onto the search interval.
    pub scale: Scale,
    /// Property of the circuit or bias of the run.
    pub role: Role,
    /// Optional Gaussian prior around the nominal (starting-set) value, for a parameter the data cannot pin (MAP
    /// fit): its width relative to the value for log-scaled parameters (sigma of ln value), relative to the bound
    /// span for linear ones. A one-sigma deviation costs as much as 1 % NRMSE on one signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_sigma_rel: Option<f64>,
}

/// Solver settings: a global particle swarm, then Nelder-Mead on the logit-transformed parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSpec {
    /// Particles of the swarm.
    pub particles: usize,
    /// Swarm iterations.
    pub global_iterations: u64,
    /// Nelder-Mead iterations.
    pub local_iterations: u64,
    /// Nelder-Mead restarts from the best point (a fresh simplex escapes a collapsed one).
    #[serde(default = "default_restarts")]
    pub local_restarts: usize,
    /// Seed of the swarm (same seed, same fit).
    pub seed: u64,
    /// Independent starts: the whole staged fit is run with seeds `seed`, `seed + 1`, ... and the lowest final
    /// cost is kept (the swarm does not reach the same optimum from every seed; README "Calibration"). Every
    /// start's evaluations are counted. Default 1.
    #[serde(default = "default_starts")]
    pub starts: usize,
}

fn default_restarts() -> usize {
    2
}

fn default_starts() -> usize {
    1
}

/// Most independent starts a fit accepts (`solver.starts`, `stc fit --starts`).
pub const MAX_STARTS: usize = 1000;

/// A fit spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitSpec {
    /// Name of the spec.
    pub name: String,
    /// What it fits and why these parameters.
    #[serde(default)]
    pub description: String,
    /// Starting parameter set (preset or path); `--params` overrides; default: the descriptor's `params`.
    #[serde(default)]
    pub start: Option<String>,
    /// Weight of each model signal's normalised error (i_ca, i_hp, i_hd, v_h, ...); missing signals weigh 1.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Extra weight on each signal's last point (e.g. the final v_h).
    #[serde(default)]
    pub endpoint_weights: BTreeMap<String, f64>,
    /// Bands of a signal's measured value whose samples weigh more (signal -> bands): e.g. the calcium near the
    /// comparator thresholds, where a small error decides whether a switch closes. A sample counts with the largest
    /// weight among the bands its data value lies in (1 outside them); the signal's total weight stays
    /// `weights[signal]`, spread over its samples in proportion.
    #[serde(default)]
    pub band_weights: BTreeMap<String, Vec<Band>>,
    /// Parameters held at stated values (dotted key -> SI value), set on the starting parameters before the fit:
    /// e.g. `dpi.i_g_a` at I_TH, the published DPI's value, where the data cannot tell it from `i_indc_a`.
    #[serde(default)]
    pub fixed: BTreeMap<String, f64>,
    /// Solver settings.
    pub solver: SolverSpec,
    /// Free parameters.
    pub parameters: Vec<FreeParam>,
    /// Optional block-by-block stages run before the joint fit: each fits some parameters on the signals their
    /// block produces (e.g. the DPI on i_ca), with the others held. The joint stage then polishes everything.
    #[serde(default)]
    pub stages: Vec<Stage>,
}

/// A band of a signal's measured value, in the signal's SI unit, and the weight of the samples in it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Lowest value in the band (SI unit of the signal).
    pub lower: f64,
    /// Highest value in the band.
    pub upper: f64,
    /// Weight of a sample in the band, relative to 1 outside every band (> 0).
    pub weight: f64,
}

/// One block-wise stage of the fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Name shown in progress and reports.
    pub name: String,
    /// Signals whose error this stage minimises.
    pub signals: Vec<String>,
    /// Keys of the free parameters this stage moves (each must be in `parameters`).
    pub keys: Vec<String>,
}

/// Why a spec is not usable.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Yaml { path: String, line: usize, column: usize, message: String },
    #[error("{path}: parameter `{key}`: {message}")]
    Param { path: String, key: String, message: String },
}

impl FitSpec {
    /// Parse a spec; `path` names it in errors. Keys are checked against `known_keys` when given.
    pub fn parse(text: &str, path: &str, known_keys: &[String]) -> Result<FitSpec, SpecError> {
        let spec: FitSpec = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
            let m = e.to_string();
            let message = m.split(" at line ").next().unwrap_or(&m).to_string();
            SpecError::Yaml { path: path.into(), line, column, message }
        })?;
        spec.check_keys(path, known_keys)?;
        for p in &spec.parameters {
            let err = |message: String| SpecError::Param { path: path.into(), key: p.key.clone(), message };
            if !(p.lower.is_finite() && p.upper.is_finite() && p.lower < p.upper) {
                return Err(err(format!("bounds must be finite with lower < upper, got [{}, {}]", p.lower, p.upper)));
            }
            if p.scale == Scale::Log && p.lower <= 0.0 {
                return Err(err(format!("a log-scaled parameter needs lower > 0, got {}", p.lower)));
            }
            if let Some(s) = p.prior_sigma_rel {
                if !(s.is_finite() && s > 0.0) {
                    return Err(err(format!("prior_sigma_rel must be finite and > 0, got {s}")));
                }
            }
            if let Some(s) = p.start {
                if !(s >= p.lower && s <= p.upper) {
                    return Err(err(format!("start {s} is outside [{}, {}]", p.lower, p.upper)));
                }
            }
        }
        for (signal, bands) in &spec.band_weights {
            for b in bands {
                if !(b.lower.is_finite()
                    && b.upper.is_finite()
                    && b.lower < b.upper
                    && b.weight.is_finite()
                    && b.weight > 0.0)
                {
                    return Err(SpecError::Param {
                        path: path.into(),
                        key: format!("band_weights.{signal}"),
                        message: format!(
                            "a band needs finite lower < upper and a weight > 0, got lower {}, upper {}, weight {}",
                            b.lower, b.upper, b.weight
                        ),
                    });
                }
            }
        }
        for st in &spec.stages {
            for k in &st.keys {
                if !spec.parameters.iter().any(|p| &p.key == k) {
                    return Err(SpecError::Param {
                        path: path.into(),
                        key: k.clone(),
                        message: format!("stage `{}` names a key that is not in `parameters`", st.name),
                    });
                }
            }
        }
        if spec.parameters.is_empty() {
            return Err(SpecError::Param { path: path.into(), key: "-".into(), message: "no free parameters".into() });
        }
        if !(1..=MAX_STARTS).contains(&spec.solver.starts) {
            return Err(SpecError::Param {
                path: path.into(),
                key: "solver.starts".into(),
                message: format!("expected 1 to {MAX_STARTS} independent starts, found {}", spec.solver.starts),
            });
        }
        if spec.solver.particles < 2 {
            return Err(SpecError::Param {
                path: path.into(),
                key: "solver.particles".into(),
                message: "needs at least 2 particles".into(),
            });
        }
        Ok(spec)
    }

    /// Check that every free parameter is a key of the model (`known_keys` empty: no check).
    pub fn check_keys(&self, path: &str, known_keys: &[String]) -> Result<(), SpecError> {
        if let Some(k) = self.fixed.keys().find(|k| !known_keys.is_empty() && !known_keys.contains(k)) {
            return Err(SpecError::Param {
                path: path.into(),
                key: k.clone(),
                message: "`fixed` names no such parameter in the model".into(),
            });
        }
        if let Some(p) = self.parameters.iter().find(|p| self.fixed.contains_key(&p.key)) {
            return Err(SpecError::Param {
                path: path.into(),
                key: p.key.clone(),
                message: "is both free and in `fixed`".into(),
            });
        }
        match self.parameters.iter().find(|p| !known_keys.is_empty() && !known_keys.contains(&p.key)) {
            Some(p) => Err(SpecError::Param {
                path: path.into(),
                key: p.key.clone(),
                message: "no such parameter in the model".into(),
            }),
            None => Ok(()),
        }
    }

    /// Read and parse a spec file.
    pub fn load(path: &Path, known_keys: &[String]) -> Result<FitSpec, SpecError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SpecError::Io { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string(), known_keys)
    }

    /// Keep only the named parameters (the `--free` option); unknown names are an error.
    pub fn restrict(&mut self, names: &[String]) -> Result<(), String> {
        for n in names {
            if !self.parameters.iter().any(|p| &p.key == n) {
                return Err(format!(
                    "--free {n}: not a parameter of the fit spec (it has: {})",
                    self.parameters.iter().map(|p| p.key.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        self.parameters.retain(|p| names.contains(&p.key));
        for st in &mut self.stages {
            st.keys.retain(|k| names.contains(k));
        }
        self.stages.retain(|st| !st.keys.is_empty());
        Ok(())
    }
}

impl FreeParam {
    /// Map a unit-interval coordinate s in [0, 1] to the physical value.
    pub fn from_unit(&self, s: f64) -> f64 {
        let s = s.clamp(0.0, 1.0);
        let v = match self.scale {
            Scale::Linear => self.lower + (self.upper - self.lower) * s,
            Scale::Log => (self.lower.ln() + (self.upper.ln() - self.lower.ln()) * s).exp(),
        };
        // exp(ln(upper)) may exceed upper by an ulp: the bounds are hard.
        v.clamp(self.lower, self.upper)
    }
    /// Map a physical value to the unit interval.
    pub fn to_unit(&self, v: f64) -> f64 {
        let s = match self.scale {
            Scale::Linear => (v - self.lower) / (self.upper - self.lower),
            Scale::Log => (v.max(self.lower).ln() - self.lower.ln()) / (self.upper.ln() - self.lower.ln()),
        };
        s.clamp(0.0, 1.0)
    }
}

/// Logistic map from the unconstrained Nelder-Mead coordinate to the unit interval.
pub fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// Inverse of [`logistic`], kept finite at the ends.
pub fn logit(s: f64) -> f64 {
    let s = s.clamp(1e-9, 1.0 - 1e-9);
    (s / (1.0 - s)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_invert_and_respect_bounds() {
        let p = FreeParam {
            key: "x".into(),
            lower: 1e-13,
            upper: 1e-10,
            start: None,
            scale: Scale::Log,
            role: Role::Bias,
            prior_sigma_rel: None,
        };
        for v in [1e-13, 3e-12, 1e-10] {
            assert!((p.from_unit(p.to_unit(v)) - v).abs() < 1e-9 * v);
        }
        assert!((p.from_unit(0.5) - 10f64.powf(-11.5)).abs() < 1e-20);
        for u in [-50.0, -1.0, 0.0, 2.0, 50.0] {
            let v = p.from_unit(logistic(u));
            assert!(v >= p.lower && v <= p.upper);
        }
        assert!((logistic(logit(0.3)) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn bad_specs_name_the_problem() {
        let base = "name: t\nsolver: {particles: 8, global_iterations: 1, local_iterations: 1, seed: 1}\nparameters:\n";
        let bad = format!("{base}  - {{key: dpi.tau_s, lower: 1.0, upper: 0.5, scale: log, role: bias}}\n");
        let e = FitSpec::parse(&bad, "s.yaml", &[]).unwrap_err().to_string();
        assert!(e.contains("s.yaml") && e.contains("dpi.tau_s") && e.contains("lower < upper"), "{e}");
        let unknown = format!("{base}  - {{key: dpi.nope, lower: 1.0, upper: 2.0, scale: log, role: bias}}\n");
        let e = FitSpec::parse(&unknown, "s.yaml", &["dpi.tau_s".to_string()]).unwrap_err().to_string();
        assert!(e.contains("dpi.nope"), "{e}");
        let typo =
            format!("{base}  - {{key: dpi.tau_s, lower: 1.0, upper: 2.0, scale: log, role: bias, colour: red}}\n");
        let e = FitSpec::parse(&typo, "s.yaml", &[]).unwrap_err().to_string();
        assert!(e.starts_with("s.yaml:4:"), "{e}");
        let param = "  - {key: dpi.tau_s, lower: 1.0e-3, upper: 2.0e-2, scale: log, role: property}\n";
        let ok = FitSpec::parse(&format!("{base}{param}"), "s.yaml", &[]).unwrap();
        assert_eq!(ok.solver.starts, 1, "one start unless the spec asks for more");
        let zero = format!("{}{param}", base.replace("seed: 1}", "seed: 1, starts: 0}"));
        let e = FitSpec::parse(&zero, "s.yaml", &[]).unwrap_err().to_string();
        assert!(e.contains("solver.starts") && e.contains("1 to 1000"), "{e}");
        let band = |b: &str| format!("{base}{param}band_weights:\n  i_ca:\n    - {b}\n");
        let ok = FitSpec::parse(&band("{lower: 1.0e-11, upper: 2.0e-11, weight: 5.0}"), "s.yaml", &[]).unwrap();
        assert_eq!(ok.band_weights["i_ca"], vec![Band { lower: 1e-11, upper: 2e-11, weight: 5.0 }]);
        for bad in ["{lower: 2.0e-11, upper: 1.0e-11, weight: 5.0}", "{lower: 1.0e-11, upper: 2.0e-11, weight: 0.0}"] {
            let e = FitSpec::parse(&band(bad), "s.yaml", &[]).unwrap_err().to_string();
            assert!(e.contains("s.yaml") && e.contains("band_weights.i_ca") && e.contains("lower < upper"), "{e}");
        }
        for bad in ["{lower: 1.0e-11, upper: 2.0e-11, weight: .nan}", "{lower: 1.0e-11, upper: 2.0e-11, weight: -1.0}"]
        {
            let e = FitSpec::parse(&band(bad), "s.yaml", &[]).unwrap_err().to_string();
            assert!(e.contains("band_weights.i_ca") && e.contains("a weight > 0"), "{e}");
        }
        let e = FitSpec::parse(&band("{lower: 1.0e-11, upper: 2.0e-11}"), "s.yaml", &[]).unwrap_err().to_string();
        assert!(e.starts_with("s.yaml:7:") && e.contains("weight"), "{e}");
    }
}
