//! Ultra-low-leakage (ULL) switches that gate the potentiation and depression currents i_hp and i_hd onto the
//! early-phase capacitor (Navarro Quijada 2024; thesis Fig. 8 and section 4).
//!
//! The thesis model switches between I_TAIL (on) and I_TAIL_low (off) at once. In Cadence the currents rise and
//! fall with time constants and leave a slow tail (depression ~11 pA fading over ~5 ms, potentiation ~44 pA
//! with a ~1 pA tail). The behavioural switch here is a two-component first-order lag from the comparator output
//! `o in [0, 1]` to the current:
//!
//! ```text
//! i(t) = i_off + (i_on - i_off) [ (1 - f_tail) x_fast(t) + f_tail x_tail(t) ]
//! dx_k/dt = (o - x_k) / tau_k,   tau_k = tau_rise while x_k < o, else tau_fall (fast) / tau_tail (slow)
//! ```
//!
//! `i_off` is the leakage floor (fA). Both lags are advanced exactly between events (piecewise-constant `o`),
//! and their time integrals (the charge delivered to the capacitor) are exact too. An extra onset delay of the
//! switch itself is indistinguishable from the comparator delays and is therefore modelled there.

use super::{Checker, Fields};
use serde::{Deserialize, Serialize};

/// ULL switch parameters, SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UllParams {
    /// Current when fully on [A] (I_TAILP / I_TAILD).
    pub i_on_a: f64,
    /// Leakage floor when off [A] (I_TAILP_low / I_TAILD_low).
    pub i_off_a: f64,
    /// Rise time constant [s] (0 = instant).
    #[serde(default)]
    pub tau_rise_s: f64,
    /// Fast fall time constant [s] (0 = instant).
    #[serde(default)]
    pub tau_fall_s: f64,
    /// Fraction of the on-current carried by the slow tail [1].
    #[serde(default)]
    pub tail_fraction: f64,
    /// Time constant of the slow tail [s] (used when tail_fraction > 0).
    #[serde(default = "default_tail")]
    pub tau_tail_s: f64,
    /// How the on-current moves with the hold-node voltage: `[v_h_v, factor]` pairs, v_h [V] ascending, factor
    /// [1] of `i_on_a - i_off_a` at that v_h; linear between pairs, the end factors beyond them. Empty (the
    /// default): a constant current. A current source's output characteristic: the sky130 depression switch
    /// carries 5.6 pA at v_h 0.65 V and 6.3 pA above 1.3 V (`scripts/hold_node.py` measures it). The synapse
    /// applies it to the charge it puts on the capacitor at the step's v_h; the switch's own charge and current
    /// stay those at factor 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_factor_vs_v_h: Vec<[f64; 2]>,
}

fn default_tail() -> f64 {
    1e-3
}

/// State of one ULL switch: the two lag variables in [0, 1].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UllState {
    /// Fast component.
    pub fast: f64,
    /// Slow tail component.
    pub tail: f64,
}

impl UllParams {
    /// The factor of the on-current at hold-node voltage `v` [V] (`on_factor_vs_v_h`; 1 without a table).
    pub fn on_factor(&self, v: f64) -> f64 {
        let t = &self.on_factor_vs_v_h;
        let Some(first) = t.first() else { return 1.0 };
        if v <= first[0] {
            return first[1];
        }
        for w in t.windows(2) {
            let ([v0, f0], [v1, f1]) = (w[0], w[1]);
            if v <= v1 {
                return f0 + (f1 - f0) * (v - v0) / (v1 - v0);
            }
        }
        t[t.len() - 1][1]
    }

    /// The charge `q` [C] the switch delivered over `dt` [s] at factor 1 (its [`UllParams::advance`]), as the
    /// hold node at `v` [V] receives it: the leakage floor `i_off_a dt` as it is, the rest times
    /// [`UllParams::on_factor`]. `q` itself without a table (the same bits).
    #[inline]
    pub fn charge_at(&self, q: f64, dt: f64, v: f64) -> f64 {
        if self.on_factor_vs_v_h.is_empty() {
            return q;
        }
        let floor = self.i_off_a * dt;
        floor + (q - floor) * self.on_factor(v)
    }

    /// The switch's current in state `s` [A] as the hold node at `v` [V] receives it: the current of
    /// [`UllParams::charge_at`] (the leakage floor as it is, the rest times [`UllParams::on_factor`]); the
    /// switch's own current without a table.
    #[inline]
    pub fn current_at(&self, s: &UllState, v: f64) -> f64 {
        // The charge of one second at this current (i_off_a * 1.0 is i_off_a: the same bits).
        self.charge_at(self.current(s), 1.0, v)
    }

    /// An ideal switch between `i_off_a` and `i_on_a`.
    pub fn ideal(i_on_a: f64, i_off_a: f64) -> Self {
        UllParams {
            i_on_a,
            i_off_a,
            tau_rise_s: 0.0,
            tau_fall_s: 0.0,
            tail_fraction: 0.0,
            tau_tail_s: default_tail(),
            on_factor_vs_v_h: Vec::new(),
        }
    }

    /// Output current [A] for a state.
    pub fn current(&self, s: &UllState) -> f64 {
        let x = (1.0 - self.tail_fraction) * s.fast + self.tail_fraction * s.tail;
        self.i_off_a + (self.i_on_a - self.i_off_a) * x
    }

    /// Advance by `dt` with constant comparator output `o`; returns the new state and the charge delivered
    /// `integral of i dt` [C] over the interval, both exact.
    pub fn advance(&self, s: &UllState, o: f64, dt: f64) -> (UllState, f64) {
        let (fast, int_fast) = lag(s.fast, o, dt, if o >= s.fast { self.tau_rise_s } else { self.tau_fall_s });
        let (tail, int_tail) = lag(s.tail, o, dt, if o >= s.tail { self.tau_rise_s } else { self.tau_tail_s });
        let int_x = (1.0 - self.tail_fraction) * int_fast + self.tail_fraction * int_tail;
        let q = self.i_off_a * dt + (self.i_on_a - self.i_off_a) * int_x;
        (UllState { fast, tail }, q)
    }

    /// Range checks.
    pub fn check(&self, c: &mut Checker) {
        c.positive("i_on_a", self.i_on_a, "A");
        c.non_negative("i_off_a", self.i_off_a, "A");
        for (k, &[v, f]) in self.on_factor_vs_v_h.iter().enumerate() {
            c.within(&format!("on_factor_vs_v_h[{k}][1]"), f, 1e-3, 1e3, "(a factor of the on-current, > 0)");
            let before = if k > 0 { self.on_factor_vs_v_h[k - 1][0] } else { f64::NEG_INFINITY };
            c.ascending(&format!("on_factor_vs_v_h[{k}][0]"), v, before, "V");
        }
        c.non_negative("tau_rise_s", self.tau_rise_s, "s");
        c.non_negative("tau_fall_s", self.tau_fall_s, "s");
        c.within("tail_fraction", self.tail_fraction, 0.0, 1.0, "");
        c.positive("tau_tail_s", self.tau_tail_s, "s");
    }
}

/// Exact first-order lag `dx/dt = (o - x)/tau` over `dt`; returns (x(dt), integral of x over [0, dt]).
fn lag(x0: f64, o: f64, dt: f64, tau: f64) -> (f64, f64) {
    if tau <= 0.0 {
        return (o, o * dt);
    }
    let e = (-dt / tau).exp();
    let x = o + (x0 - o) * e;
    (x, o * dt + (x0 - o) * tau * (1.0 - e))
}

impl Fields for UllParams {
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("i_on_a", &mut self.i_on_a),
            ("i_off_a", &mut self.i_off_a),
            ("tau_rise_s", &mut self.tau_rise_s),
            ("tau_fall_s", &mut self.tau_fall_s),
            ("tail_fraction", &mut self.tail_fraction),
            ("tau_tail_s", &mut self.tau_tail_s),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_decays_with_its_time_constant() {
        let p = UllParams {
            i_on_a: 10e-12,
            i_off_a: 1e-15,
            tau_rise_s: 1e-4,
            tau_fall_s: 2e-3,
            tail_fraction: 0.0,
            tau_tail_s: 1e-3,
            on_factor_vs_v_h: Vec::new(),
        };
        let on = UllState { fast: 1.0, tail: 1.0 };
        // After one fall time constant the excess current is 1/e of its start.
        let (s, _) = p.advance(&on, 0.0, 2e-3);
        let excess = (p.current(&s) - p.i_off_a) / (p.i_on_a - p.i_off_a);
        assert!((excess - (-1.0f64).exp()).abs() < 1e-12);
        // Rising uses the rise constant.
        let (s, _) = p.advance(&UllState::default(), 1.0, 1e-4);
        assert!((s.fast - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
    }

    /// The on-current's factor against v_h: linear between the pairs, the end factors beyond them; the leakage
    /// floor is not scaled; without a table the charge is returned to the bit; out-of-order pairs are refused.
    #[test]
    fn on_factor_interpolates_and_scales_the_on_part_only() {
        let mut p = UllParams::ideal(6e-12, 1e-15);
        assert_eq!(p.on_factor(0.3), 1.0);
        assert_eq!(p.charge_at(1.234e-15, 1e-3, 0.7).to_bits(), 1.234e-15f64.to_bits());
        p.on_factor_vs_v_h = vec![[0.7, 0.96], [1.3, 1.08]];
        assert_eq!(p.on_factor(0.2), 0.96);
        assert_eq!(p.on_factor(1.7), 1.08);
        assert!((p.on_factor(1.0) - 1.02).abs() < 1e-15);
        // 1 ms fully on: floor 1e-18 C plus (6e-12 - 1e-15) x 1e-3 scaled by the factor.
        let q = 6e-12 * 1e-3;
        let want = 1e-15 * 1e-3 + (q - 1e-15 * 1e-3) * 1.02;
        assert!((p.charge_at(q, 1e-3, 1.0) - want).abs() < 1e-30);
        let mut c = Checker::new("dep_switch");
        p.check(&mut c);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        p.on_factor_vs_v_h = vec![[0.7, 0.96], [0.7, 1.08], [1.0, 0.0]];
        let mut c = Checker::new("dep_switch");
        p.check(&mut c);
        let keys: Vec<_> = c.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["dep_switch.on_factor_vs_v_h[1][0]", "dep_switch.on_factor_vs_v_h[2][1]"]);
    }

    #[test]
    fn charge_is_the_exact_integral() {
        let p = UllParams {
            i_on_a: 44e-12,
            i_off_a: 1.2e-15,
            tau_rise_s: 1e-4,
            tau_fall_s: 3e-4,
            tail_fraction: 0.05,
            tau_tail_s: 4e-3,
            on_factor_vs_v_h: Vec::new(),
        };
        let s0 = UllState { fast: 1.0, tail: 1.0 };
        let (_, q) = p.advance(&s0, 0.0, 5e-3);
        // Fine Riemann sum of the current.
        let n = 200_000;
        let h = 5e-3 / n as f64;
        let mut s = s0;
        let mut sum = 0.0;
        for _ in 0..n {
            let (s1, _) = p.advance(&s, 0.0, h);
            sum += 0.5 * (p.current(&s) + p.current(&s1)) * h;
            s = s1;
        }
        assert!((q - sum).abs() < 1e-7 * q, "{q:e} vs {sum:e}");
        // Closed form: i_off dt + (i_on - i_off)[(1-f) tau_f (1-e^-dt/tau_f) + f tau_t (1-e^-dt/tau_t)]
        let f = 0.05;
        let want = 1.2e-15 * 5e-3
            + (44e-12 - 1.2e-15)
                * ((1.0 - f) * 3e-4 * (1.0 - (-5e-3f64 / 3e-4).exp()) + f * 4e-3 * (1.0 - (-5e-3f64 / 4e-3).exp()));
        assert!((q - want).abs() < 1e-12 * want);
    }

    #[test]
    fn ideal_switch_is_instant() {
        let p = UllParams::ideal(50e-12, 1.2e-15);
        let (s, q) = p.advance(&UllState::default(), 1.0, 1e-3);
        assert_eq!(p.current(&s), 50e-12);
        assert!((q - 50e-12 * 1e-3).abs() < 1e-27);
    }
}
