//! Total synaptic weight.
//!
//! Thesis (Appendix A code, Table 1): `w = beta * v_h + beta * V_H0 * z`. The early phase contributes in
//! proportion to the capacitor voltage, the late phase in units of the resting early-phase weight beta*V_H0:
//! at rest (v_h = V_H0, z = 0) w = beta V_H0, and z = 1 doubles it. beta [1/V] maps volts to the dimensionless
//! weight the network uses (4.6675e-3 in the thesis, chosen there to match the reference model's scale).

use super::{Checker, Fields};
use serde::{Deserialize, Serialize};

/// Weight mapping parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightParams {
    /// Scale beta [1/V].
    pub beta_per_v: f64,
}

impl WeightParams {
    /// Total weight for an early-phase voltage v_h [V], reference V_H0 [V] and late-phase weight z.
    pub fn total(&self, v_h: f64, v_h0: f64, z: f64) -> f64 {
        self.beta_per_v * (v_h + v_h0 * z)
    }
    /// Range checks.
    pub fn check(&self, c: &mut Checker) {
        c.positive("beta_per_v", self.beta_per_v, "1/V");
    }
}

impl Fields for WeightParams {
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![("beta_per_v", &mut self.beta_per_v)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thesis_weight_formula() {
        let w = WeightParams { beta_per_v: 4.6675e-3 };
        assert!((w.total(0.9, 0.9, 0.0) - 4.6675e-3 * 0.9).abs() < 1e-15);
        assert!((w.total(0.9, 0.9, 1.0) - 2.0 * 4.6675e-3 * 0.9).abs() < 1e-15);
        assert!((w.total(1.0, 0.9, -0.5) - 4.6675e-3 * (1.0 - 0.45)).abs() < 1e-15);
    }
}
