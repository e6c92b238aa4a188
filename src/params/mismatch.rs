//! Device-mismatch files: how the parameters of one synapse vary from synapse to synapse, so that a network can
//! give every synapse its own sample (`stc train --mismatch FILE`).
//!
//! Each listed parameter is log-normal around the nominal (calibrated) value,
//! `p = p0 * mean_rel * exp(sigma_rel z - sigma_rel^2 / 2)`, so that its mean is `p0 * mean_rel` and its relative
//! spread `sigma_rel` for small sigmas
//! (Pelgrom mismatch of sub-threshold currents is log-normal: the currents are exponential in a Gaussian threshold
//! voltage). The standard normals `z` of different parameters may be correlated (e.g. a DPI's time constant and
//! its jumps share transistors); the correlation matrix must be positive definite. Example (YAML):
//!
//! ```yaml
//! name: literature-10pct
//! description: 10 % on every bias current, threshold and jump correlated
//! parameters:
//!   - {key: dpi.i_tau_a, sigma_rel: 0.10}
//!   - {key: pot_comparator.threshold_a, sigma_rel: 0.10}
//!   - {key: dpi.jump_pre_a, sigma_rel: 0.10, mean_rel: 1.0}
//! correlations:
//!   - {a: dpi.i_tau_a, b: dpi.jump_pre_a, r: 0.5}
//! ```

use crate::io::descriptor::YamlText;
use crate::synapse::CircuitParams;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// One varying parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MismatchParam {
    /// Dotted key of the circuit parameter (`dpi.i_tau_a`).
    pub key: String,
    /// Relative standard deviation (log-normal sigma), >= 0.
    pub sigma_rel: f64,
    /// Mean relative to the nominal value (default 1).
    #[serde(default = "one")]
    pub mean_rel: f64,
}

fn one() -> f64 {
    1.0
}

/// The correlation of the standard normals of two listed parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    pub a: String,
    pub b: String,
    /// Correlation coefficient in (-1, 1).
    pub r: f64,
}

/// A mismatch file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MismatchSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub parameters: Vec<MismatchParam>,
    #[serde(default)]
    pub correlations: Vec<Correlation>,
    /// Lower Cholesky factor of the correlation matrix (row-major, parameters in file order), set by
    /// [`MismatchSpec::parse`].
    #[serde(skip)]
    chol: Vec<f64>,
    /// Where the file was read from and the (line, column) of each parameter's key, set by
    /// [`MismatchSpec::parse`] (for [`MismatchSpec::check_nominal`]'s errors).
    #[serde(skip)]
    path: String,
    #[serde(skip)]
    key_at: Vec<(usize, usize)>,
}

/// Why a mismatch file is not usable: `path:line:column: message`.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct MismatchError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why the network cannot give `key` its own value per synapse, or `None` when it can. The per-synapse path
/// (`network::net`) varies the DPI, the comparators, the switches and the capacitor's C and recovery currents;
/// every synapse starts a sample at its resting calcium (so `dpi.i_init_a` follows the DPI currents), and V_H0,
/// the rails, the tag, protein and late phase, the read-out weight and the time grid are one value for all
/// synapses (consolidation, protein and read-out use it). A spread on those would be dropped without a word.
pub fn not_per_synapse(key: &str) -> Option<String> {
    let varied = ["dpi.", "pot_comparator.", "dep_comparator.", "pot_switch.", "dep_switch."];
    let cap = ["capacitor.c_f", "capacitor.i_hrp_a", "capacitor.i_hrn_a"];
    if key == "dpi.i_init_a" {
        Some(
            "`dpi.i_init_a` cannot vary: every synapse starts at its resting calcium, gain x I_INDC - I_g; vary \
             `dpi.i_indc_a` (or the gain's `dpi.i_th_a`, `dpi.i_tau_a`) instead"
                .into(),
        )
    } else if varied.iter().any(|p| key.starts_with(p)) || cap.contains(&key) {
        None
    } else {
        Some(format!(
            "`{key}` is one value for all synapses of the network (consolidation, protein and read-out share it); a \
             file may vary `dpi.*`, the comparators, the switches, `capacitor.c_f`, `capacitor.i_hrp_a` and \
             `capacitor.i_hrn_a`"
        ))
    }
}

impl MismatchSpec {
    /// Parse and check a mismatch file; `path` names it in errors, and every parameter key must be one of
    /// `known_keys` (a circuit parameter set's keys).
    pub fn parse(text: &str, path: &str, known_keys: &[String]) -> Result<MismatchSpec, MismatchError> {
        let mut spec: MismatchSpec = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
            let m = e.to_string();
            MismatchError { path: path.into(), line, column, message: m.split(" at line ").next().unwrap_or(&m).into() }
        })?;
        let yaml = YamlText::new(text);
        let at = |top: &str, item: usize, key: &str, message: String| {
            let (line, column) = yaml.locate(top, Some(item), key);
            MismatchError { path: path.into(), line: line.unwrap_or(1), column: column.unwrap_or(1), message }
        };
        if spec.parameters.is_empty() {
            let (line, column) = yaml.locate("parameters", None, "parameters");
            return Err(MismatchError {
                path: path.into(),
                line: line.unwrap_or(1),
                column: column.unwrap_or(1),
                message: "expected at least one parameter".into(),
            });
        }
        for (i, p) in spec.parameters.iter().enumerate() {
            if !known_keys.contains(&p.key) {
                return Err(at("parameters", i, "key", format!("`{}` is not a circuit parameter", p.key)));
            }
            if let Some(why) = not_per_synapse(&p.key) {
                return Err(at("parameters", i, "key", why));
            }
            if spec.parameters[..i].iter().any(|q| q.key == p.key) {
                return Err(at("parameters", i, "key", format!("`{}` is listed twice", p.key)));
            }
            if !(p.sigma_rel.is_finite() && (0.0..=2.0).contains(&p.sigma_rel)) {
                return Err(at(
                    "parameters",
                    i,
                    "sigma_rel",
                    format!("expected 0 <= sigma_rel <= 2, found {}", p.sigma_rel),
                ));
            }
            if !(p.mean_rel.is_finite() && p.mean_rel > 0.0) {
                return Err(at("parameters", i, "mean_rel", format!("expected mean_rel > 0, found {}", p.mean_rel)));
            }
        }
        let index = |k: &str| spec.parameters.iter().position(|p| p.key == k);
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in spec.correlations.iter().enumerate() {
            let (Some(a), Some(b)) = (index(&c.a), index(&c.b)) else {
                let key = if index(&c.a).is_none() { "a" } else { "b" };
                return Err(at("correlations", i, key, "names a parameter not listed in `parameters`".into()));
            };
            if a == b || !(c.r.is_finite() && c.r > -1.0 && c.r < 1.0) {
                return Err(at(
                    "correlations",
                    i,
                    "r",
                    format!("expected two different parameters and -1 < r < 1, found r = {}", c.r),
                ));
            }
            if !seen.insert((a.min(b), a.max(b))) {
                return Err(at("correlations", i, "a", "this pair is given twice".into()));
            }
        }
        let Some(chol) = spec.cholesky() else {
            let (line, column) = yaml.locate("correlations", None, "correlations");
            return Err(MismatchError {
                path: path.into(),
                line: line.unwrap_or(1),
                column: column.unwrap_or(1),
                message: "the correlations do not form a positive definite matrix (no set of parameters can have them)"
                    .into(),
            });
        };
        spec.chol = chol;
        spec.path = path.into();
        spec.key_at = (0..spec.parameters.len())
            .map(|i| {
                let (line, column) = yaml.locate("parameters", Some(i), "key");
                (line.unwrap_or(1), column.unwrap_or(1))
            })
            .collect();
        Ok(spec)
    }

    /// Refuse a listed parameter whose nominal value in `base` (the synapse the network varies, named by `what`)
    /// is 0: the spread is relative, so it would have no effect.
    pub fn check_nominal(&self, base: &CircuitParams, what: &str) -> Result<(), MismatchError> {
        for (i, m) in self.parameters.iter().enumerate() {
            if base.get(&m.key) == Some(0.0) {
                let (line, column) = self.key_at.get(i).copied().unwrap_or((1, 1));
                return Err(MismatchError {
                    path: self.path.clone(),
                    line,
                    column,
                    message: format!("`{}` is 0 in {what}: a relative spread around 0 has no effect", m.key),
                });
            }
        }
        Ok(())
    }

    /// Lower Cholesky factor (row-major) of the correlation matrix of the listed parameters, or `None` if it is not
    /// positive definite. Correlations naming unlisted parameters are ignored here ([`MismatchSpec::parse`] refuses
    /// them).
    fn cholesky(&self) -> Option<Vec<f64>> {
        let n = self.parameters.len();
        let index = |k: &str| self.parameters.iter().position(|p| p.key == k);
        let mut r = nalgebra::DMatrix::<f64>::identity(n, n);
        for c in &self.correlations {
            if let (Some(a), Some(b)) = (index(&c.a), index(&c.b)) {
                r[(a, b)] = c.r;
                r[(b, a)] = c.r;
            }
        }
        let l = nalgebra::Cholesky::new(r)?.l();
        Some((0..n).flat_map(|i| (0..n).map(move |j| (i, j))).map(|(i, j)| l[(i, j)]).collect())
    }

    /// Load a mismatch file (see [`MismatchSpec::parse`]).
    pub fn load(path: &std::path::Path, known_keys: &[String]) -> Result<MismatchSpec, MismatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| MismatchError {
            path: path.display().to_string(),
            line: 1,
            column: 1,
            message: format!("cannot read the mismatch file: {e}"),
        })?;
        MismatchSpec::parse(&text, &path.display().to_string(), known_keys)
    }

    /// Load a mismatch file for the synapse `base` the network varies (named by `what` in errors): its keys are
    /// `base`'s, and no listed parameter may be 0 in it ([`MismatchSpec::check_nominal`]).
    pub fn load_for(path: &std::path::Path, base: &CircuitParams, what: &str) -> Result<MismatchSpec, MismatchError> {
        let spec = MismatchSpec::load(path, &base.keys())?;
        spec.check_nominal(base, what)?;
        Ok(spec)
    }

    /// One synapse's parameters: `base` with every listed parameter drawn (correlated log-normal, see the module
    /// doc). The caller re-derives what depends on them (e.g. the DPI's resting current).
    pub fn sample(&self, base: &CircuitParams, rng: &mut impl Rng) -> CircuitParams {
        let n = self.parameters.len();
        // Deserialized without `parse` (e.g. from a run's summary), the factor is derived again.
        let derived;
        let chol = if self.chol.len() == n * n {
            &self.chol
        } else {
            derived = self.cholesky().unwrap_or_default();
            if derived.len() != n * n {
                return base.clone();
            }
            &derived
        };
        let u: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let mut p = base.clone();
        for (i, m) in self.parameters.iter().enumerate() {
            let z: f64 = (0..=i).map(|j| chol[i * n + j] * u[j]).sum();
            let f = m.mean_rel * (m.sigma_rel * z - 0.5 * m.sigma_rel * m.sigma_rel).exp();
            if let Some(v) = base.get(&m.key) {
                p.set(&m.key, v * f);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        crate::params::load_circuit("mnist-network").unwrap().keys()
    }

    const GOOD: &str = "name: t\nparameters:\n  - {key: dpi.tau_s, sigma_rel: 0.2}\n  - key: capacitor.c_f\n    sigma_rel: 0.1\n    mean_rel: 1.1\ncorrelations:\n  - {a: dpi.tau_s, b: capacitor.c_f, r: 0.6}\n";

    /// Sample statistics against the closed forms: mean of a log-normal factor `mean_rel`, sd of `ln p` equal to
    /// `sigma_rel`, correlation of the logs equal to `r`.
    #[test]
    fn samples_have_the_stated_mean_spread_and_correlation() {
        let spec = MismatchSpec::parse(GOOD, "m.yaml", &keys()).unwrap();
        let base = crate::params::load_circuit("mnist-network").unwrap();
        let mut rng = crate::stimulus::rng(7);
        let n = 40_000;
        let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let p = spec.sample(&base, &mut rng);
            a.push(p.dpi.tau_s / base.dpi.tau_s);
            b.push(p.capacitor.c_f / base.capacitor.c_f);
        }
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let logs = |x: &[f64]| x.iter().map(|v| v.ln()).collect::<Vec<_>>();
        let sd = |x: &[f64]| {
            let m = mean(x);
            (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
        };
        let (la, lb) = (logs(&a), logs(&b));
        let cov = la.iter().zip(&lb).map(|(x, y)| (x - mean(&la)) * (y - mean(&lb))).sum::<f64>() / (n - 1) as f64;
        // Standard errors at n = 40,000: mean ~0.1 %, sd ~0.4 %, r ~0.3 %.
        assert!((mean(&a) - 1.0).abs() < 0.01, "{}", mean(&a));
        assert!((mean(&b) - 1.1).abs() < 0.01, "{}", mean(&b));
        assert!((sd(&la) - 0.2).abs() < 0.004 && (sd(&lb) - 0.1).abs() < 0.002, "{} {}", sd(&la), sd(&lb));
        assert!((cov / (sd(&la) * sd(&lb)) - 0.6).abs() < 0.015, "{}", cov / (sd(&la) * sd(&lb)));
        // Unlisted parameters keep their nominal values.
        let p = spec.sample(&base, &mut rng);
        assert_eq!(p.dpi.jump_pre_a, base.dpi.jump_pre_a);
    }

    #[test]
    fn errors_are_located() {
        let k = keys();
        let err = |text: &str| MismatchSpec::parse(text, "m.yaml", &k).unwrap_err().to_string();
        assert_eq!(
            err(&GOOD.replace("dpi.tau_s, sigma_rel: 0.2", "dpi.tau_s, sigma_rel: -0.2")),
            "m.yaml:3:33: expected 0 <= sigma_rel <= 2, found -0.2"
        );
        assert_eq!(
            err(&GOOD.replace("  - key: capacitor.c_f", "  - key: capacitor.cf")),
            "m.yaml:4:10: `capacitor.cf` is not a circuit parameter"
        );
        assert!(err(&GOOD.replace("r: 0.6", "r: 1.5")).starts_with("m.yaml:8:41: expected two different"));
        assert!(err(&GOOD.replace("mean_rel: 1.1", "mean_rel: 0")).starts_with("m.yaml:6:15: expected mean_rel > 0"));
        let e = err(&GOOD.replace("sigma_rel: 0.1\n", "sigma: 0.1\n"));
        assert!(e.starts_with("m.yaml:5:5: parameters[1]: unknown field `sigma`"), "{e}");
        let e = err(&GOOD.replace("  - key: capacitor.c_f", "  - key: dpi.i_init_a"));
        assert!(e.starts_with("m.yaml:4:10: `dpi.i_init_a` cannot vary") && e.contains("dpi.i_indc_a"), "{e}");
        // A key whose nominal value is 0 in the synapse the network varies.
        let spec = MismatchSpec::parse(&GOOD.replace("capacitor.c_f", "dpi.i_g_a"), "m.yaml", &k).unwrap();
        let base = crate::params::load_circuit("mnist-network").unwrap();
        assert_eq!(base.dpi.i_g_a, 0.0);
        let e = spec.check_nominal(&base, "the network's synapse").unwrap_err().to_string();
        assert_eq!(
            e,
            "m.yaml:4:10: `dpi.i_g_a` is 0 in the network's synapse: a relative spread around 0 has no effect"
        );
        assert!(MismatchSpec::parse(GOOD, "m.yaml", &k).unwrap().check_nominal(&base, "x").is_ok());
        for key in ["tag.theta_tag_v", "late.tau_z_s", "capacitor.v_h0_v", "weight.beta_per_v", "max_step_s"] {
            assert!(keys().contains(&key.to_string()), "{key}");
            let e = err(&GOOD.replace("  - key: capacitor.c_f", &format!("  - key: {key}")));
            assert!(e.starts_with(&format!("m.yaml:4:10: `{key}` is one value for all synapses")), "{e}");
        }
        // Three parameters pairwise correlated -0.9: each pair is fine, the matrix is not.
        let bad = "name: t\nparameters:\n  - {key: dpi.tau_s, sigma_rel: 0.1}\n  - {key: capacitor.c_f, sigma_rel: 0.1}\n  - {key: dpi.jump_pre_a, sigma_rel: 0.1}\ncorrelations:\n  - {a: dpi.tau_s, b: capacitor.c_f, r: -0.9}\n  - {a: dpi.tau_s, b: dpi.jump_pre_a, r: -0.9}\n  - {a: capacitor.c_f, b: dpi.jump_pre_a, r: -0.9}\n";
        assert!(err(bad).starts_with("m.yaml:6:1: the correlations do not form a positive definite"), "{}", err(bad));
    }
}
