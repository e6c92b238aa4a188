//! Profile-likelihood intervals: how far one fitted parameter can move before the data object, when every other
//! free parameter is allowed to re-adjust.
//!
//! Why beside the linearised intervals of [`super::stats`]: a comparator delay or a tail current acts through
//! thresholds and rails, so the cost is far from quadratic in it; the Jacobian's interval can be much too narrow
//! on one side and meaningless on the other. The profile makes no such assumption.
//!
//! For parameter k, fixed at values stepped away from the best fit (geometrically growing steps, both sides,
//! within its bounds), the other parameters are re-optimised (argmin's Nelder-Mead, from the previous profile
//! point). The 95 % interval ends where the profiled cost crosses
//! `chi2_min (1 + F(0.95; 1, n - p) / (n - p))`, the likelihood-ratio criterion for least squares with the noise
//! scale estimated from the fit (as R's `confint.nls`); for a linear model it equals the t-interval exactly (the
//! test below checks that). A side that reaches its bound without crossing is open: the data do not bound the
//! parameter there.

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use serde::Serialize;

/// One side's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The profiled cost crosses the threshold here (interpolated between the last two profile points).
    Limit(f64),
    /// The parameter's bound was reached without crossing: the data do not limit it on this side.
    OpenAtBound(f64),
}

/// A parameter's profile and interval.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    /// Parameter key.
    pub name: String,
    /// Best-fit value.
    pub value: f64,
    /// Lower end of the 95 % profile interval.
    pub lower: Side,
    /// Upper end.
    pub upper: Side,
    /// Profile points (fixed value, re-optimised cost), sorted by value, the best fit included.
    pub points: Vec<(f64, f64)>,
    /// Cost threshold that defines the interval.
    pub threshold: f64,
    /// Cost evaluations this profile made.
    pub evaluations: u64,
}

/// Settings of [`profile`].
#[derive(Clone, Copy, Debug)]
pub struct ProfileOptions {
    /// First step away from the best fit, relative to the parameter's bound span.
    pub first_step_rel: f64,
    /// Step growth factor.
    pub growth: f64,
    /// Maximum profile points per side.
    pub max_points: usize,
    /// Nelder-Mead iterations per profile point.
    pub iterations: u64,
    /// Bisection steps on the crossing, once bracketed.
    pub refine: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions { first_step_rel: 0.005, growth: 2.0, max_points: 10, iterations: 150, refine: 6 }
    }
}

/// The cost threshold of a 95 % profile interval: `chi2_min (1 + F(0.95; 1, dof) / dof)` (`None` for dof = 0).
pub fn threshold(chi2_min: f64, dof: usize) -> Option<f64> {
    use statrs::distribution::{ContinuousCDF, FisherSnedecor};
    let f = FisherSnedecor::new(1.0, dof as f64).ok()?.inverse_cdf(0.95);
    f.is_finite().then(|| chi2_min * (1.0 + f / dof as f64))
}

/// The cost with parameter `k` held at `fixed`, as a function of the others in scaled coordinates
/// (`x_j = centre_j + scale_j u_j`).
#[derive(Clone)]
struct Conditional<'a> {
    cost: &'a (dyn Fn(&[f64]) -> f64 + Sync),
    k: usize,
    fixed: f64,
    centre: Vec<f64>,
    scale: Vec<f64>,
    lower: &'a [f64],
    upper: &'a [f64],
}

impl Conditional<'_> {
    fn full(&self, u: &[f64]) -> Vec<f64> {
        let mut x = Vec::with_capacity(self.centre.len() + 1);
        let mut it = u.iter();
        for j in 0..=self.centre.len() {
            if j == self.k {
                x.push(self.fixed);
            } else {
                let i = if j < self.k { j } else { j - 1 };
                let v = self.centre[i] + self.scale[i] * it.next().copied().unwrap_or(0.0);
                x.push(v.clamp(self.lower[j], self.upper[j]));
            }
        }
        x
    }
}

impl CostFunction for Conditional<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> Result<f64, Error> {
        Ok((self.cost)(&self.full(u)))
    }
}

/// Profile parameter `k` of a least-squares cost (`cost` = sum of squared residuals) around its minimum `best`,
/// with `n_data` residuals. `(lower, upper)` are the parameters' bounds (finite). Every cost evaluation goes
/// through `cost`, so a counting closure counts them.
pub fn profile(
    cost: &(dyn Fn(&[f64]) -> f64 + Sync),
    name: &str,
    best: &[f64],
    k: usize,
    (lower, upper): (&[f64], &[f64]),
    n_data: usize,
    opts: &ProfileOptions,
) -> Option<Profile> {
    let p = best.len();
    let chi2_min = cost(best);
    let thr = threshold(chi2_min, n_data.checked_sub(p).filter(|&d| d > 0)?)?;
    let span = upper[k] - lower[k];
    let mut evaluations = 1u64;
    let mut points = vec![(best[k], chi2_min)];
    let mut sides = [Side::OpenAtBound(lower[k]), Side::OpenAtBound(upper[k])];
    for (s, dir) in [(0usize, -1.0f64), (1, 1.0)] {
        let bound = if dir < 0.0 { lower[k] } else { upper[k] };
        let mut others: Vec<f64> = best.iter().enumerate().filter(|&(j, _)| j != k).map(|(_, &v)| v).collect();
        let mut prev = (best[k], chi2_min);
        let mut step = opts.first_step_rel * span;
        for _ in 0..opts.max_points {
            let mut v = prev.0 + dir * step;
            let last = (v - bound) * dir >= 0.0;
            if last {
                v = bound;
            }
            let (c, x, n) = reoptimise(cost, k, v, &others, lower, upper, opts.iterations);
            evaluations += n;
            points.push((v, c));
            if c >= thr {
                // Bisect between the last point inside and this one (re-optimising at each), then interpolate.
                let (mut inside, mut outside) = (prev, (v, c));
                for _ in 0..opts.refine {
                    let m = 0.5 * (inside.0 + outside.0);
                    let (cm, xm, n) = reoptimise(cost, k, m, &others, lower, upper, opts.iterations);
                    evaluations += n;
                    points.push((m, cm));
                    if cm >= thr {
                        outside = (m, cm);
                    } else {
                        inside = (m, cm);
                        others = xm;
                    }
                }
                let f = (thr - inside.1) / (outside.1 - inside.1);
                sides[s] = Side::Limit(inside.0 + f.clamp(0.0, 1.0) * (outside.0 - inside.0));
                break;
            }
            prev = (v, c);
            others = x;
            if last {
                break;
            }
            step *= opts.growth;
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(Profile {
        name: name.to_string(),
        value: best[k],
        lower: sides[0],
        upper: sides[1],
        points,
        threshold: thr,
        evaluations,
    })
}

/// Minimise over the other parameters with parameter `k` held at `fixed`, from `others`. Returns the cost, the
/// others at the minimum and the evaluations made.
fn reoptimise(
    cost: &(dyn Fn(&[f64]) -> f64 + Sync),
    k: usize,
    fixed: f64,
    others: &[f64],
    lower: &[f64],
    upper: &[f64],
    iterations: u64,
) -> (f64, Vec<f64>, u64) {
    let n = std::sync::atomic::AtomicU64::new(0);
    let counted = |x: &[f64]| {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cost(x)
    };
    let scale: Vec<f64> = (0..lower.len())
        .filter(|&j| j != k)
        .zip(others)
        .map(|(j, &v)| (0.02 * v.abs()).max(1e-3 * (upper[j] - lower[j])).max(f64::MIN_POSITIVE))
        .collect();
    let problem = Conditional { cost: &counted, k, fixed, centre: others.to_vec(), scale, lower, upper };
    let start_cost = problem.cost(&vec![0.0; others.len()]).unwrap_or(f64::INFINITY);
    if others.is_empty() {
        return (start_cost, Vec::new(), n.into_inner());
    }
    let mut simplex = vec![vec![0.0; others.len()]];
    for i in 0..others.len() {
        let mut u = vec![0.0; others.len()];
        u[i] = 1.0;
        simplex.push(u);
    }
    let best: Option<(f64, Vec<f64>)> = NelderMead::new(simplex)
        .with_sd_tolerance(1e-14)
        .and_then(|nm| Executor::new(problem.clone(), nm).configure(|s| s.max_iters(iterations)).run())
        .ok()
        .and_then(|r| r.state().get_best_param().cloned().map(|u| (r.state().get_best_cost(), u)));
    let (c, x) = match best {
        Some((c, u)) if c < start_cost => (c, problem.full(&u)),
        _ => (start_cost, problem.full(&vec![0.0; others.len()])),
    };
    let others = x.iter().enumerate().filter(|&(j, _)| j != k).map(|(_, &v)| v).collect();
    (c, others, n.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = a + b x with fixed pseudo-noise: the profile interval of a linear model is the t-interval exactly.
    #[test]
    fn linear_model_profile_equals_the_t_interval() {
        let xs: Vec<f64> = (0..30).map(|i| i as f64 / 3.0).collect();
        let noise = |i: usize| ((i * 7919 % 101) as f64 / 101.0 - 0.5) * 0.4;
        let ys: Vec<f64> = xs.iter().enumerate().map(|(i, x)| 1.5 + 0.8 * x + noise(i)).collect();
        let cost = |p: &[f64]| xs.iter().zip(&ys).map(|(x, y)| (y - p[0] - p[1] * x).powi(2)).sum::<f64>();
        // Closed-form least squares and the t-interval.
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let b = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>() / sxx;
        let a = my - b * mx;
        let s2 = cost(&[a, b]) / (n - 2.0);
        let se = [(s2 * (1.0 / n + mx * mx / sxx)).sqrt(), (s2 / sxx).sqrt()];
        let t = crate::fit::stats::t_quantile_975(xs.len() - 2).unwrap();
        let (lower, upper) = ([-10.0, -10.0], [10.0, 10.0]);
        for k in 0..2 {
            let best = [a, b];
            let opts = ProfileOptions { first_step_rel: 1e-3, ..Default::default() };
            let pr = profile(&cost, "p", &best, k, (&lower, &upper), xs.len(), &opts).unwrap();
            let (Side::Limit(lo), Side::Limit(hi)) = (pr.lower, pr.upper) else { panic!("open: {pr:?}") };
            let (want_lo, want_hi) = (best[k] - t * se[k], best[k] + t * se[k]);
            // Bisection then interpolation on a parabola: within 0.5 % of the half-width.
            let tol = 0.005 * t * se[k];
            assert!(
                (lo - want_lo).abs() < tol && (hi - want_hi).abs() < tol,
                "k {k}: [{lo}, {hi}] vs [{want_lo}, {want_hi}]"
            );
            assert!(pr.evaluations > 10);
        }
    }

    /// A parameter the cost does not depend on beyond a point is open on that side, at its bound.
    #[test]
    fn a_flat_side_is_open_at_the_bound() {
        // r = (y - min(p0, 1)) with noise: above 1, p0 has no effect.
        let ys: Vec<f64> = (0..20).map(|i| 1.0 + 0.01 * ((i * 37 % 11) as f64 - 5.0)).collect();
        let cost = |p: &[f64]| ys.iter().map(|y| (y - p[0].min(1.0) - 0.0 * p[1]).powi(2)).sum::<f64>();
        let best = [1.2, 0.0];
        let pr =
            profile(&cost, "p0", &best, 0, (&[0.0, -1.0], &[2.0, 1.0]), ys.len(), &ProfileOptions::default()).unwrap();
        assert_eq!(pr.upper, Side::OpenAtBound(2.0), "{pr:?}");
        assert!(matches!(pr.lower, Side::Limit(v) if v < 1.0 && v > 0.9), "{pr:?}");
    }

    #[test]
    fn threshold_matches_f_quantile() {
        // F(0.95; 1, 10) = 4.9646.
        let t = threshold(2.0, 10).unwrap();
        assert!((t - 2.0 * (1.0 + 4.9646 / 10.0)).abs() < 1e-3, "{t}");
        assert!(threshold(1.0, 0).is_none());
    }
}
