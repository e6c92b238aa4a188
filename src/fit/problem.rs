//! The fit as an optimisation problem (argmin's `CostFunction`): parameters in, normalised error out.
//!
//! The cost is the weighted sum over signals of the squared NRMSE (RMS error over the data's range) on the data's
//! own time points, plus optional endpoint terms, so every signal counts equally whatever its unit and number of
//! points. Two views of the same problem serve the two solver stages: [`UnitView`] maps the unit box [0, 1]^p
//! (the particle swarm's search box) onto the parameter bounds, [`LogitView`] maps R^p through a logistic, so
//! Nelder-Mead runs unconstrained while the parameters stay inside their bounds.

use super::spec::{logistic, FreeParam};
use crate::synapse::{CircuitParams, CircuitTrace, Spikes};
use argmin::core::{CostFunction, Error};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One measured signal: a model signal name (`i_ca`, `i_hp`, `i_hd`, `v_h`, `z`, `w`) and its points (SI).
#[derive(Clone, Debug)]
pub struct Target {
    /// Model signal name.
    pub signal: String,
    /// Time points [s].
    pub t_s: Vec<f64>,
    /// Values (SI).
    pub y: Vec<f64>,
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
    /// Stimulus of the run.
    pub spikes: Spikes,
    /// Measured signals.
    pub targets: Vec<Target>,
    /// Weight per target (same order).
    pub weights: Vec<f64>,
    /// Endpoint weight per target.
    pub endpoint_weights: Vec<f64>,
    times: Vec<f64>,
    index: Vec<Vec<usize>>,
    evals: Arc<AtomicU64>,
}

/// Cost returned for parameter sets the model rejects (out of physical range).
pub const INFEASIBLE: f64 = 1e6;

impl FitProblem {
    /// Build the problem; the union of all targets' time points is simulated once per evaluation.
    pub fn new(
        base: CircuitParams,
        free: Vec<FreeParam>,
        spikes: Spikes,
        targets: Vec<Target>,
        weights: Vec<f64>,
        endpoint_weights: Vec<f64>,
    ) -> Self {
        let mut times: Vec<f64> = targets.iter().flat_map(|t| t.t_s.iter().copied()).filter(|t| *t >= 0.0).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let index = targets
            .iter()
            .map(|t| {
                t.t_s.iter().map(|x| times.partition_point(|y| y < x).min(times.len().saturating_sub(1))).collect()
            })
            .collect();
        FitProblem {
            base,
            free,
            spikes,
            targets,
            weights,
            endpoint_weights,
            times,
            index,
            evals: Arc::new(AtomicU64::new(0)),
        }
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
    pub fn predict(&self, p: &CircuitParams) -> Vec<Vec<f64>> {
        let tr = p.simulate_at(&self.spikes, &self.times);
        self.targets
            .iter()
            .zip(&self.index)
            .map(|(t, idx)| {
                let s = signal(&tr, &t.signal).unwrap_or(&[]);
                idx.iter().map(|&k| s.get(k).copied().unwrap_or(f64::NAN)).collect()
            })
            .collect()
    }

    /// Weighted, range-normalised residuals: `(model - data) / range * sqrt(weight / n)` per point, then the
    /// endpoint terms; their sum of squares is the cost.
    pub fn residuals(&self, p: &CircuitParams) -> Vec<f64> {
        let pred = self.predict(p);
        let mut r = Vec::new();
        for (k, t) in self.targets.iter().enumerate() {
            let scale = (self.weights[k] / t.y.len() as f64).sqrt() / t.range();
            r.extend(pred[k].iter().zip(&t.y).map(|(m, d)| (m - d) * scale));
        }
        for (k, t) in self.targets.iter().enumerate() {
            if self.endpoint_weights[k] > 0.0 {
                let (m, d) = (pred[k].last().copied().unwrap_or(f64::NAN), t.y.last().copied().unwrap_or(f64::NAN));
                r.push((m - d) / t.range() * self.endpoint_weights[k].sqrt());
            }
        }
        r
    }

    /// Shared counter of cost evaluations so far (for progress bars on another thread).
    pub fn evaluations(&self) -> Arc<AtomicU64> {
        self.evals.clone()
    }

    /// Cost for physical values of the free parameters.
    pub fn cost_values(&self, values: &[f64]) -> f64 {
        self.evals.fetch_add(1, Ordering::Relaxed);
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
