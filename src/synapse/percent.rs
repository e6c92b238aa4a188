//! Weights in per cent of the resting weight, as the thesis plots them (Fig. 11: EPW, LPW and total weight, all at
//! 100 % at rest), for both synapse models.
//!
//! Both models write the total weight as an early part plus the late phase in units of the resting early-phase
//! weight: circuit `w = beta v_h + beta V_H0 z` (src/blocks/weight.rs), reference `w = h + h0 z`. With the resting
//! weight `w_rest = beta V_H0` (or `h0`):
//!
//! ```text
//! EPW%   = 100 * v_h / V_H0              (reference: 100 * h / h0)
//! LPW%   = 100 * (1 + z)                 (the late-phase term w_rest z, plus the 100 % of the resting weight)
//! total% = EPW% + LPW% - 100 = 100 * w / w_rest
//! ```
//!
//! so a potentiated early phase (v_h above V_H0) and a late phase at z = 1 each add 100 points; z = -0.5 removes 50.

use super::{CircuitParams, CircuitTrace, ReferenceParams, ReferenceTrace};

/// EPW, LPW and total weight in per cent of the resting weight, one value per trace sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightPercent {
    /// Early-phase weight [%]: 100 v_h / V_H0 (reference: 100 h / h0).
    pub epw_pct: Vec<f64>,
    /// Late-phase weight [%]: 100 (1 + z).
    pub lpw_pct: Vec<f64>,
    /// Total weight [%]: EPW + LPW - 100 = 100 w / w_rest.
    pub total_pct: Vec<f64>,
}

impl WeightPercent {
    /// From the early-phase variable relative to its resting value and the late-phase variable z.
    fn new(early_over_rest: impl Iterator<Item = f64>, z: &[f64]) -> Self {
        let epw_pct: Vec<f64> = early_over_rest.map(|x| 100.0 * x).collect();
        let lpw_pct: Vec<f64> = z.iter().map(|z| 100.0 * (1.0 + z)).collect();
        let total_pct = epw_pct.iter().zip(&lpw_pct).map(|(e, l)| e + l - 100.0).collect();
        WeightPercent { epw_pct, lpw_pct, total_pct }
    }

    /// The circuit model's trace: rest is V_H0.
    pub fn circuit(p: &CircuitParams, tr: &CircuitTrace) -> Self {
        let v_h0 = p.capacitor.v_h0_v;
        WeightPercent::new(tr.v_h_v.iter().map(|v| v / v_h0), &tr.z)
    }

    /// The reference model's trace: rest is h0.
    pub fn reference(p: &ReferenceParams, tr: &ReferenceTrace) -> Self {
        WeightPercent::new(tr.h_v.iter().map(|h| h / p.h0_v), &tr.z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;
    use crate::synapse::Spikes;

    #[test]
    fn circuit_total_is_the_weight_relative_to_rest() {
        let mut p = params::load_circuit("thesis-fig9").unwrap();
        p.capacitor.accel = 32.0;
        p.late.accel = 32.0;
        let pre: Vec<f64> = crate::stimulus::regular(100.0, 0.0, 0.2);
        let s = Spikes { post: pre.clone(), pre };
        let tr = p.simulate(&s, 30.0, 0.01);
        let pct = WeightPercent::circuit(&p, &tr);
        let w_rest = p.weight.total(p.capacitor.v_h0_v, p.capacitor.v_h0_v, 0.0);
        for k in 0..tr.t_s.len() {
            assert!((pct.total_pct[k] - 100.0 * tr.w[k] / w_rest).abs() < 1e-9, "sample {k}");
        }
        assert_eq!((pct.epw_pct[0], pct.lpw_pct[0], pct.total_pct[0]), (100.0, 100.0, 100.0), "all 100 % at rest");
        assert!(pct.epw_pct.iter().cloned().fold(0.0, f64::max) > 110.0, "the pairing potentiates");
    }

    #[test]
    fn reference_total_is_the_weight_relative_to_rest() {
        let mut p = params::load_reference("reference").unwrap();
        p.accel = 32.0;
        let pre: Vec<f64> = crate::stimulus::regular(100.0, 0.0, 1.0);
        let tr = p.simulate(&pre, &pre, 300.0, 1.0);
        let pct = WeightPercent::reference(&p, &tr);
        for k in 0..tr.t_s.len() {
            assert!((pct.total_pct[k] - 100.0 * tr.w_v[k] / p.h0_v).abs() < 1e-9, "sample {k}");
            assert!((pct.lpw_pct[k] - 100.0 * (1.0 + tr.z[k])).abs() < 1e-12);
        }
        assert!(*pct.lpw_pct.last().unwrap() > 100.0, "the late phase rose");
    }
}
