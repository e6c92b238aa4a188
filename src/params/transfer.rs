//! Carrying a calibration to another bias point.
//!
//! A calibration file (`stc fit` output) holds **absolute** values fitted at **its** bias point (the biases in the
//! same file, e.g. a 70 pA potentiation threshold and a 100 pA potentiation tail current). Copying an absolute
//! non-ideality onto other biases changes the circuit it describes: a 14.5 pA comparator transition width on a
//! 70 pA threshold is a 21 % soft edge, but on a 30 pA threshold it reaches down to 22.7 pA, below a 25 pA
//! depression threshold, and the learning rule changes sign (issue 10). So each fitted non-ideality is expressed the
//! way the block's physics scales it, and re-expressed at the target's biases:
//!
//! | fitted key | rule | why |
//! |---|---|---|
//! | `*_comparator.width_a`, `*_comparator.hysteresis_a` | `x * I_th,target / I_th,fit` | the finite gain and the hysteresis of a current-mode WTA are fixed fractions of the currents it compares |
//! | `*_comparator.delay_on_s`, `delay_off_s` | `x * I_th,fit / I_th,target` | a sub-threshold slew delay is C U_T / I: the node is charged by currents of the order of the threshold |
//! | `*_comparator.charge_on_c`, `charge_off_c` | copied | a slew charge is the output node's capacitance times its switching swing, set by the layout and the supply; the sky130 comparators at 75 and 30 pA thresholds switch on after about the same charge (3.62 and 3.70 fC) (circuits/sky130/README.md) |
//! | `*_switch.tau_rise_s`, `tau_fall_s`, `tau_tail_s` | `x * I_on,fit / I_on,target` | the ULL switch's gate node slews with C U_T / I_on, same law |
//! | `*_switch.tail_fraction` | copied | a ratio of two currents of the same switch: bias-independent to first order |
//! | `capacitor.c_f` | `C_target * C_fit / C_nominal` | the fit measures an effective-to-nominal capacitance ratio (parasitics, Miller), not an absolute C |
//! | `dpi.tau_s` | `tau_target * tau_fit / tau_nominal` | tau = C U_T / (kappa I_tau): the target's I_tau is in its own tau, the fit contributes the DPI's C_eff / C_nominal |
//! | `late.tau_z_s` | `tau_z,target * tau_z,fit / tau_z,nominal` | the counter-oscillator's time constant is set by its bias current; the fit (Fig. 11(b)) measures how far the circuit's effective constant sits from its design value, and that ratio is what carries |
//! | `dpi.pulse_pre_s`, `pulse_post_s`, `dpi.delay_pre_s` | copied | set by the spike pulse extenders, whose biases no preset changes |
//! | `dpi.kappa_ratio` | copied | a ratio of the devices' subthreshold slope factors, not of bias currents |
//! | `dpi.cap_growth` | `x (I_g,target / I_g,fit)^m` | the gates' capacitance grows with the current i itself, `C_0 (1 + gamma (i/I_g)^m)`: the same C(i) at the target's I_g (m the calibration's slope ratio) |
//!
//! "Nominal" is the preset the fit (or the chain of fits) started from (`provenance.start`, followed through earlier
//! calibration files to a bias preset): the same bias point,
//! with ideal blocks and the nominal capacitances. Fitted **biases** (role `bias`: thresholds, jumps, tail currents)
//! are never carried over: the target's biases are the point of applying a calibration elsewhere. A fitted property
//! without a rule here is an error naming it, so a new fitted parameter cannot be copied silently in absolute units.

use crate::synapse::CircuitParams;
use serde::Serialize;

/// One fitted property carried to the target bias point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transferred {
    /// Dotted parameter key (e.g. `pot_comparator.width_a`).
    pub key: String,
    /// Value in the calibration file (at its own bias point).
    pub fitted: f64,
    /// Value applied at the target bias point.
    pub applied: f64,
    /// The scaling rule used (human-readable).
    pub rule: String,
}

/// Why a calibration cannot be carried to the target.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A fitted property has no scaling rule.
    #[error("calibration: fitted property `{0}` has no transfer rule (see src/params/transfer.rs); refusing to copy it in absolute units")]
    NoRule(String),
    /// A rule needs a bias that is zero at one of the two points.
    #[error("calibration: cannot scale `{key}`: {what} is zero")]
    ZeroBias { key: String, what: String },
}

/// How one key scales.
enum Rule {
    /// Multiply by target / fit of the bias at this key.
    Proportional(&'static str),
    /// Multiply by fit / target of the bias at this key.
    Inverse(&'static str),
    /// Multiply the target's own value by fit / nominal.
    NominalRatio,
    /// Same value.
    Copy,
    /// Multiply by (target / fit of the bias at the first key) to the power of the calibration's value at the
    /// second: a coefficient of `(i / bias)^m` that must keep its function of i.
    PowerOfRatio(&'static str, &'static str),
}

fn rule_of(key: &str) -> Option<Rule> {
    let (block, field) = key.split_once('.')?;
    Some(match (block, field) {
        ("pot_comparator", "width_a" | "hysteresis_a") => Rule::Proportional("pot_comparator.threshold_a"),
        ("dep_comparator", "width_a" | "hysteresis_a") => Rule::Proportional("dep_comparator.threshold_a"),
        ("pot_comparator", "delay_on_s" | "delay_off_s") => Rule::Inverse("pot_comparator.threshold_a"),
        ("dep_comparator", "delay_on_s" | "delay_off_s") => Rule::Inverse("dep_comparator.threshold_a"),
        ("pot_switch", "tau_rise_s" | "tau_fall_s" | "tau_tail_s") => Rule::Inverse("pot_switch.i_on_a"),
        ("dep_switch", "tau_rise_s" | "tau_fall_s" | "tau_tail_s") => Rule::Inverse("dep_switch.i_on_a"),
        ("pot_switch" | "dep_switch", "tail_fraction") => Rule::Copy,
        ("pot_comparator" | "dep_comparator", "charge_on_c" | "charge_off_c") => Rule::Copy,
        ("capacitor", "c_f") | ("dpi", "tau_s") | ("late", "tau_z_s") => Rule::NominalRatio,
        ("dpi", "pulse_pre_s" | "pulse_post_s" | "delay_pre_s" | "kappa_ratio") => Rule::Copy,
        ("dpi", "cap_growth") => Rule::PowerOfRatio("dpi.i_g_a", "dpi.kappa_ratio"),
        _ => return None,
    })
}

/// Carry the fitted properties `keys` of `cal` (fitted at its own biases, starting from `nominal`) onto `target`.
/// Returns what was applied, key by key; `target` is changed only if every key has a rule.
pub fn transfer(
    target: &mut CircuitParams,
    cal: &CircuitParams,
    nominal: &CircuitParams,
    keys: &[String],
) -> Result<Vec<Transferred>, TransferError> {
    let mut out = Vec::new();
    for key in keys {
        let get = |p: &CircuitParams, k: &str| p.get(k).ok_or_else(|| TransferError::NoRule(k.to_string()));
        let fitted = get(cal, key)?;
        let rule = rule_of(key).ok_or_else(|| TransferError::NoRule(key.clone()))?;
        let nonzero = |x: f64, what: String| {
            if x != 0.0 && x.is_finite() {
                Ok(x)
            } else {
                Err(TransferError::ZeroBias { key: key.clone(), what })
            }
        };
        let (applied, text) = match rule {
            Rule::Proportional(b) => {
                let (bf, bt) = (nonzero(get(cal, b)?, format!("{b} of the calibration"))?, get(target, b)?);
                (fitted * bt / bf, format!("relative to {b}: x {bt:.4e} / {bf:.4e}"))
            }
            Rule::Inverse(b) => {
                let (bf, bt) = (get(cal, b)?, nonzero(get(target, b)?, format!("{b} of the target"))?);
                (fitted * bf / bt, format!("C U_T / I with I = {b}: x {bf:.4e} / {bt:.4e}"))
            }
            Rule::NominalRatio => {
                let n = nonzero(get(nominal, key)?, format!("{key} of the nominal preset"))?;
                let t = get(target, key)?;
                (t * fitted / n, format!("ratio to nominal: target {t:.4e} x fit {fitted:.4e} / nominal {n:.4e}"))
            }
            Rule::Copy => (fitted, "copied (bias-independent)".to_string()),
            Rule::PowerOfRatio(b, e) => {
                let (bf, bt) = (nonzero(get(cal, b)?, format!("{b} of the calibration"))?, get(target, b)?);
                let m = get(cal, e)?;
                (fitted * (bt / bf).powf(m), format!("the same function of i: x ({b} {bt:.4e} / {bf:.4e})^{m:.4}"))
            }
        };
        out.push(Transferred { key: key.clone(), fitted, applied, rule: text });
    }
    for t in &out {
        target.set(&t.key, t.applied);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    fn cal() -> (CircuitParams, CircuitParams, Vec<String>) {
        let cal = params::load_circuit("fits/cadence-fig17.yaml").unwrap();
        let nominal = params::load_circuit("cadence-fig17").unwrap();
        let keys = params::fitted_properties(&cal);
        (cal, nominal, keys)
    }

    #[test]
    fn at_its_own_bias_point_the_calibration_is_reproduced() {
        let (cal, nominal, keys) = cal();
        let mut target = cal.clone();
        // Put nominal values in place of the properties; biases stay the calibration's.
        for k in &keys {
            target.set(k, nominal.get(k).unwrap());
        }
        let applied = transfer(&mut target, &cal, &nominal, &keys).unwrap();
        assert_eq!(applied.len(), keys.len());
        for k in &keys {
            let (a, b) = (target.get(k).unwrap(), cal.get(k).unwrap());
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-30), "{k}: {a} vs {b}");
        }
    }

    #[test]
    fn widths_scale_with_the_threshold_and_delays_against_it() {
        let (cal, nominal, keys) = cal();
        let mut target = params::load_circuit("thesis-network").unwrap();
        transfer(&mut target, &cal, &nominal, &keys).unwrap();
        let (tf, tt) = (cal.pot_comparator.threshold_a, target.pot_comparator.threshold_a);
        assert!((target.pot_comparator.width_a / tt - cal.pot_comparator.width_a / tf).abs() < 1e-12);
        assert!((target.pot_comparator.delay_on_s * tt - cal.pot_comparator.delay_on_s * tf).abs() < 1e-24);
        // The soft potentiation edge must stay above the depression threshold at the network's biases.
        assert!(tt - 0.5 * target.pot_comparator.width_a > target.dep_comparator.threshold_a);
        let ratio = cal.capacitor.c_f / nominal.capacitor.c_f;
        assert!((target.capacitor.c_f - 1.2215e-12 * ratio).abs() < 1e-24);
        let r = cal.dep_switch.i_on_a / target.dep_switch.i_on_a;
        assert!((target.dep_switch.tau_tail_s - cal.dep_switch.tau_tail_s * r).abs() < 1e-15);
        assert_eq!(target.dep_switch.tail_fraction, cal.dep_switch.tail_fraction);
        // Biases are untouched.
        assert_eq!(target.pot_switch.i_on_a, 50e-12);
    }

    /// A growing DPI capacitance keeps its function of the current at the target's I_g: C(i) / C_0 = 1 + gamma (i /
    /// I_g)^m is the same at every i before and after.
    #[test]
    fn a_growing_capacitance_keeps_its_function_of_the_current() {
        let (mut cal, nominal, _) = cal();
        cal.dpi.i_g_a = 15e-12;
        cal.dpi.kappa_ratio = 1.1;
        cal.dpi.cap_growth = 0.02;
        let mut target = params::load_circuit("thesis-network").unwrap();
        target.dpi.i_g_a = 31e-12;
        let keys = ["dpi.kappa_ratio".to_string(), "dpi.cap_growth".to_string()];
        transfer(&mut target, &cal, &nominal, &keys).unwrap();
        assert_eq!(target.dpi.kappa_ratio, 1.1);
        let growth = |p: &CircuitParams, i: f64| 1.0 + p.dpi.cap_growth * (i / p.dpi.i_g_a).powf(p.dpi.kappa_ratio);
        for i in [5e-12, 30e-12, 90e-12, 300e-12] {
            assert!((growth(&target, i) - growth(&cal, i)).abs() < 1e-12, "{i:e}");
        }
        assert!(target.dpi.cap_growth > 0.04, "{}", target.dpi.cap_growth);
    }

    #[test]
    fn a_fitted_property_without_a_rule_is_an_error() {
        let (cal, nominal, _) = cal();
        let mut target = params::load_circuit("thesis-network").unwrap();
        let before = target.clone();
        let e = transfer(&mut target, &cal, &nominal, &["tag.theta_tag_v".into(), "capacitor.c_f".into()]).unwrap_err();
        assert!(e.to_string().contains("tag.theta_tag_v"), "{e}");
        assert_eq!(target, before, "nothing applied on error");
    }

    #[test]
    fn a_chained_fit_takes_its_ratios_to_the_bias_preset_not_to_the_earlier_fit() {
        // fits/cadence.yaml started from fits/cadence-fig17.yaml, which started from the cadence-fig17 preset: the
        // effective capacitance ratio must be C_fit / 12.215 pF, not C_fit / (the earlier fit's C).
        let cal = params::load_circuit("fits/cadence.yaml").unwrap();
        let mut target = params::load_circuit("thesis-network").unwrap();
        let c0 = target.capacitor.c_f;
        let tau_z0 = target.late.tau_z_s;
        params::apply_calibration(&mut target, &cal).unwrap();
        let nominal = params::load_circuit("cadence-fig17").unwrap();
        let want = c0 * cal.capacitor.c_f / nominal.capacitor.c_f;
        assert!((target.capacitor.c_f - want).abs() < 1e-6 * want, "{} vs {want}", target.capacitor.c_f);
        let want = tau_z0 * cal.late.tau_z_s / nominal.late.tau_z_s;
        assert!((target.late.tau_z_s - want).abs() < 1e-9 * want);
    }
}
