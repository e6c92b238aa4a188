//! Differential-pair integrator (DPI): the calcium current i_ca.
//!
//! Thesis Eq. 6 is the linear DPI, `tau di/dt = -i + (I_TH/I_TAU)(i_pre + i_post + I_INDC)`. The published DPI
//! (Bartolozzi & Indiveri 2007) has a non-linear factor that matters when i is not much larger than the
//! non-linearity current I_g:
//!
//! ```text
//! tau (1 + I_g/i) di/dt = -(i + I_g) + (I_TH/I_TAU) I_in,       I_in = I_INDC + i_pre(t) + i_post(t)
//! ```
//!
//! With `I_g = 0` this is Eq. 6 exactly. With `I_g > 0` the decay slows as i falls, as the Cadence trace shows
//! (apparent tau ~5.4 ms near 70 pA, ~7 ms near 20 pA). Spikes are rectangular current pulses of finite width, so
//! the input is piecewise constant and each constant piece is integrated **exactly**: for a constant input the
//! ODE separates, with `i_inf = gain I_in - I_g` and `a = I_g`,
//!
//! ```text
//! F(i) = (1 + a/i_inf) ln|i - i_inf| - (a/i_inf) ln i,      F(i(t)) = F(i(0)) - t/tau
//! ```
//!
//! which is inverted by a safeguarded Newton iteration (linear case: the plain exponential). Threshold crossing
//! times follow from the same closed form, `t = tau (F(i0) - F(level))`.
//!
//! A spike's pulse is parameterised by its *jump*, the increment it gives in the short-pulse linear limit
//! (`jump = gain * amplitude * width / tau`, the Euler-form increment of the thesis code), and its width; the
//! amplitude follows. A presynaptic spike may also be delayed (`t_c,delay` of thesis Eq. 2).

use super::{Checker, Fields};
use serde::{Deserialize, Serialize};

/// DPI parameters, SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, from = "DpiFile")]
pub struct DpiParams {
    /// DPI time constant tau_DPI [s] (thesis: 4.88 ms).
    pub tau_s: f64,
    /// Gain-setting bias current I_TH [A].
    pub i_th_a: f64,
    /// Time-constant bias current I_TAU [A]; gain = I_TH / I_TAU.
    pub i_tau_a: f64,
    /// DC input current I_INDC [A]; sets the resting calcium current gain*I_INDC - I_g.
    pub i_indc_a: f64,
    /// Non-linearity current I_g [A]; 0 gives the linear thesis Eq. 6. Absent from a file: I_TH, as in the
    /// published DPI (Bartolozzi & Indiveri 2007), where the non-linearity current is the gain bias itself.
    pub i_g_a: f64,
    /// Calcium current at t = 0 [A] (thesis ica_0).
    pub i_init_a: f64,
    /// Increment of i_ca per presynaptic spike in the short-pulse linear limit [A] (thesis delta_capre).
    pub jump_pre_a: f64,
    /// Increment of i_ca per postsynaptic spike in the short-pulse linear limit [A] (thesis delta_capost).
    pub jump_post_a: f64,
    /// Width of the presynaptic input pulse [s].
    pub pulse_pre_s: f64,
    /// Width of the postsynaptic input pulse [s].
    pub pulse_post_s: f64,
    /// Delay of the presynaptic calcium influx after the spike [s] (t_c,delay, thesis Eq. 2).
    #[serde(default)]
    pub delay_pre_s: f64,
}

/// [`DpiParams`] as written in a file: `i_g_a` may be absent (then I_TH).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DpiFile {
    tau_s: f64,
    i_th_a: f64,
    i_tau_a: f64,
    i_indc_a: f64,
    #[serde(default)]
    i_g_a: Option<f64>,
    i_init_a: f64,
    jump_pre_a: f64,
    jump_post_a: f64,
    pulse_pre_s: f64,
    pulse_post_s: f64,
    #[serde(default)]
    delay_pre_s: f64,
}

impl From<DpiFile> for DpiParams {
    fn from(f: DpiFile) -> Self {
        DpiParams {
            tau_s: f.tau_s,
            i_th_a: f.i_th_a,
            i_tau_a: f.i_tau_a,
            i_indc_a: f.i_indc_a,
            i_g_a: f.i_g_a.unwrap_or(f.i_th_a),
            i_init_a: f.i_init_a,
            jump_pre_a: f.jump_pre_a,
            jump_post_a: f.jump_post_a,
            pulse_pre_s: f.pulse_pre_s,
            pulse_post_s: f.pulse_post_s,
            delay_pre_s: f.delay_pre_s,
        }
    }
}

impl DpiParams {
    /// DPI gain I_TH / I_TAU [1].
    pub fn gain(&self) -> f64 {
        self.i_th_a / self.i_tau_a
    }
    /// Equilibrium current for a constant input I_in [A]: `gain * I_in - I_g`.
    pub fn i_inf(&self, i_in: f64) -> f64 {
        self.gain() * i_in - self.i_g_a
    }
    /// Resting calcium current with no spikes [A].
    pub fn i_rest(&self) -> f64 {
        self.i_inf(self.i_indc_a)
    }
    /// Amplitude of the presynaptic input pulse [A] that gives `jump_pre_a` in the short-pulse linear limit.
    pub fn amplitude_pre(&self) -> f64 {
        self.jump_pre_a * self.tau_s / (self.gain() * self.pulse_pre_s)
    }
    /// Amplitude of the postsynaptic input pulse [A].
    pub fn amplitude_post(&self) -> f64 {
        self.jump_post_a * self.tau_s / (self.gain() * self.pulse_post_s)
    }

    /// Range checks: time constants and currents positive, resting current positive.
    pub fn check(&self, c: &mut Checker) {
        c.positive("tau_s", self.tau_s, "s");
        c.positive("i_th_a", self.i_th_a, "A");
        c.positive("i_tau_a", self.i_tau_a, "A");
        c.positive("i_indc_a", self.i_indc_a, "A");
        c.non_negative("i_g_a", self.i_g_a, "A");
        c.positive("i_init_a", self.i_init_a, "A");
        c.non_negative("jump_pre_a", self.jump_pre_a, "A");
        c.non_negative("jump_post_a", self.jump_post_a, "A");
        c.positive("pulse_pre_s", self.pulse_pre_s, "s");
        c.positive("pulse_post_s", self.pulse_post_s, "s");
        c.non_negative("delay_pre_s", self.delay_pre_s, "s");
        if self.i_th_a > 0.0 && self.i_tau_a > 0.0 && self.i_rest() <= 0.0 {
            c.errors.push(super::RangeError {
                key: "dpi.i_g_a".into(),
                value: self.i_g_a,
                expected: format!(
                    "< gain * i_indc_a = {:e} A (the resting current must stay positive)",
                    self.gain() * self.i_indc_a
                ),
            });
        }
    }

    /// Advance the calcium current exactly by `t` seconds under a constant input current `i_in` [A].
    pub fn evolve(&self, i0: f64, i_in: f64, t: f64) -> f64 {
        evolve(self.tau_s, self.i_g_a, self.i_inf(i_in), i0, t)
    }

    /// Time [s] at which the current, starting at `i0` under constant input `i_in`, reaches `level`;
    /// `None` if it never does (level not strictly between i0 and the equilibrium).
    pub fn crossing_time(&self, i0: f64, i_in: f64, level: f64) -> Option<f64> {
        crossing_time(self.tau_s, self.i_g_a, self.i_inf(i_in), i0, level)
    }
}

impl Fields for DpiParams {
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("tau_s", &mut self.tau_s),
            ("i_th_a", &mut self.i_th_a),
            ("i_tau_a", &mut self.i_tau_a),
            ("i_indc_a", &mut self.i_indc_a),
            ("i_g_a", &mut self.i_g_a),
            ("i_init_a", &mut self.i_init_a),
            ("jump_pre_a", &mut self.jump_pre_a),
            ("jump_post_a", &mut self.jump_post_a),
            ("pulse_pre_s", &mut self.pulse_pre_s),
            ("pulse_post_s", &mut self.pulse_post_s),
            ("delay_pre_s", &mut self.delay_pre_s),
        ]
    }
}

/// The separated-variable potential F(i) of the non-linear DPI (see the module docs); F decreases by t/tau.
fn potential(a: f64, i_inf: f64, i: f64) -> f64 {
    let k = a / i_inf;
    (1.0 + k) * (i - i_inf).abs().ln() - k * i.ln()
}

/// Exact solution of `tau (1 + a/i) di/dt = -(i - i_inf)` after time `t`, starting from `i0 > 0`, `i_inf > 0`.
pub fn evolve(tau: f64, a: f64, i_inf: f64, i0: f64, t: f64) -> f64 {
    let d0 = i0 - i_inf;
    if t <= 0.0 || d0 == 0.0 {
        return i0;
    }
    if a == 0.0 {
        return i_inf + d0 * (-t / tau).exp();
    }
    // i = i_inf + s e^u, F(u) = (1 + k) u - k ln(i_inf + s e^u), dF/du = 1 + a/i, target F(u0) - t/tau.
    let s = d0.signum();
    let k = a / i_inf;
    let u0 = d0.abs().ln();
    let target = potential(a, i_inf, i0) - t / tau;
    let f = |u: f64| (1.0 + k) * u - k * (i_inf + s * u.exp()).ln();
    // u decreases with time; bracket [lo, u0]. For s < 0, i = i_inf - e^u > 0 needs u < ln(i_inf).
    let mut hi = u0;
    let mut lo = u0 - t / tau; // dF/du >= 1, so F(u0 - t/tau) <= F(u0) - t/tau: a lower bracket.
    let mut u = u0 - t / tau / (1.0 + a / i0.min(i_inf).max(1e-300));
    if u < lo {
        u = lo;
    }
    for _ in 0..60 {
        let i = i_inf + s * u.exp();
        let g = f(u) - target;
        if g.abs() < 1e-13 * (1.0 + target.abs()) {
            break;
        }
        if g > 0.0 {
            hi = u;
        } else {
            lo = u;
        }
        let step = g / (1.0 + a / i.max(1e-300));
        let mut next = u - step;
        if !next.is_finite() || next <= lo || next >= hi {
            next = 0.5 * (lo + hi);
        }
        if (next - u).abs() < 1e-15 * (1.0 + u.abs()) {
            u = next;
            break;
        }
        u = next;
    }
    i_inf + s * u.exp()
}

/// Exact integral of the solution over `[0, t]`, given its value `i_t` at `t` (from [`evolve`]): from
/// `(i - i_inf) dt = -tau (1 + a/i) di`, it is `i_inf t - tau [(i_t - i0) + a ln(i_t / i0)]` [A s].
pub fn integral(tau: f64, a: f64, i_inf: f64, i0: f64, i_t: f64, t: f64) -> f64 {
    let log = if a == 0.0 { 0.0 } else { a * (i_t / i0).ln() };
    i_inf * t - tau * ((i_t - i0) + log)
}

/// Time for the exact solution to go from `i0` to `level`, or `None` if `level` is not strictly between them.
pub fn crossing_time(tau: f64, a: f64, i_inf: f64, i0: f64, level: f64) -> Option<f64> {
    let between = (i0 < level && level < i_inf) || (i_inf < level && level < i0);
    if !between || level <= 0.0 {
        return None;
    }
    if a == 0.0 {
        return Some(tau * ((i0 - i_inf) / (level - i_inf)).ln());
    }
    Some(tau * (potential(a, i_inf, i0) - potential(a, i_inf, level)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thesis() -> DpiParams {
        DpiParams {
            tau_s: 4.88e-3,
            i_th_a: 10e-12,
            i_tau_a: 20e-12,
            i_indc_a: 25e-12,
            i_g_a: 0.0,
            i_init_a: 17e-12,
            jump_pre_a: 60e-12,
            jump_post_a: 15e-12,
            pulse_pre_s: 1e-6,
            pulse_post_s: 1e-6,
            delay_pre_s: 0.0,
        }
    }

    #[test]
    fn linear_decay_is_the_closed_form_exponential() {
        let p = thesis();
        let i_rest = p.i_rest();
        assert!((i_rest - 12.5e-12).abs() < 1e-24);
        for &t in &[1e-4, 1e-3, 4.88e-3, 2e-2] {
            let got = p.evolve(70e-12, p.i_indc_a, t);
            let want = i_rest + (70e-12 - i_rest) * (-t / 4.88e-3f64).exp();
            assert!((got - want).abs() < 1e-12 * want, "t={t}: {got} vs {want}");
        }
    }

    #[test]
    fn short_pulse_gives_the_euler_jump() {
        // A 1 us pulse of the derived amplitude raises i_ca by jump * (1 - O(width/tau)).
        let p = thesis();
        let i0 = p.i_rest();
        let during = p.evolve(i0, p.i_indc_a + p.amplitude_pre(), p.pulse_pre_s);
        let jump = during - i0;
        assert!((jump - 60e-12).abs() < 60e-12 * 2e-4, "jump {jump:e}");
    }

    #[test]
    fn nonlinear_solution_satisfies_the_ode_and_slows_at_low_current() {
        let mut p = thesis();
        p.i_g_a = 8e-12;
        let i_inf = p.i_rest();
        // Check the ODE by a central difference of the exact solution.
        for &t in &[1e-4, 2e-3, 1e-2] {
            let h = 1e-7;
            let i = p.evolve(70e-12, p.i_indc_a, t);
            let di = (p.evolve(70e-12, p.i_indc_a, t + h) - p.evolve(70e-12, p.i_indc_a, t - h)) / (2.0 * h);
            let rhs = -(i - i_inf) / (p.tau_s * (1.0 + p.i_g_a / i));
            assert!((di - rhs).abs() < 1e-6 * rhs.abs(), "t={t}: {di:e} vs {rhs:e}");
        }
        // Apparent time constant |i - i_inf| / |di/dt| = tau (1 + I_g/i): larger at lower current.
        let tau_app = |i: f64| p.tau_s * (1.0 + p.i_g_a / i);
        assert!(tau_app(20e-12) > tau_app(70e-12));
        // Rising towards a large equilibrium from below also stays consistent (composition property).
        let a = p.evolve(20e-12, 200e-12, 3e-4);
        let b = p.evolve(p.evolve(20e-12, 200e-12, 1e-4), 200e-12, 2e-4);
        assert!((a - b).abs() < 1e-10 * a);
    }

    #[test]
    fn i_g_defaults_to_i_th_and_an_explicit_value_stays() {
        let text = "tau_s: 5e-3\ni_th_a: 1e-11\ni_tau_a: 2e-11\ni_indc_a: 3e-11\ni_init_a: 1e-11\njump_pre_a: 5e-11\n\
                    jump_post_a: 1e-11\npulse_pre_s: 1e-4\npulse_post_s: 1e-4\n";
        let p: DpiParams = serde_yaml::from_str(text).unwrap();
        assert_eq!(p.i_g_a, 1e-11);
        let p: DpiParams = serde_yaml::from_str(&format!("{text}i_g_a: 0.0\n")).unwrap();
        assert_eq!(p.i_g_a, 0.0);
        assert!(serde_yaml::from_str::<DpiParams>(&format!("{text}i_gg_a: 0.0\n")).is_err());
    }

    #[test]
    fn crossing_time_inverts_evolve() {
        for &ig in &[0.0, 5e-12] {
            let mut p = thesis();
            p.i_g_a = ig;
            let t = p.crossing_time(73e-12, p.i_indc_a, 39.5e-12).unwrap();
            let i = p.evolve(73e-12, p.i_indc_a, t);
            assert!((i - 39.5e-12).abs() < 1e-9 * 39.5e-12, "I_g={ig}: {i:e}");
            assert!(p.crossing_time(73e-12, p.i_indc_a, 80e-12).is_none());
            assert!(p.crossing_time(73e-12, p.i_indc_a, 1e-12).is_none(), "never goes below rest");
        }
    }
}
