//! Leaky integrate-and-fire output neurons (thesis Eq. 1), integrated exactly on a time grid.
//!
//! ```text
//! tau_m dV/dt = -V + V_rev + v_w * sum_j w_j sum_k exp(-(t - t_jk)/tau_syn) + R_m (I_bg + I_stim)
//! ```
//!
//! The synaptic term is a current-like trace s(t) that jumps by w_j at each input spike and decays with tau_syn;
//! `v_w` [V per unit weight] converts the dimensionless synaptic weight into Eq. 1's voltage term. Between grid
//! points the linear system (V, s) has an exact propagator, so the only approximation is that spikes are
//! detected on the grid. After a spike V is held at V_reset for the refractory period.
//!
//! Departures from the thesis code (Appendix A), and why: its threshold of 70 V with a reset of -70 mV only
//! worked because its training input was the bug `sum(pre) * sum(w)` (an outer product) instead of the weighted
//! sum; here the weighted sum is correct and the threshold is a physiological -50 mV. Its membrane resistance
//! of 10 MOhm lets a 1 nA teacher raise V by only 10 mV, too little to make the label neuron fire on its own; we
//! use 100 MOhm so the teacher dominates whatever the (signed) synaptic input, and a 10 ms refractory period keeps
//! the teacher-driven rate near 80 Hz, below the rate at which post spikes alone would stack calcium above the
//! potentiation threshold (post-only spikes must depress, thesis Fig. 14d).

use serde::{Deserialize, Serialize};

/// LIF parameters, SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifParams {
    /// Membrane time constant tau_m [s] (thesis 10 ms).
    pub tau_m_s: f64,
    /// Reversal (resting) potential [V] (thesis -65 mV).
    pub v_rev_v: f64,
    /// Reset potential [V] (thesis -70 mV).
    pub v_reset_v: f64,
    /// Spike threshold [V].
    pub v_th_v: f64,
    /// Membrane resistance R_m [Ohm].
    pub r_m_ohm: f64,
    /// Refractory period [s].
    pub t_ref_s: f64,
    /// Synaptic time constant tau_syn [s].
    pub tau_syn_s: f64,
    /// Voltage term per unit synaptic weight v_w [V].
    pub v_per_weight_v: f64,
    /// Constant background current I_bg of Eq. 1 [A], the same for every output neuron in training and test: it
    /// holds the membrane just below threshold so that the signed synaptic input decides which neuron fires.
    #[serde(default)]
    pub i_bg_a: f64,
}

impl Default for LifParams {
    fn default() -> Self {
        LifParams {
            tau_m_s: 0.010,
            v_rev_v: -0.065,
            v_reset_v: -0.070,
            v_th_v: -0.050,
            r_m_ohm: 100e6,
            t_ref_s: 10e-3,
            tau_syn_s: 5e-3,
            v_per_weight_v: 1.0,
            i_bg_a: 0.145e-9,
        }
    }
}

/// Precomputed exact one-step propagator of (V, s) for a grid step dt.
#[derive(Clone, Copy, Debug)]
pub struct Propagator {
    em: f64,
    es: f64,
    k: f64,
}

impl LifParams {
    /// Propagator for step `dt`.
    pub fn propagator(&self, dt: f64) -> Propagator {
        let em = (-dt / self.tau_m_s).exp();
        let es = (-dt / self.tau_syn_s).exp();
        // V response to s(0) = 1 after dt: tau_s/(tau_s - tau_m) (e^{-dt/tau_s} - e^{-dt/tau_m}) (times v_w).
        let k = if (self.tau_syn_s - self.tau_m_s).abs() < 1e-15 {
            dt / self.tau_m_s * em
        } else {
            self.tau_syn_s / (self.tau_syn_s - self.tau_m_s) * (es - em)
        };
        Propagator { em, es, k }
    }
}

impl Propagator {
    /// Advance (v, s) by one step towards the equilibrium `e` [V] = V_rev + R_m I_stim; returns new (v, s).
    #[inline]
    pub fn step(&self, v: f64, s: f64, e: f64, v_w: f64) -> (f64, f64) {
        (e + (v - e) * self.em + v_w * s * self.k, s * self.es)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagator_is_exact_for_the_linear_system() {
        let p = LifParams::default();
        let dt = 1e-4;
        let prop = p.propagator(dt);
        let (mut v, mut s) = (-0.065, 2.0);
        for _ in 0..200 {
            (v, s) = prop.step(v, s, -0.065, 0.01);
        }
        let t = 200.0 * dt;
        let want = -0.065
            + 0.01 * 2.0 * p.tau_syn_s / (p.tau_syn_s - p.tau_m_s)
                * ((-t / p.tau_syn_s).exp() - (-t / p.tau_m_s).exp());
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
        assert!((s - 2.0 * (-t / p.tau_syn_s).exp()).abs() < 1e-12);
    }

    #[test]
    fn teacher_alone_drives_the_neuron_above_threshold() {
        let p = LifParams::default();
        assert!(p.v_rev_v + p.r_m_ohm * 1e-9 > p.v_th_v);
        assert!(p.v_rev_v - p.r_m_ohm * 1e-9 < p.v_reset_v);
    }
}
