//! The Luboeinski-Tetzlaff reference synapse (thesis Eqs. 2-5, Appendix C Table 2): the control model the circuit
//! synapse is compared with (thesis Fig. 9).
//!
//! ```text
//! dc/dt        = -c/tau_c + c_pre sum delta(t - t_pre - t_delay) + c_post sum delta(t - t_post)      (2)
//! tau_h dh/dt  = 0.1 (h0 - h) + gamma_p (h_max - h) [c > theta_p] - gamma_d h [c > theta_d]           (3)
//! tau_z dz/dt  = p (1 - z) [h - h0 > theta_tag] - p (z + 0.5) [h0 - h > theta_tag]                   (4)
//! p = alpha once |h - h0| > theta_pro (sticky)                                                         (5)
//! ```
//!
//! Integrated exactly: between spikes c decays exponentially and its threshold crossings are known in closed
//! form; between those instants Eq. 3 is linear with constant coefficients (an exact exponential towards its
//! fixed point), so recovery is **exponential** (time constant tau_h / 0.1), unlike the circuit's linear recovery.
//! The tag and Eq. 4 are evaluated on steps no longer than `max_step_s`. The thesis' Appendix B solved the same
//! equations with forward Euler on 1 ms steps. Total weight as in Appendix B: w = h + h0 z.

use serde::{Deserialize, Serialize};

use crate::blocks::{Checker, RangeError};

/// Reference-model parameters (a parameter file with `model: reference`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceParams {
    /// Always `reference`.
    pub model: String,
    /// Short name.
    #[serde(default)]
    pub name: String,
    /// What the set is.
    #[serde(default)]
    pub description: String,
    /// Calcium increment per presynaptic spike [mM] (Table 2: 0.6).
    pub c_pre_mm: f64,
    /// Calcium increment per postsynaptic spike [mM] (0.1655).
    pub c_post_mm: f64,
    /// Calcium time constant [s] (0.0488).
    pub tau_c_s: f64,
    /// Delay of the presynaptic calcium influx [s] (Table 2 leaves it out: 0).
    #[serde(default)]
    pub c_delay_s: f64,
    /// Early-phase time constant [s] (688.4).
    pub tau_h_s: f64,
    /// Potentiation rate gamma_p [1] (1645.6).
    pub gamma_p: f64,
    /// Depression rate gamma_d [1] (313.1).
    pub gamma_d: f64,
    /// Potentiation threshold theta_p [mM] (0.3).
    pub theta_p_mm: f64,
    /// Depression threshold theta_d [mM] (0.2).
    pub theta_d_mm: f64,
    /// Resting early-phase weight h0 [V] (4.20075e-3).
    pub h0_v: f64,
    /// Initial early-phase weight [V] (h0).
    pub h_init_v: f64,
    /// Maximum early-phase weight h_max [V] (10e-3).
    pub h_max_v: f64,
    /// Late-phase time constant tau_z [s] (3600).
    pub tau_z_s: f64,
    /// Initial late-phase weight [1].
    #[serde(default)]
    pub z_init: f64,
    /// Tag threshold theta_tag [V] (0.640149e-4).
    pub theta_tag_v: f64,
    /// Protein threshold theta_pro [V] (0.0023).
    pub theta_pro_v: f64,
    /// Protein availability alpha [1].
    pub alpha: f64,
    /// Acceleration factor dividing tau_h and tau_z [1].
    #[serde(default = "one")]
    pub accel: f64,
    /// Longest step for the tag and late phase [s].
    #[serde(default = "default_step")]
    pub max_step_s: f64,
    /// Free-form provenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_yaml::Value>,
}

fn one() -> f64 {
    1.0
}
fn default_step() -> f64 {
    1e-3
}

/// Sampled traces of the reference model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReferenceTrace {
    /// Sample times [s].
    pub t_s: Vec<f64>,
    /// Calcium concentration [mM].
    pub c_mm: Vec<f64>,
    /// Early-phase weight [V].
    pub h_v: Vec<f64>,
    /// Late-phase weight [1].
    pub z: Vec<f64>,
    /// Total weight h + h0 z [V].
    pub w_v: Vec<f64>,
}

impl ReferenceParams {
    /// Range violations (empty when valid).
    pub fn check(&self) -> Vec<RangeError> {
        let mut c = Checker::new("reference");
        for (k, v, u) in [
            ("c_pre_mm", self.c_pre_mm, "mM"),
            ("c_post_mm", self.c_post_mm, "mM"),
            ("gamma_p", self.gamma_p, ""),
            ("gamma_d", self.gamma_d, ""),
            ("c_delay_s", self.c_delay_s, "s"),
            ("alpha", self.alpha, ""),
            ("theta_pro_v", self.theta_pro_v, "V"),
        ] {
            c.non_negative(k, v, u);
        }
        for (k, v, u) in [
            ("tau_c_s", self.tau_c_s, "s"),
            ("tau_h_s", self.tau_h_s, "s"),
            ("tau_z_s", self.tau_z_s, "s"),
            ("theta_p_mm", self.theta_p_mm, "mM"),
            ("theta_d_mm", self.theta_d_mm, "mM"),
            ("h_max_v", self.h_max_v, "V"),
            ("theta_tag_v", self.theta_tag_v, "V"),
            ("accel", self.accel, ""),
            ("max_step_s", self.max_step_s, "s"),
        ] {
            c.positive(k, v, u);
        }
        c.within("h0_v", self.h0_v, 0.0, self.h_max_v, "V (between 0 and h_max_v)");
        c.within("h_init_v", self.h_init_v, 0.0, self.h_max_v, "V (between 0 and h_max_v)");
        c.within("z_init", self.z_init, -0.5, 1.0, "");
        c.errors
            .into_iter()
            .map(|mut e| {
                e.key = e.key.trim_start_matches("reference.").to_string();
                e
            })
            .collect()
    }

    /// Calcium kicks (time, increment) of the spike trains, sorted.
    fn kicks(&self, pre: &[f64], post: &[f64]) -> Vec<(f64, f64)> {
        let mut kicks: Vec<(f64, f64)> = pre.iter().map(|&t| (t + self.c_delay_s, self.c_pre_mm)).collect();
        kicks.extend(post.iter().map(|&t| (t, self.c_post_mm)));
        kicks.sort_by(|a, b| a.0.total_cmp(&b.0));
        kicks
    }

    /// End of the piece starting at `t` with calcium `c`: no later than `t1`, and no later than the decaying calcium's
    /// next threshold crossing, so Eq. 3's coefficients stay constant on the piece.
    fn piece_end(&self, c: f64, t: f64, mut t1: f64) -> f64 {
        for th in [self.theta_p_mm, self.theta_d_mm] {
            if c > th {
                t1 = t1.min(t + self.tau_c_s * (c / th).ln());
            }
        }
        if t1 <= t {
            t + 1e-12
        } else {
            t1
        }
    }

    /// Eq. 3 on a piece with calcium `c`: rate k [1/s] and fixed point h_inf [V] of `dh/dt = -k (h - h_inf)`.
    fn eq3(&self, c: f64, tau_h: f64) -> (f64, f64) {
        let pot = if c > self.theta_p_mm * (1.0 + 1e-12) { self.gamma_p } else { 0.0 };
        let dep = if c > self.theta_d_mm * (1.0 + 1e-12) { self.gamma_d } else { 0.0 };
        ((0.1 + pot + dep) / tau_h, (0.1 * self.h0_v + pot * self.h_max_v) / (0.1 + pot + dep))
    }

    /// The exact effect of a window of `t_end` seconds with these spike trains on the early-phase weight, starting
    /// from calcium at rest: Eq. 3 is affine in h on every piece, so the whole window is one affine map
    /// `h_end = a h_start + b`, shared by every synapse with the same trains (used by the network).
    pub fn window_map(&self, pre: &[f64], post: &[f64], t_end: f64) -> (f64, f64) {
        let kicks = self.kicks(pre, post);
        let tau_h = self.tau_h_s / self.accel;
        let (mut a, mut b) = (1.0f64, 0.0f64);
        let (mut c, mut t, mut next) = (0.0f64, 0.0f64, 0usize);
        while t < t_end {
            while next < kicks.len() && kicks[next].0 <= t {
                c += kicks[next].1;
                next += 1;
            }
            let t1 = self.piece_end(c, t, kicks.get(next).map(|k| k.0).unwrap_or(t_end).min(t_end));
            let dt = t1 - t;
            let (k, h_inf) = self.eq3(c, tau_h);
            let e = (-k * dt).exp();
            // h -> h_inf + (h - h_inf) e, composed after the map so far.
            a *= e;
            b = h_inf + (b - h_inf) * e;
            c *= (-dt / self.tau_c_s).exp();
            t = t1;
        }
        (a, b)
    }

    /// Simulate and sample every `dt_s` from 0 to `duration_s`.
    pub fn simulate(&self, pre: &[f64], post: &[f64], duration_s: f64, dt_s: f64) -> ReferenceTrace {
        let n = (duration_s / dt_s + 1e-9).floor() as usize;
        let times: Vec<f64> = (0..=n).map(|k| k as f64 * dt_s).collect();
        self.simulate_at(pre, post, &times)
    }

    /// Simulate and sample at the given sorted times.
    pub fn simulate_at(&self, pre: &[f64], post: &[f64], times: &[f64]) -> ReferenceTrace {
        let kicks = self.kicks(pre, post);
        let t_end = times.last().copied().unwrap_or(0.0);
        let tau_h = self.tau_h_s / self.accel;
        let tau_z = self.tau_z_s / self.accel;
        let (mut c, mut h, mut z, mut p) = (0.0f64, self.h_init_v, self.z_init, 0.0);
        let mut tr = ReferenceTrace::default();
        let (mut t, mut next_kick, mut next_sample) = (0.0f64, 0usize, 0usize);
        loop {
            while next_kick < kicks.len() && kicks[next_kick].0 <= t {
                c += kicks[next_kick].1;
                next_kick += 1;
            }
            while next_sample < times.len() && times[next_sample] <= t {
                tr.t_s.push(times[next_sample]);
                tr.c_mm.push(c);
                tr.h_v.push(h);
                tr.z.push(z);
                tr.w_v.push(h + self.h0_v * z);
                next_sample += 1;
            }
            if t >= t_end {
                break;
            }
            let mut t1 = t_end.min(t + self.max_step_s);
            if let Some(&(tk, _)) = kicks.get(next_kick) {
                t1 = t1.min(tk);
            }
            if let Some(&ts) = times.get(next_sample) {
                t1 = t1.min(ts);
            }
            let t1 = self.piece_end(c, t, t1);
            let dt = t1 - t;
            let (k, h_inf) = self.eq3(c, tau_h);
            let tag_up = h - self.h0_v > self.theta_tag_v;
            let tag_down = self.h0_v - h > self.theta_tag_v;
            if p > 0.0 && (tag_up || tag_down) {
                let bound = if tag_up { 1.0 } else { -0.5 };
                z = bound + (z - bound) * (-p * dt / tau_z).exp();
            }
            h = h_inf + (h - h_inf) * (-k * dt).exp();
            c *= (-dt / self.tau_c_s).exp();
            if p == 0.0 && (h - self.h0_v).abs() > self.theta_pro_v {
                p = self.alpha;
            }
            t = t1;
        }
        tr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    fn table2() -> ReferenceParams {
        params::load_reference("reference").unwrap()
    }

    #[test]
    fn window_map_equals_the_simulation() {
        let p = table2();
        let pre = [0.0, 0.025, 0.05];
        let post = [0.002, 0.027];
        let (a, b) = p.window_map(&pre, &post, 0.35);
        for h0 in [2e-3, p.h0_v, 8e-3] {
            let mut q = p.clone();
            q.h_init_v = h0;
            let tr = q.simulate_at(&pre, &post, &[0.35]);
            assert!((a * h0 + b - tr.h_v[0]).abs() < 1e-15, "h0 {h0}: {} vs {}", a * h0 + b, tr.h_v[0]);
        }
    }

    #[test]
    fn calcium_is_the_exact_exponential() {
        let p = table2();
        let tr = p.simulate(&[0.0], &[], 0.1, 0.01);
        for (t, c) in tr.t_s.iter().zip(&tr.c_mm) {
            assert!((c - 0.6 * (-t / 0.0488f64).exp()).abs() < 1e-12, "t={t}");
        }
    }

    #[test]
    fn recovery_is_exponential_in_the_reference_model() {
        let mut p = table2();
        p.h_init_v = 8e-3;
        p.accel = 100.0;
        let tr = p.simulate(&[], &[], 200.0, 1.0);
        let tau = p.tau_h_s / p.accel / 0.1;
        for (t, h) in tr.t_s.iter().zip(&tr.h_v) {
            let want = p.h0_v + (8e-3 - p.h0_v) * (-t / tau).exp();
            assert!((h - want).abs() < 1e-12, "t={t}: {h} vs {want}");
        }
    }

    #[test]
    fn pairing_potentiates_and_consolidates() {
        let mut p = table2();
        p.accel = 10.0;
        let pre: Vec<f64> = (0..20).map(|k| k as f64 * 0.01).collect();
        let post: Vec<f64> = pre.iter().map(|t| t + 0.001).collect();
        let tr = p.simulate(&pre, &post, 600.0, 0.1);
        let hmax = tr.h_v.iter().cloned().fold(0.0, f64::max);
        assert!(hmax > p.h0_v + p.theta_tag_v);
        assert!(*tr.z.last().unwrap() > 0.01);
        // No spikes: nothing moves.
        let tr = p.simulate(&[], &[], 10.0, 1.0);
        assert!(tr.h_v.iter().all(|&h| (h - p.h0_v).abs() < 1e-15) && tr.z.iter().all(|&z| z == 0.0));
    }
}
