//! The two-stage solver: argmin's particle swarm on the unit box (global, seeded), then Nelder-Mead on the
//! logit-transformed parameters (local), restarted from the best point with a fresh simplex.

use super::problem::{FitProblem, LogitView, UnitView};
use super::spec::{logit, SolverSpec};
use argmin::core::{Executor, State};
use argmin::solver::neldermead::NelderMead;
use argmin::solver::particleswarm::ParticleSwarm;
use rand::SeedableRng;

/// What the solver found.
#[derive(Clone, Debug)]
pub struct Solution {
    /// Best physical values of the free parameters.
    pub values: Vec<f64>,
    /// Cost at the start values.
    pub cost_start: f64,
    /// Cost after the swarm.
    pub cost_global: f64,
    /// Final cost.
    pub cost: f64,
    /// Swarm iterations run.
    pub global_iterations: u64,
    /// Nelder-Mead iterations run (all restarts).
    pub local_iterations: u64,
    /// Model evaluations of this solve, every one counted (start point, swarm, Nelder-Mead, re-evaluations).
    pub evaluations: u64,
}

/// Why the solver failed.
#[derive(Debug, thiserror::Error)]
#[error("optimiser failed: {0}")]
pub struct SolveError(String);

/// Run the swarm from the unit box, seeded with the start point, then Nelder-Mead restarts.
/// Progress can be followed through [`FitProblem::evaluations`] from another thread.
pub fn solve(problem: &FitProblem, start: &[f64], solver: &SolverSpec) -> Result<Solution, SolveError> {
    solve_with(problem, start, None, solver)
}

/// [`solve`] with one more candidate for the local stage, `also` = (values, their known cost), which competes with
/// the swarm's best and the start point without being evaluated again.
fn solve_with(
    problem: &FitProblem,
    start: &[f64],
    also: Option<(&[f64], f64)>,
    solver: &SolverSpec,
) -> Result<Solution, SolveError> {
    let p = problem.free.len();
    let evals = problem.evaluations();
    let before = evals.load(std::sync::atomic::Ordering::Relaxed);
    let cost_start = problem.cost_values(start);
    let err = |e: argmin::core::Error| SolveError(e.to_string());

    // Stage 1: particle swarm on [0, 1]^p.
    let lower = vec![0.0; p];
    let upper = vec![1.0; p];
    let pso = ParticleSwarm::new((lower, upper), solver.particles)
        .with_rng_generator(rand_chacha::ChaCha8Rng::seed_from_u64(solver.seed));
    let view = UnitView(problem);
    let res = Executor::new(view, pso).configure(|s| s.max_iters(solver.global_iterations)).run().map_err(err)?;
    let global_iterations = res.state().get_iter();
    let swarm_best: Vec<f64> =
        res.state().get_best_param().map(|pt| pt.position.clone()).unwrap_or_else(|| vec![0.5; p]);
    let mut best_values = problem.values_from_unit(&swarm_best);
    let mut best_cost = problem.cost_values(&best_values);
    // The start point competes too (the swarm does not contain it).
    if cost_start < best_cost {
        best_values = start.to_vec();
        best_cost = cost_start;
    }
    if let Some((v, c)) = also {
        if c < best_cost {
            best_values = v.to_vec();
            best_cost = c;
        }
    }
    let cost_global = best_cost;

    // Stage 2: Nelder-Mead in logit space, restarted from the best point.
    let mut local_iterations = 0;
    let logit_view = LogitView(problem);
    for _ in 0..=solver.local_restarts {
        if solver.local_iterations == 0 {
            break;
        }
        let u0: Vec<f64> = problem.free.iter().zip(&best_values).map(|(f, &v)| logit(f.to_unit(v))).collect();
        let mut simplex = vec![u0.clone()];
        for k in 0..p {
            let mut u = u0.clone();
            u[k] += if u[k] > 0.0 { -0.5 } else { 0.5 };
            simplex.push(u);
        }
        let nm = NelderMead::new(simplex).with_sd_tolerance(1e-12).map_err(err)?;
        let res = Executor::new(LogitView(problem), nm)
            .configure(|s| s.max_iters(solver.local_iterations))
            .run()
            .map_err(err)?;
        local_iterations += res.state().get_iter();
        if let Some(u) = res.state().get_best_param() {
            let v = logit_view.values(u);
            let c = problem.cost_values(&v);
            let improved = c < best_cost * (1.0 - 1e-6);
            if c < best_cost {
                best_cost = c;
                best_values = v;
            }
            if !improved {
                break;
            }
        }
    }
    let evaluations = evals.load(std::sync::atomic::Ordering::Relaxed) - before;
    Ok(Solution {
        values: best_values,
        cost_start,
        cost_global,
        cost: best_cost,
        global_iterations,
        local_iterations,
        evaluations,
    })
}

/// One stage of a staged fit, for the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Cost of the stage's own problem before and after.
    pub cost_before: f64,
    /// Cost after.
    pub cost_after: f64,
    /// Model evaluations of the stage (swarm included).
    pub evaluations: u64,
}

/// Result of a staged fit: the final solution and a line per stage for the report.
#[derive(Clone, Debug)]
pub struct StagedSolution {
    /// Final solution over all free parameters; its `evaluations` is the total over all stages (and all starts).
    pub solution: Solution,
    /// Each block-wise stage, then the joint one, of the start that won; with several starts a last row counts
    /// the other starts' evaluations (its costs: the start cost and the best of them).
    pub stages: Vec<StageReport>,
    /// Seed of the start that won (the spec's seed with one start).
    pub seed: u64,
    /// Starts run (`solver.starts`, at least 1).
    pub starts: usize,
}

impl StagedSolution {
    /// The winning start's own stages (without the other starts' row).
    pub fn winner_stages(&self) -> &[StageReport] {
        &self.stages[..self.stages.len() - usize::from(self.starts > 1)]
    }
}

/// Fit block by block (each stage on its own signals with the other parameters held), then all jointly;
/// `solver.starts` times with seeds `seed`, `seed + 1`, ..., keeping the lowest final cost (the earliest seed
/// among equal costs). `on_stage` is told each stage's name before it starts.
pub fn solve_staged(
    problem: &FitProblem,
    start: &[f64],
    solver: &SolverSpec,
    stages: &[super::spec::Stage],
    on_stage: &dyn Fn(&str),
) -> Result<StagedSolution, SolveError> {
    let starts = solver.starts.max(1);
    let mut best: Option<StagedSolution> = None;
    let (mut others, mut others_best, mut git, mut lit) = (0u64, f64::INFINITY, 0u64, 0u64);
    for k in 0..starts {
        let seed = solver.seed.wrapping_add(k as u64);
        if starts > 1 {
            on_stage(&format!("start {} of {starts} (seed {seed})", k + 1));
        }
        let one = SolverSpec { seed, starts: 1, ..solver.clone() };
        let s = solve_staged_once(problem, start, &one, stages, on_stage)?;
        let (loser, winner) = match best.take() {
            Some(b) if b.solution.cost <= s.solution.cost => (s, b),
            Some(b) => (b, s),
            None => {
                best = Some(s);
                continue;
            }
        };
        others += loser.solution.evaluations;
        others_best = others_best.min(loser.solution.cost);
        git += loser.solution.global_iterations;
        lit += loser.solution.local_iterations;
        best = Some(winner);
    }
    let mut b = best.expect("at least one start");
    if starts > 1 {
        b.stages.push(StageReport {
            name: format!("other {} starts (not kept; cost after: the best of them)", starts - 1),
            cost_before: b.solution.cost_start,
            cost_after: others_best,
            evaluations: others,
        });
        b.solution.evaluations += others;
        b.solution.global_iterations += git;
        b.solution.local_iterations += lit;
    }
    b.starts = starts;
    Ok(b)
}

/// One start of [`solve_staged`] with `solver.seed`.
fn solve_staged_once(
    problem: &FitProblem,
    start: &[f64],
    solver: &SolverSpec,
    stages: &[super::spec::Stage],
    on_stage: &dyn Fn(&str),
) -> Result<StagedSolution, SolveError> {
    let mut values = start.to_vec();
    // The whole problem's cost at the start (one evaluation, reported as its own row so the rows add up).
    let cost_start = problem.cost_values(start);
    let mut report = vec![StageReport {
        name: "start point".into(),
        cost_before: cost_start,
        cost_after: cost_start,
        evaluations: 1,
    }];
    let mut evaluations = 0;
    let (mut git, mut lit) = (0, 0);
    for st in stages {
        on_stage(&st.name);
        let idx: Vec<usize> = st.keys.iter().filter_map(|k| problem.free.iter().position(|f| &f.key == k)).collect();
        let base = problem.params_with(&values);
        let keep: Vec<usize> =
            (0..problem.targets.len()).filter(|&k| st.signals.contains(&problem.targets[k].signal)).collect();
        if idx.is_empty() || keep.is_empty() {
            continue;
        }
        let sub = FitProblem::new_sets(
            base,
            idx.iter().map(|&k| problem.free[k].clone()).collect(),
            problem.sets.clone(),
            keep.iter().map(|&k| problem.targets[k].clone()).collect(),
            keep.iter().map(|&k| problem.weights[k]).collect(),
            keep.iter().map(|&k| problem.endpoint_weights[k]).collect(),
        )
        .with_counter(problem.evaluations())
        .with_priors(idx.iter().map(|&k| problem.priors[k]).collect())
        .with_sample_weights(if problem.sample_weights.is_empty() {
            Vec::new()
        } else {
            keep.iter().map(|&k| problem.sample_weights[k].clone()).collect()
        });
        let sub_start: Vec<f64> = idx.iter().map(|&k| values[k]).collect();
        let s = solve(&sub, &sub_start, solver)?;
        for (j, &k) in idx.iter().enumerate() {
            values[k] = s.values[j];
        }
        evaluations += s.evaluations;
        git += s.global_iterations;
        lit += s.local_iterations;
        report.push(StageReport {
            name: st.name.clone(),
            cost_before: s.cost_start,
            cost_after: s.cost,
            evaluations: s.evaluations,
        });
    }
    on_stage("joint");
    // Each stage minimises its own signals only, so together they can leave the whole problem worse than the
    // start (a parameter a stage's signals do not see moves anywhere): the start competes in the joint stage too,
    // with the cost already evaluated above, so a staged fit never ends above its start.
    let mut s = solve_with(problem, &values, Some((start, cost_start)), solver)?;
    report.push(StageReport {
        name: "joint".to_string(),
        cost_before: s.cost_start,
        cost_after: s.cost,
        evaluations: s.evaluations,
    });
    s.cost_start = cost_start;
    s.evaluations += evaluations + 1;
    s.global_iterations += git;
    s.local_iterations += lit;
    Ok(StagedSolution { solution: s, stages: report, seed: solver.seed, starts: 1 })
}
