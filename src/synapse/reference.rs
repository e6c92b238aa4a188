//! The Luboeinski-Tetzlaff reference synapse (thesis Eqs. 2-5; Luboeinski & Tetzlaff 2021, code
//! jlubo/memory-consolidation-stc `simulation-code/Network.cpp`): the control model the circuit synapse is compared
//! with (thesis Fig. 9, Fig. 11(d)).
//!
//! ```text
//! dc/dt        = -c/tau_c + c_pre sum delta(t - t_pre - t_delay) + c_post sum delta(t - t_post)      (2)
//! tau_h dh/dt  = 0.1 K (h0 - h) + gamma_p (h_max - h) [c > theta_p] - gamma_d h [c > theta_d]         (3)
//! tau_z dz/dt  = K p (1 - z) [h - h0 > theta_tag] - K p (z + 0.5) [h0 - h > theta_tag]                 (4)
//! tau_p dp/dt  = K (-p + alpha [|h - h0| > theta_pro])                                                   (5)
//! ```
//!
//! Eq. 5 is L&T's protein synthesis (Network.cpp, `pa_c = pa_c * exp(-dt/(tau_pc * 3600.)) + alpha_c *
//! step(sum_h_diff[m] - theta_pro_c) * (1. - exp(...))`, tau_pc = 1 h): proteins are made while the early-phase
//! change exceeds theta_pro and decay with tau_p afterwards. The thesis' Eq. 5 instead switches p to alpha for
//! ever; with it the late phase saturates near 200 %. For one synapse L&T's sum over the neuron's synapses of
//! |h - h0| is this synapse's |h - h0|.
//!
//! **Acceleration K** (`accel`) speeds up the slow processes only, as in the circuit (whose `accel` multiplies the
//! capacitor's recovery currents and divides the late phase's tau_z): the early-phase recovery term, the late phase
//! and protein synthesis. Induction (the calcium-driven potentiation and depression terms of Eq. 3) runs at its
//! natural speed, so the early-phase peak after a stimulus does not depend on K.
//!
//! **Exact, event-driven integration.** Between calcium kicks c decays exponentially and its threshold crossings are
//! known in closed form; between those instants Eq. 3 is linear with constant coefficients, so h relaxes
//! exponentially (monotonically) towards a fixed point and its crossings of h0 +- theta_tag and h0 +- theta_pro are
//! closed form too. Between all these instants the tag and the protein source are constant, so p is an exact
//! exponential and Eq. 4 integrates exactly through the integral of p. A 100 s or 8 h protocol costs a few
//! operations per spike and per output sample, whatever its length. Total weight as in Appendix B: w = h + h0 z.

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
    /// Calcium increment per presynaptic spike [mM].
    pub c_pre_mm: f64,
    /// Calcium increment per postsynaptic spike [mM].
    pub c_post_mm: f64,
    /// Calcium time constant [s].
    pub tau_c_s: f64,
    /// Delay of the presynaptic calcium influx [s].
    #[serde(default)]
    pub c_delay_s: f64,
    /// Early-phase time constant tau_h [s].
    pub tau_h_s: f64,
    /// Potentiation rate gamma_p [1].
    pub gamma_p: f64,
    /// Depression rate gamma_d [1].
    pub gamma_d: f64,
    /// Potentiation threshold theta_p [mM].
    pub theta_p_mm: f64,
    /// Depression threshold theta_d [mM].
    pub theta_d_mm: f64,
    /// Resting early-phase weight h0 [V].
    pub h0_v: f64,
    /// Initial early-phase weight [V].
    pub h_init_v: f64,
    /// Maximum early-phase weight h_max [V].
    pub h_max_v: f64,
    /// Late-phase time constant tau_z [s].
    pub tau_z_s: f64,
    /// Initial late-phase weight [1].
    #[serde(default)]
    pub z_init: f64,
    /// Tag threshold theta_tag on |h - h0| [V].
    pub theta_tag_v: f64,
    /// Protein-synthesis threshold theta_pro on |h - h0| [V].
    pub theta_pro_v: f64,
    /// Protein synthesis rate alpha [1]: the protein level approached during synthesis.
    pub alpha: f64,
    /// Protein time constant tau_p [s] (L&T: 1 h).
    pub tau_p_s: f64,
    /// Acceleration K of the slow processes (recovery, late phase, protein) [1]; see the module documentation.
    #[serde(default = "one")]
    pub accel: f64,
    /// Free-form provenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_yaml::Value>,
}

fn one() -> f64 {
    1.0
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
    /// Protein amount [1].
    pub p: Vec<f64>,
    /// Total weight h + h0 z [V].
    pub w_v: Vec<f64>,
}

/// The state of one synapse.
#[derive(Clone, Copy, Debug, PartialEq)]
struct State {
    c: f64,
    h: f64,
    z: f64,
    p: f64,
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
            ("tau_p_s", self.tau_p_s, "s"),
            ("theta_p_mm", self.theta_p_mm, "mM"),
            ("theta_d_mm", self.theta_d_mm, "mM"),
            ("h_max_v", self.h_max_v, "V"),
            ("theta_tag_v", self.theta_tag_v, "V"),
            ("accel", self.accel, ""),
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
    /// Only the recovery term is accelerated.
    fn eq3(&self, c: f64) -> (f64, f64) {
        let pot = if c > self.theta_p_mm * (1.0 + 1e-12) { self.gamma_p } else { 0.0 };
        let dep = if c > self.theta_d_mm * (1.0 + 1e-12) { self.gamma_d } else { 0.0 };
        let rec = 0.1 * self.accel;
        ((rec + pot + dep) / self.tau_h_s, (rec * self.h0_v + pot * self.h_max_v) / (rec + pot + dep))
    }

    /// The exact effect of a window of `t_end` seconds with these spike trains on the early-phase weight, starting
    /// from calcium at rest: Eq. 3 is affine in h on every piece, so the whole window is one affine map
    /// `h_end = a h_start + b`, shared by every synapse with the same trains (used by the network).
    pub fn window_map(&self, pre: &[f64], post: &[f64], t_end: f64) -> (f64, f64) {
        let kicks = self.kicks(pre, post);
        let (mut a, mut b) = (1.0f64, 0.0f64);
        let (mut c, mut t, mut next) = (0.0f64, 0.0f64, 0usize);
        while t < t_end {
            while next < kicks.len() && kicks[next].0 <= t {
                c += kicks[next].1;
                next += 1;
            }
            let t1 = self.piece_end(c, t, kicks.get(next).map(|k| k.0).unwrap_or(t_end).min(t_end));
            let dt = t1 - t;
            let (k, h_inf) = self.eq3(c);
            let e = (-k * dt).exp();
            // h -> h_inf + (h - h_inf) e, composed after the map so far.
            a *= e;
            b = h_inf + (b - h_inf) * e;
            c *= (-dt / self.tau_c_s).exp();
            t = t1;
        }
        (a, b)
    }

    /// Advance the state by `dt` on a piece of constant calcium regime (Eq. 3 coefficients `k`, `h_inf`), exactly:
    /// the piece is cut where h crosses a tag or protein threshold, and on each part the tag and the protein source
    /// are constant, so p and z have closed forms.
    fn advance(&self, s: &mut State, dt: f64, k: f64, h_inf: f64) {
        let h_start = s.h;
        let h_at = |tau: f64| h_inf + (h_start - h_inf) * (-k * tau).exp();
        let mut cuts = [dt; 5];
        let levels = [
            self.h0_v + self.theta_tag_v,
            self.h0_v - self.theta_tag_v,
            self.h0_v + self.theta_pro_v,
            self.h0_v - self.theta_pro_v,
        ];
        for (cut, level) in cuts.iter_mut().zip(levels) {
            // h is monotone from h_start towards h_inf: it crosses `level` once if the level lies strictly between.
            let ratio = (level - h_inf) / (h_start - h_inf);
            if ratio > 0.0 && ratio < 1.0 {
                *cut = (-ratio.ln() / k).min(dt);
            }
        }
        cuts.sort_by(f64::total_cmp);
        let (tau_p, tau_z) = (self.tau_p_s / self.accel, self.tau_z_s / self.accel);
        let mut from = 0.0;
        for &to in &cuts {
            let span = to - from;
            if span <= 0.0 {
                continue;
            }
            let dh = h_at(0.5 * (from + to)) - self.h0_v;
            let source = if dh.abs() > self.theta_pro_v { self.alpha } else { 0.0 };
            let decay = (-span / tau_p).exp();
            // Integral of p over the part, then p at its end.
            let p_int = source * span + (s.p - source) * tau_p * (1.0 - decay);
            s.p = source + (s.p - source) * decay;
            if dh > self.theta_tag_v {
                s.z = 1.0 + (s.z - 1.0) * (-p_int / tau_z).exp();
            } else if -dh > self.theta_tag_v {
                s.z = -0.5 + (s.z + 0.5) * (-p_int / tau_z).exp();
            }
            from = to;
        }
        s.h = h_at(dt);
        s.c *= (-dt / self.tau_c_s).exp();
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
        let mut s = State { c: 0.0, h: self.h_init_v, z: self.z_init, p: 0.0 };
        let mut tr = ReferenceTrace::default();
        let (mut t, mut next_kick, mut next_sample) = (0.0f64, 0usize, 0usize);
        loop {
            while next_kick < kicks.len() && kicks[next_kick].0 <= t {
                s.c += kicks[next_kick].1;
                next_kick += 1;
            }
            while next_sample < times.len() && times[next_sample] <= t {
                tr.t_s.push(times[next_sample]);
                tr.c_mm.push(s.c);
                tr.h_v.push(s.h);
                tr.z.push(s.z);
                tr.p.push(s.p);
                tr.w_v.push(s.h + self.h0_v * s.z);
                next_sample += 1;
            }
            if t >= t_end {
                break;
            }
            let mut t1 = t_end;
            if let Some(&(tk, _)) = kicks.get(next_kick) {
                t1 = t1.min(tk);
            }
            if let Some(&ts) = times.get(next_sample) {
                t1 = t1.min(ts);
            }
            let t1 = self.piece_end(s.c, t, t1);
            let (k, h_inf) = self.eq3(s.c);
            self.advance(&mut s, t1 - t, k, h_inf);
            t = t1;
        }
        tr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;
    use crate::protocol::Protocol;

    fn table2() -> ReferenceParams {
        params::load_reference("reference").unwrap()
    }

    fn lt() -> ReferenceParams {
        params::load_reference("luboeinski-tetzlaff").unwrap()
    }

    fn pairing(rate_hz: f64, duration_s: f64) -> (Vec<f64>, Vec<f64>) {
        let pre = crate::stimulus::regular(rate_hz, 0.0, duration_s);
        let post = pre.iter().map(|t| t + 0.001).collect();
        (pre, post)
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

    /// `accel` must not speed up induction: the early-phase change at the end of a 0.2 s 100 Hz pairing is the same
    /// at K = 1 and K = 32 up to the (accelerated) recovery during those 0.2 s, 0.1 K / tau_h = 0.5 %/s of the change.
    #[test]
    fn accel_speeds_up_recovery_and_late_phase_but_not_induction() {
        let (pre, post) = pairing(100.0, 0.2);
        let dh = |k: f64| {
            let mut p = table2();
            p.accel = k;
            p.simulate_at(&pre, &post, &[0.2]).h_v[0] - p.h0_v
        };
        let (d1, d32) = (dh(1.0), dh(32.0));
        assert!(d1 > 1e-3, "pairing potentiates: {d1}");
        assert!((d32 - d1).abs() < 0.005 * d1, "EPW change at K = 32: {d32} vs K = 1: {d1}");
        // The slow processes: recovery after the stimulus (and its calcium tail) takes 1/K of the time.
        let mut p = table2();
        let slow = p.simulate_at(&pre, &post, &[1.0, 1.0 + 3200.0]);
        p.accel = 32.0;
        let fast = p.simulate_at(&pre, &post, &[1.0, 1.0 + 100.0]);
        let ratio = |tr: &ReferenceTrace| (tr.h_v[1] - p.h0_v) / (tr.h_v[0] - p.h0_v);
        assert!((ratio(&slow) - ratio(&fast)).abs() < 1e-9, "{} vs {}", ratio(&slow), ratio(&fast));
    }

    /// Independent forward-Euler integration of Eqs. 2-5 (its own code, 10 us steps) against the exact event-driven
    /// solution, on a protocol that crosses every threshold: tag, protein synthesis on and off, late phase.
    #[test]
    fn event_driven_solution_matches_fine_forward_euler() {
        let mut p = table2();
        p.accel = 200.0; // tau_p, tau_z 18 s; recovery tau 34 s: the whole story in 60 s
        let (pre, post) = pairing(100.0, 1.0);
        let samples = [0.05, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 60.0];
        let exact = p.simulate_at(&pre, &post, &samples);
        // Forward Euler, written out from the equations.
        let dt = 1e-5;
        let mut kicks: Vec<(f64, f64)> =
            pre.iter().map(|&t| (t, 0.6)).chain(post.iter().map(|&t| (t, 0.1655))).collect();
        kicks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut c, mut h, mut z, mut pr) = (0.0f64, p.h0_v, 0.0f64, 0.0f64);
        let (mut k, mut next) = (0usize, 0usize);
        let mut got = Vec::new();
        loop {
            let t = k as f64 * dt;
            while next < kicks.len() && kicks[next].0 <= t + 0.5 * dt {
                c += kicks[next].1;
                next += 1;
            }
            if got.len() < samples.len() && t >= samples[got.len()] - 0.5 * dt {
                got.push((h, z, pr));
                if got.len() == samples.len() {
                    break;
                }
            }
            let ltp = if c > 0.3 { 1.0 } else { 0.0 };
            let ltd = if c > 0.2 { 1.0 } else { 0.0 };
            let dh = (0.1 * p.accel * (p.h0_v - h) + 1645.6 * (10e-3 - h) * ltp - 313.1 * h * ltd) / 688.4;
            let dev = h - p.h0_v;
            let dp = p.accel * (-pr + if dev.abs() > p.theta_pro_v { 1.0 } else { 0.0 }) / 3600.0;
            let dz = p.accel
                * pr
                * ((1.0 - z) * if dev > p.theta_tag_v { 1.0 } else { 0.0 }
                    - (z + 0.5) * if -dev > p.theta_tag_v { 1.0 } else { 0.0 })
                / 3600.0;
            c -= c / 0.0488 * dt;
            h += dh * dt;
            pr += dp * dt;
            z += dz * dt;
            k += 1;
        }
        for (i, &(h, z, pr)) in got.iter().enumerate() {
            let t = samples[i];
            assert!((h - exact.h_v[i]).abs() < 2e-3 * p.h0_v, "t={t}: h Euler {h} exact {}", exact.h_v[i]);
            assert!((z - exact.z[i]).abs() < 2e-3, "t={t}: z Euler {z} exact {}", exact.z[i]);
            assert!((pr - exact.p[i]).abs() < 2e-3, "t={t}: p Euler {pr} exact {}", exact.p[i]);
        }
        // The protocol did exercise the late phase and protein decay.
        assert!(exact.z[samples.len() - 1] > 0.05 && exact.p.iter().cloned().fold(0.0, f64::max) > 0.2);
    }

    /// After synthesis stops (|h - h0| < theta_pro) the protein decays with exactly tau_p / K.
    #[test]
    fn protein_decays_with_its_time_constant() {
        let mut p = table2();
        p.accel = 10.0;
        let (pre, post) = pairing(100.0, 1.0);
        let tr = p.simulate(&pre, &post, 3000.0, 10.0);
        let last_synth = tr.h_v.iter().rposition(|h| (h - p.h0_v).abs() > p.theta_pro_v).unwrap();
        let (i, j) = (last_synth + 2, last_synth + 50);
        let want = (-(tr.t_s[j] - tr.t_s[i]) / (p.tau_p_s / p.accel)).exp();
        assert!((tr.p[j] / tr.p[i] - want).abs() < 1e-12, "{} vs {want}", tr.p[j] / tr.p[i]);
        assert!(tr.p[i] > 0.1);
    }

    #[test]
    fn no_spikes_nothing_moves() {
        let p = table2();
        let tr = p.simulate(&[], &[], 10.0, 1.0);
        assert!(tr.h_v.iter().all(|&h| (h - p.h0_v).abs() < 1e-15) && tr.z.iter().all(|&z| z == 0.0));
        assert!(tr.p.iter().all(|&x| x == 0.0));
    }

    fn run(protocol: &str, times: &[f64]) -> (ReferenceParams, ReferenceTrace) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols").join(protocol);
        let s = Protocol::load(&path).unwrap().spikes();
        let p = lt();
        let tr = p.simulate_at(&s.pre, &s.post, times);
        (p, tr)
    }

    /// Luboeinski & Tetzlaff's strong tetanisation (protocols/stet.yaml, 3 x 1 s at 100 Hz, 10 min apart) with their
    /// constants: early-phase potentiation, a tag, protein synthesis, and a late phase that consolidates the change
    /// over hours: at 8 h the early phase has decayed and the weight is carried by z.
    #[test]
    fn stet_consolidates_into_the_late_phase() {
        let times: Vec<f64> = (0..=480).map(|k| k as f64 * 60.0).chain([1.0, 601.0, 1201.0]).collect();
        let mut times = times;
        times.sort_by(f64::total_cmp);
        let (p, tr) = run("stet.yaml", &times);
        let at = |t: f64| tr.t_s.iter().position(|&x| x == t).unwrap();
        let pct = |i: usize| (100.0 * tr.h_v[i] / p.h0_v, 100.0 * (1.0 + tr.z[i]));
        let (epw1, _) = pct(at(1.0));
        let (epw3, _) = pct(at(1201.0));
        let p_max = tr.p.iter().cloned().fold(0.0, f64::max);
        let (epw8h, lpw8h) = pct(at(28800.0));
        eprintln!("STET: EPW after train 1 {epw1:.1} %, after train 3 {epw3:.1} %, p_max {p_max:.3}, 8 h: EPW {epw8h:.1} % LPW {lpw8h:.1} %");
        assert!(epw3 > 100.0 + 100.0 * p.theta_pro_v / p.h0_v, "protein synthesis threshold reached: {epw3}");
        assert!(p_max > 0.5, "{p_max}");
        assert!(epw8h < 110.0, "early phase back near rest after 8 h: {epw8h}");
        assert!(lpw8h > 150.0, "late phase consolidated: {lpw8h}");
        assert!(tr.z.windows(2).all(|w| w[1] >= w[0] - 1e-15), "z only grows");
    }

    /// Weak tetanisation (protocols/wtet.yaml, 0.2 s at 100 Hz): early-phase potentiation with a tag, but not
    /// enough change for protein synthesis, so no late phase; the early phase decays back.
    #[test]
    fn wtet_gives_an_early_phase_only() {
        let times: Vec<f64> = [0.2, 0.3].into_iter().chain((1..=480).map(|k| k as f64 * 60.0)).collect();
        let (p, tr) = run("wtet.yaml", &times);
        let epw_peak = 100.0 * tr.h_v.iter().cloned().fold(0.0, f64::max) / p.h0_v;
        eprintln!(
            "WTET: EPW peak {epw_peak:.1} %, p_max {}, z at 8 h {}",
            tr.p.iter().cloned().fold(0.0, f64::max),
            tr.z.last().unwrap()
        );
        assert!(epw_peak > 100.0 + 100.0 * p.theta_tag_v / p.h0_v, "tagged: {epw_peak}");
        assert!(epw_peak < 100.0 + 100.0 * p.theta_pro_v / p.h0_v, "below protein synthesis: {epw_peak}");
        assert!(tr.p.iter().all(|&x| x == 0.0) && tr.z.iter().all(|&z| z == 0.0));
        assert!((tr.h_v.last().unwrap() / p.h0_v - 1.0).abs() < 0.02);
    }
}
