//! The fit as an optimisation problem (argmin's `CostFunction`): parameters in, normalised error out.
//!
//! The cost is the weighted sum over signals of the squared NRMSE (RMS error over the data's range) on the data's
//! own time points, plus optional endpoint terms, so every signal counts equally whatever its unit and number of
//! points. Two views of the same problem serve the two solver stages: [`UnitView`] maps the unit box [0, 1]^p
//! (the particle swarm's search box) onto the parameter bounds, [`LogitView`] maps R^p through a logistic, so
//! Nelder-Mead runs unconstrained while the parameters stay inside their bounds.

use super::spec::{logistic, FreeParam, Scale};
use crate::synapse::{CircuitParams, CircuitTrace, Spikes};
use argmin::core::{CostFunction, Error};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One measured signal: a model signal name (`i_ca`, `i_hp`, `i_hd`, `v_h`, `z`, `w`, `epw_pct`, `lpw_pct`,
/// `total_pct`) and its points (SI; per cent for the `_pct` signals), from the run `set` of the problem.
#[derive(Clone, Debug)]
pub struct Target {
    /// Model signal name.
    pub signal: String,
    /// Time points [s].
    pub t_s: Vec<f64>,
    /// Values (SI).
    pub y: Vec<f64>,
    /// Index of the run (waveform set) in [`FitProblem::sets`] it was measured in.
    pub set: usize,
}

/// One run of the model in a fit: a waveform set's stimulus and the parameters its run had that differ from the
/// shared parameter set (e.g. the acceleration factors of the Fig. 11(b) run).
#[derive(Clone, Debug, Default)]
pub struct RunSet {
    /// Name for reports (the waveform set's name).
    pub name: String,
    /// Stimulus of the run.
    pub spikes: Spikes,
    /// `(dotted key, value)` set on the shared parameters for this run only.
    pub overrides: Vec<(String, f64)>,
}

impl Target {
    /// The data's range max - min (the NRMSE denominator), never zero.
    pub fn range(&self) -> f64 {
        let (lo, hi) = self.y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let r = hi - lo;
        if r > 0.0 {
            r
        } else {
            hi.abs().max(1e-300)
        }
    }
}

/// A model signal of a trace by name, including the per-cent weights of thesis Fig. 11 (relative to the resting
/// weight, as `stc simulate` writes them): EPW% = 100 v_h / V_H0, LPW% = 100 (1 + z), total% = EPW% + LPW% - 100.
pub fn signal_values(p: &CircuitParams, tr: &CircuitTrace, name: &str) -> Option<Vec<f64>> {
    let v0 = p.capacitor.v_h0_v;
    let epw = || tr.v_h_v.iter().map(|v| 100.0 * v / v0);
    let lpw = || tr.z.iter().map(|z| 100.0 * (1.0 + z));
    Some(match name {
        "epw_pct" => epw().collect(),
        "lpw_pct" => lpw().collect(),
        "total_pct" => epw().zip(lpw()).map(|(e, l)| e + l - 100.0).collect(),
        _ => signal(tr, name)?.to_vec(),
    })
}

/// Pick a model signal out of a trace by name.
pub fn signal<'a>(tr: &'a CircuitTrace, name: &str) -> Option<&'a [f64]> {
    Some(match name {
        "i_ca" => &tr.i_ca_a,
        "i_hp" => &tr.i_hp_a,
        "i_hd" => &tr.i_hd_a,
        "v_h" => &tr.v_h_v,
        "z" => &tr.z,
        "w" => &tr.w,
        _ => return None,
    })
}

/// The fit problem: a starting parameter set, the free parameters, the stimulus and the targets.
#[derive(Clone, Debug)]
pub struct FitProblem {
    /// Parameters that are not free.
    pub base: CircuitParams,
    /// Free parameters.
    pub free: Vec<FreeParam>,
    /// The runs (one per waveform set).
    pub sets: Vec<RunSet>,
    /// Measured signals.
    pub targets: Vec<Target>,
    /// Weight per target (same order).
    pub weights: Vec<f64>,
    /// Endpoint weight per target.
    pub endpoint_weights: Vec<f64>,
    /// Gaussian prior per free parameter (same order): `(centre, sigma, log)`; see [`FitProblem::new`].
    pub priors: Vec<Option<Prior>>,
    /// Weight of every sample of every target (same order), normalised to mean 1 per target; empty: all 1
    /// ([`FitProblem::with_bands`]).
    pub sample_weights: Vec<Vec<f64>>,
    times: Vec<Vec<f64>>,
    index: Vec<Vec<usize>>,
    evals: Arc<AtomicU64>,
}

/// A Gaussian prior on one free parameter (MAP fit): in `ln(value)` for log-scaled parameters, else in the value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prior {
    /// Centre (the nominal value: the parameter's value in the starting set).
    pub centre: f64,
    /// Width: relative (of ln value) for log-scaled parameters, absolute for linear ones.
    pub sigma: f64,
    /// Whether the prior is on ln(value).
    pub log: bool,
}

/// Cost of a one-sigma prior deviation, in the cost's unit: the same as a 1 % NRMSE on one signal of weight 1.
/// The cost is a sum of squared NRMSEs, not a chi-square of known noise, so the prior's strength relative to the
/// data is a stated convention, not a derived one.
pub const PRIOR_SCALE: f64 = 0.01;

impl Prior {
    /// The prior's residual (its square is added to the cost).
    pub fn residual(&self, v: f64) -> f64 {
        let d = if self.log { (v.max(1e-300) / self.centre).ln() } else { v - self.centre };
        PRIOR_SCALE * d / self.sigma
    }
}

/// Cost returned for parameter sets the model rejects (out of physical range).
pub const INFEASIBLE: f64 = 1e6;

impl FitProblem {
    /// Build a problem over one run; the union of all targets' time points is simulated once per evaluation.
    pub fn new(
        base: CircuitParams,
        free: Vec<FreeParam>,
        spikes: Spikes,
        targets: Vec<Target>,
        weights: Vec<f64>,
        endpoint_weights: Vec<f64>,
    ) -> Self {
        let sets = vec![RunSet { name: String::new(), spikes, overrides: vec![] }];
        Self::new_sets(base, free, sets, targets, weights, endpoint_weights)
    }

    /// Build a problem over several runs (one cost over all waveform sets); each target names its run. Each run
    /// is simulated once per evaluation, on the union of its targets' time points.
    pub fn new_sets(
        base: CircuitParams,
        free: Vec<FreeParam>,
        sets: Vec<RunSet>,
        targets: Vec<Target>,
        weights: Vec<f64>,
        endpoint_weights: Vec<f64>,
    ) -> Self {
        let times: Vec<Vec<f64>> = (0..sets.len())
            .map(|k| {
                let mut ts: Vec<f64> = targets
                    .iter()
                    .filter(|t| t.set == k)
                    .flat_map(|t| t.t_s.iter().copied())
                    .filter(|t| *t >= 0.0)
                    .collect();
                ts.sort_by(f64::total_cmp);
                ts.dedup();
                ts
            })
            .collect();
        let index = targets
            .iter()
            .map(|t| {
                let ts = &times[t.set];
                t.t_s.iter().map(|x| ts.partition_point(|y| y < x).min(ts.len().saturating_sub(1))).collect()
            })
            .collect();
        // Priors centred on the starting (nominal) values: relative width for log-scaled parameters, width
        // relative to the bound span for linear ones (delays and fractions may be nominally 0).
        let priors = free
            .iter()
            .map(|f| {
                let sr = f.prior_sigma_rel?;
                let c = base.get(&f.key)?;
                Some(match f.scale {
                    Scale::Log => Prior { centre: c.max(f.lower), sigma: sr, log: true },
                    Scale::Linear => Prior { centre: c, sigma: sr * (f.upper - f.lower), log: false },
                })
            })
            .collect();
        FitProblem {
            base,
            free,
            sets,
            targets,
            weights,
            endpoint_weights,
            priors,
            sample_weights: Vec::new(),
            times,
            index,
            evals: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Weigh the samples whose measured value lies in a band of `bands` (signal -> bands) by the band's weight
    /// (the largest of those it lies in; 1 outside), normalised so that each target's mean sample weight is 1: its
    /// total weight stays `weights[target]`.
    pub fn with_bands(self, bands: &std::collections::BTreeMap<String, Vec<crate::fit::spec::Band>>) -> Self {
        if bands.values().all(|b| b.is_empty()) {
            return self;
        }
        let w = self
            .targets
            .iter()
            .map(|t| {
                let b = bands.get(&t.signal).map(Vec::as_slice).unwrap_or(&[]);
                let raw: Vec<f64> = t
                    .y
                    .iter()
                    .map(|&y| b.iter().filter(|b| b.lower <= y && y <= b.upper).map(|b| b.weight).fold(1.0, f64::max))
                    .collect();
                let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
                raw.iter().map(|x| x / mean).collect()
            })
            .collect();
        self.with_sample_weights(w)
    }

    /// Set every target's sample weights (same order as the targets; see [`FitProblem::sample_weights`]).
    pub fn with_sample_weights(mut self, w: Vec<Vec<f64>>) -> Self {
        self.sample_weights = w;
        self
    }

    /// Share another problem's evaluation counter (a stage's sub-problem counts into the whole fit's counter, so
    /// the progress display and the report show one true number).
    pub fn with_counter(mut self, evals: Arc<AtomicU64>) -> Self {
        self.evals = evals;
        self
    }

    /// Replace the priors (a stage's sub-problem keeps the whole fit's centres, not its own starting values).
    pub fn with_priors(mut self, priors: Vec<Option<Prior>>) -> Self {
        self.priors = priors;
        self
    }

    /// Parameter set for physical values of the free parameters.
    pub fn params_with(&self, values: &[f64]) -> CircuitParams {
        let mut p = self.base.clone();
        for (f, &v) in self.free.iter().zip(values) {
            p.set(&f.key, v);
        }
        p
    }

    /// Physical values for unit-box coordinates.
    pub fn values_from_unit(&self, s: &[f64]) -> Vec<f64> {
        self.free.iter().zip(s).map(|(f, &x)| f.from_unit(x)).collect()
    }

    /// Model predictions on each target's time points.
    ///
    /// Every call is one model evaluation and is counted ([`FitProblem::evaluations`]), whoever makes it: swarm,
    /// Nelder-Mead, Jacobian, profile.
    pub fn predict(&self, p: &CircuitParams) -> Vec<Vec<f64>> {
        self.evals.fetch_add(1, Ordering::Relaxed);
        let mut out: Vec<Vec<f64>> = vec![Vec::new(); self.targets.len()];
        for (k, set) in self.sets.iter().enumerate() {
            if !self.targets.iter().any(|t| t.set == k) {
                continue;
            }
            let mut q = p.clone();
            for (key, v) in &set.overrides {
                q.set(key, *v);
            }
            let tr = q.simulate_at(&set.spikes, &self.times[k]);
            for (j, t) in self.targets.iter().enumerate().filter(|(_, t)| t.set == k) {
                let s = signal_values(&q, &tr, &t.signal).unwrap_or_default();
                out[j] = self.index[j].iter().map(|&i| s.get(i).copied().unwrap_or(f64::NAN)).collect();
            }
        }
        out
    }

    /// Weighted, range-normalised residuals: `(model - data) / range * sqrt(weight / n)` per point, then the
    /// endpoint terms, then the prior terms; their sum of squares is the cost.
    pub fn residuals(&self, p: &CircuitParams) -> Vec<f64> {
        let pred = self.predict(p);
        let mut r = Vec::new();
        for (k, t) in self.targets.iter().enumerate() {
            let scale = (self.weights[k] / t.y.len() as f64).sqrt() / t.range();
            let w = self.sample_weights.get(k);
            // Without sample weights every factor is 1 (x 1.0: the same bits).
            let w_at = |j: usize| w.map_or(1.0, |w| w[j].sqrt());
            r.extend(pred[k].iter().zip(&t.y).enumerate().map(|(j, (m, d))| (m - d) * scale * w_at(j)));
        }
        for (k, t) in self.targets.iter().enumerate() {
            if self.endpoint_weights[k] > 0.0 {
                let (m, d) = (pred[k].last().copied().unwrap_or(f64::NAN), t.y.last().copied().unwrap_or(f64::NAN));
                r.push((m - d) / t.range() * self.endpoint_weights[k].sqrt());
            }
        }
        for (f, pr) in self.free.iter().zip(&self.priors) {
            if let Some(pr) = pr {
                r.push(pr.residual(p.get(&f.key).unwrap_or(f64::NAN)));
            }
        }
        r
    }

    /// The free parameters that have no effect on the residuals at `values` (their Jacobian column is exactly
    /// zero): a step of 5 % of the search interval (towards the interior) leaves every residual unchanged. The step
    /// is not infinitesimal because the late phase is a counter: its output is piecewise constant in the
    /// parameters, so only a finite move tells "no effect" from "below one count". Such a parameter cannot be
    /// fitted from these data; [`crate::cli`] refuses the fit and names it.
    pub fn inert_parameters(&self, values: &[f64]) -> Vec<String> {
        let r0 = self.residuals(&self.params_with(values));
        let mut out = Vec::new();
        for (k, f) in self.free.iter().enumerate() {
            let s = f.to_unit(values[k]);
            let mut v = values.to_vec();
            v[k] = f.from_unit(if s < 0.5 { s + 0.05 } else { s - 0.05 });
            let r = self.residuals(&self.params_with(&v));
            // Prior terms move with the parameter by construction: only the data residuals count.
            let n_data = r.len() - self.priors.iter().filter(|p| p.is_some()).count();
            if r[..n_data] == r0[..n_data] {
                out.push(f.key.clone());
            }
        }
        out
    }

    /// Shared counter of model evaluations so far (for progress bars on another thread).
    pub fn evaluations(&self) -> Arc<AtomicU64> {
        self.evals.clone()
    }

    /// Cost for physical values of the free parameters.
    pub fn cost_values(&self, values: &[f64]) -> f64 {
        let p = self.params_with(values);
        if !p.check().is_empty() {
            return INFEASIBLE;
        }
        let c: f64 = self.residuals(&p).iter().map(|x| x * x).sum();
        if c.is_finite() {
            c
        } else {
            INFEASIBLE
        }
    }
}

/// The problem seen on the unit box [0, 1]^p (particle swarm stage).
pub struct UnitView<'a>(pub &'a FitProblem);

impl CostFunction for UnitView<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, s: &Vec<f64>) -> Result<f64, Error> {
        Ok(self.0.cost_values(&self.0.values_from_unit(s)))
    }
}

/// The problem seen on R^p through a logistic (Nelder-Mead stage).
pub struct LogitView<'a>(pub &'a FitProblem);

impl LogitView<'_> {
    /// Physical values for logit coordinates.
    pub fn values(&self, u: &[f64]) -> Vec<f64> {
        self.0.free.iter().zip(u).map(|(f, &x)| f.from_unit(logistic(x))).collect()
    }
}

impl CostFunction for LogitView<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> Result<f64, Error> {
        Ok(self.0.cost_values(&self.values(u)))
    }
}
