//! Calibration checks: parameter recovery from synthetic waveforms, the checked-in fit meets its targets, and
//! `stc fit` refuses to overwrite.

use stc_synapse::fit::problem::{FitProblem, RunSet, Target};
use stc_synapse::fit::solve::solve_staged;
use stc_synapse::fit::spec::{FitSpec, FreeParam, Role, Scale, SolverSpec};
use stc_synapse::io::descriptor::WaveformSet;
use stc_synapse::synapse::Spikes;
use std::path::Path;

mod common;
use common::small_problem;

/// A free property parameter with bounds and scale, no start override and no prior.
fn free(key: &str, lower: f64, upper: f64, scale: Scale) -> FreeParam {
    FreeParam { key: key.into(), lower, upper, start: None, scale, role: Role::Property, prior_sigma_rel: None }
}

fn lcg_noise(seed: &mut u64) -> f64 {
    // Uniform in [-1, 1) from a 64-bit LCG (deterministic, dependency-free).
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

#[test]
fn parameter_recovery_from_noisy_synthetic_waveforms() {
    let mut truth = stc_synapse::params::load_circuit("cadence-fig17").unwrap();
    truth.pot_comparator.delay_on_s = 1.1e-3;
    truth.dep_comparator.delay_on_s = 1.4e-3;
    truth.pot_switch.tau_fall_s = 0.3e-3;
    truth.dep_switch.tau_fall_s = 0.8e-3;
    truth.capacitor.c_f = 5.5e-12;
    let spikes = Spikes { pre: vec![0.004], post: vec![0.002] };
    let times: Vec<f64> = (0..300).map(|k| k as f64 * 1e-4).collect();
    let tr = truth.simulate_at(&spikes, &times);
    let mut seed = 42u64;
    let mut noisy = |y: &[f64], rel: f64| -> Vec<f64> {
        let r = y.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - y.iter().cloned().fold(f64::INFINITY, f64::min);
        y.iter().map(|v| v + rel * r * lcg_noise(&mut seed)).collect()
    };
    let targets = vec![
        Target { signal: "i_hp".into(), t_s: times.clone(), y: noisy(&tr.i_hp_a, 0.01), set: 0 },
        Target { signal: "i_hd".into(), t_s: times.clone(), y: noisy(&tr.i_hd_a, 0.01), set: 0 },
        Target { signal: "v_h".into(), t_s: times.clone(), y: noisy(&tr.v_h_v, 0.01), set: 0 },
    ];
    let params = vec![
        free("pot_comparator.delay_on_s", 0.0, 3e-3, Scale::Linear),
        free("dep_comparator.delay_on_s", 0.0, 3e-3, Scale::Linear),
        free("pot_switch.tau_fall_s", 1e-5, 3e-3, Scale::Log),
        free("dep_switch.tau_fall_s", 1e-5, 3e-3, Scale::Log),
        free("capacitor.c_f", 0.5e-12, 20e-12, Scale::Log),
    ];
    let start_params = stc_synapse::params::load_circuit("cadence-fig17").unwrap();
    let start: Vec<f64> = params.iter().map(|f| start_params.get(&f.key).unwrap().clamp(f.lower, f.upper)).collect();
    let problem = FitProblem::new(start_params, params.clone(), spikes, targets, vec![1.0; 3], vec![0.0; 3]);
    let solver = SolverSpec {
        particles: 24,
        global_iterations: 60,
        local_iterations: 800,
        local_restarts: 2,
        seed: 3,
        starts: 1,
    };
    let sol = solve_staged(&problem, &start, &solver, &[], &|_| {}).unwrap().solution;
    let want = [1.1e-3, 1.4e-3, 0.3e-3, 0.8e-3, 5.5e-12];
    // Stated tolerances: delays within 30 us, time constants and C within 5 % (1 % uniform noise on each point).
    for (k, f) in params.iter().enumerate() {
        let got = sol.values[k];
        let ok =
            if f.key.contains("delay") { (got - want[k]).abs() < 30e-6 } else { (got / want[k] - 1.0).abs() < 0.05 };
        assert!(ok, "{}: recovered {got:e}, true {:e}", f.key, want[k]);
    }
}

/// A stage that moves a parameter its own signals do not see (C on i_hp) leaves the whole problem worse than the
/// start; the staged fit still ends at or below its start's cost (the start competes in the joint stage).
#[test]
fn a_staged_fit_never_ends_above_its_start() {
    let (problem, _) = small_problem(&[("capacitor.c_f", 0.5e-12, 20e-12, Scale::Log)]);
    let truth = stc_synapse::params::load_circuit("cadence-fig17").unwrap().capacitor.c_f;
    let stages = [stc_synapse::fit::spec::Stage {
        name: "switch only".into(),
        signals: vec!["i_hp".into()],
        keys: vec!["capacitor.c_f".into()],
    }];
    let solver =
        SolverSpec { particles: 4, global_iterations: 2, local_iterations: 0, local_restarts: 0, seed: 1, starts: 1 };
    let sol = solve_staged(&problem, &[truth], &solver, &stages, &|_| {}).unwrap();
    let start_cost = sol.stages[0].cost_after;
    let joint = sol.stages.last().unwrap();
    assert!(joint.cost_before > start_cost, "the stage must have made things worse for this test: {sol:?}");
    assert!(sol.solution.cost <= start_cost, "ended at {} above the start's {start_cost}", sol.solution.cost);
    assert_eq!(sol.solution.values, vec![truth]);
}

/// `solver.starts`: K starts are K single-start fits with seeds seed .. seed + K - 1; the lowest final cost wins
/// (the earliest seed among equal costs), every start's evaluations are counted, and a last stage row holds the
/// other starts' evaluations.
#[test]
fn several_starts_keep_the_best_single_start_and_count_them_all() {
    let (problem, start) = small_problem(&[
        ("capacitor.c_f", 1e-12, 20e-12, Scale::Log),
        ("pot_switch.tau_rise_s", 1e-5, 2e-3, Scale::Log),
    ]);
    let one = |seed: u64| {
        let solver =
            SolverSpec { particles: 3, global_iterations: 1, local_iterations: 4, local_restarts: 0, seed, starts: 1 };
        solve_staged(&problem, &start, &solver, &[], &|_| {}).unwrap()
    };
    let singles: Vec<_> = (8..11).map(one).collect();
    let costs: Vec<f64> = singles.iter().map(|s| s.solution.cost).collect();
    // The test needs starts that end differently, else it cannot tell a best from a first.
    assert!(costs.iter().any(|&c| c != costs[0]), "all three seeds end at the same cost: {costs:?}");
    let best = (0..3).fold(0, |b, k| if costs[k] < costs[b] { k } else { b });
    // A later seed must win, else keeping the first start would pass.
    assert_ne!(best, 0, "seed 8 ends lowest: pick other seeds for this test ({costs:?})");
    let solver =
        SolverSpec { particles: 3, global_iterations: 1, local_iterations: 4, local_restarts: 0, seed: 8, starts: 3 };
    let named = std::sync::Mutex::new(Vec::new());
    let multi = solve_staged(&problem, &start, &solver, &[], &|s| named.lock().unwrap().push(s.to_string())).unwrap();
    assert_eq!(multi.seed, 8 + best as u64);
    assert_eq!(multi.solution.cost, costs[best]);
    assert_eq!(multi.solution.values, singles[best].solution.values);
    let total: u64 = singles.iter().map(|s| s.solution.evaluations).sum();
    assert_eq!(multi.solution.evaluations, total);
    assert_eq!(multi.stages.iter().map(|st| st.evaluations).sum::<u64>(), total, "{:?}", multi.stages);
    let (last, kept) = multi.stages.split_last().unwrap();
    assert!(last.name.starts_with("other 2 starts"), "{}", last.name);
    // The rows before it are the winner's own.
    let want: Vec<_> =
        singles[best].stages.iter().map(|st| (&st.name, st.cost_before, st.cost_after, st.evaluations)).collect();
    let got: Vec<_> = kept.iter().map(|st| (&st.name, st.cost_before, st.cost_after, st.evaluations)).collect();
    assert_eq!(got, want);
    let sum = |f: fn(&stc_synapse::fit::solve::Solution) -> u64| singles.iter().map(|s| f(&s.solution)).sum::<u64>();
    assert_eq!(multi.solution.global_iterations, sum(|s| s.global_iterations));
    assert_eq!(multi.solution.local_iterations, sum(|s| s.local_iterations));
    let others_best = (0..3).filter(|&k| k != best).map(|k| costs[k]).fold(f64::INFINITY, f64::min);
    assert_eq!(last.cost_after, others_best);
    assert!(named.lock().unwrap().iter().any(|s| s == "start 3 of 3 (seed 10)"), "{:?}", named.lock().unwrap());
}

/// Both Cadence sets as one problem (the Fig. 11(b) run with its overrides), as `stc fit A B` builds it.
fn cadence_sets() -> (Vec<WaveformSet>, Vec<RunSet>, Vec<Target>) {
    let sets: Vec<WaveformSet> =
        ["waveforms/cadence-fig17/descriptor.yaml", "waveforms/cadence-fig11b/descriptor.yaml"]
            .iter()
            .map(|d| WaveformSet::load(Path::new(d)).unwrap())
            .collect();
    let runs = sets
        .iter()
        .map(|ws| RunSet {
            name: ws.descriptor.name.clone(),
            spikes: ws.spikes.clone(),
            overrides: ws.descriptor.overrides.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        })
        .collect();
    let targets = sets.iter().enumerate().flat_map(|(k, ws)| stc_synapse::cli::fit::targets_of(ws, k)).collect();
    (sets, runs, targets)
}

#[test]
fn checked_in_joint_calibration_meets_fig17_and_fig11b() {
    let fitted = stc_synapse::params::load_circuit("fits/cadence.yaml").unwrap();
    let (_, runs, targets) = cadence_sets();
    let n = targets.len();
    let problem = FitProblem::new_sets(fitted.clone(), vec![], runs, targets, vec![1.0; n], vec![0.0; n]);
    let pred = problem.predict(&fitted);
    for (k, t) in problem.targets.iter().enumerate() {
        let e = stc_synapse::fit::stats::nrmse(&t.y, &pred[k]);
        let bound = if t.set == 0 { 0.05 } else { 0.10 };
        assert!(e <= bound, "set {} {}: NRMSE {:.1} % > {bound}", t.set, t.signal, 100.0 * e);
        if t.signal == "v_h" {
            let last = *pred[k].last().unwrap();
            assert!((last - 0.8944).abs() < 1e-3, "final v_h {last} V vs Cadence 894.4 mV");
        }
        if t.signal == "lpw_pct" {
            // A graded late phase: LPW ends within 10 points of Cadence's, and it rose through intermediate values.
            let (m, d) = (*pred[k].last().unwrap(), *t.y.last().unwrap());
            assert!((m - d).abs() <= 10.0, "final LPW {m:.1} % vs Cadence {d:.1} %");
            assert!(pred[k].iter().any(|&x| x > 110.0 && x < m - 10.0), "LPW rises gradually: {:?}", pred[k]);
        }
    }
}

#[test]
fn checked_in_fit_meets_the_cadence_targets() {
    let ws = WaveformSet::load(Path::new("waveforms/cadence-fig17/descriptor.yaml")).unwrap();
    let fitted = stc_synapse::params::load_circuit("fits/cadence-fig17.yaml").unwrap();
    let thesis = stc_synapse::params::load_circuit("cadence-fig17").unwrap();
    let targets = stc_synapse::cli::fit::targets(&ws);
    let spikes = stc_synapse::cli::fit::spikes(&ws);
    let n = targets.len();
    let problem = FitProblem::new(fitted.clone(), vec![], spikes, targets, vec![1.0; n], vec![0.0; n]);
    let after = problem.predict(&fitted);
    let before = problem.predict(&thesis);
    for (k, t) in problem.targets.iter().enumerate() {
        let e = stc_synapse::fit::stats::nrmse(&t.y, &after[k]);
        assert!(e <= 0.05, "{}: NRMSE {:.1} % > 5 %", t.signal, 100.0 * e);
        let e0 = stc_synapse::fit::stats::nrmse(&t.y, &before[k]);
        assert!(
            e0 > 0.2,
            "the uncalibrated thesis model misses {} (thesis: 27-58 %), got {:.1} %",
            t.signal,
            100.0 * e0
        );
    }
    let vh = problem.targets.iter().position(|t| t.signal == "v_h").unwrap();
    let last = *after[vh].last().unwrap();
    assert!((last - 0.8944).abs() < 1e-3, "final v_h {last} V vs Cadence 894.4 mV");
    // The fit moved the non-idealities the thesis names: delays, tails and a smaller effective C.
    assert!(fitted.pot_comparator.delay_on_s > 0.5e-3 && fitted.dep_comparator.delay_on_s > 0.5e-3);
    assert!(fitted.capacitor.c_f < thesis.capacitor.c_f);
}

#[test]
fn fit_refuses_to_overwrite_and_reports_bad_specs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.yaml");
    std::fs::write(&out, "keep").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stc"))
        .args(["fit", "waveforms/cadence-fig17/descriptor.yaml", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stc"))
        .args(["fit", "waveforms/cadence-fig17/descriptor.yaml", "--free", "dpi.no_such_key", "--out"])
        .arg(dir.path().join("g.yaml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("dpi.no_such_key"));
    // A weight band on a signal no set has (a misspelt name) is an error, not a band that weighs nothing.
    let spec = dir.path().join("bands.yaml");
    let text = std::fs::read_to_string("circuits/sky130/fit-spec-dpi-bands.yaml").unwrap();
    std::fs::write(&spec, text.replace("start: model-start.yaml\n", "").replace("  i_ca:\n", "  i_caa:\n")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stc"))
        .args(["fit", "waveforms/cadence-fig17/descriptor.yaml", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("h.yaml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("band_weights.i_caa") && err.contains("i_ca"), "{err}");
    assert!(!dir.path().join("h.yaml").exists());
    let bad = FitSpec::parse(
        "name: x\nsolver: {particles: 1, global_iterations: 1, local_iterations: 1, seed: 1}\nparameters: []\n",
        "s.yaml",
        &[],
    );
    assert!(bad.is_err());
}

#[test]
fn a_free_parameter_without_effect_is_named() {
    // The protein threshold cannot matter in a 30 ms run far below it; C does.
    let (problem, start) =
        small_problem(&[("capacitor.c_f", 1e-12, 20e-12, Scale::Log), ("tag.theta_pro_v", 0.1, 0.9, Scale::Linear)]);
    assert_eq!(problem.inert_parameters(&start), vec!["tag.theta_pro_v".to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit.yaml");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stc"))
        .args(["fit", "waveforms/cadence-fig17/descriptor.yaml", "--spec"])
        .arg(write_spec_with_inert_param(dir.path()))
        .args(["--out"])
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tag.theta_pro_v") && err.contains("no effect"), "{err}");
    assert!(!out.exists(), "a refused fit wrote {}", out.display());
}

fn write_spec_with_inert_param(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("spec.yaml");
    std::fs::write(
        &path,
        "name: inert\nstart: cadence-fig17\nsolver: {particles: 4, global_iterations: 1, local_iterations: 1, seed: 1}\n\
         parameters:\n  - {key: capacitor.c_f, lower: 1.0e-12, upper: 20.0e-12, scale: log, role: property}\n  \
         - {key: tag.theta_pro_v, lower: 0.1, upper: 0.9, scale: linear, role: bias}\n",
    )
    .unwrap();
    path
}

/// One synthetic recovery with noise seed `seed`: for each fitted parameter, whether the truth is inside the
/// reported 95 % t-interval.
fn recovery_covered(seed: u64) -> Vec<(String, bool)> {
    // Truth: the joint calibration with C, the recovery current and a comparator delay moved; synthetic data on the
    // Fig. 17 pairing (i_hp, v_h) and the 100 s Fig. 11(b) protocol (EPW/LPW/total %), 0.5 % noise.
    let mut truth = stc_synapse::params::load_circuit("fits/cadence.yaml").unwrap();
    truth.capacitor.c_f *= 1.15;
    truth.capacitor.i_hrn_a *= 0.85;
    truth.pot_comparator.delay_on_s += 0.2e-3;
    let (_, runs, _) = cadence_sets();
    let short_t: Vec<f64> = (1..150).map(|k| k as f64 * 2e-4).collect();
    let long_t: Vec<f64> = (0..=40).map(|k| k as f64 * 2.5).collect();
    let mut seed = seed;
    let mut targets = Vec::new();
    for (set, names, t) in
        [(0usize, &["i_hp", "v_h"][..], &short_t), (1, &["epw_pct", "lpw_pct", "total_pct"][..], &long_t)]
    {
        let mut q = truth.clone();
        for (k, v) in &runs[set].overrides {
            q.set(k, *v);
        }
        let tr = q.simulate_at(&runs[set].spikes, t);
        for name in names {
            let y = stc_synapse::fit::problem::signal_values(&q, &tr, name).unwrap();
            let r =
                y.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - y.iter().cloned().fold(f64::INFINITY, f64::min);
            let y = y.iter().map(|v| v + 0.005 * r * lcg_noise(&mut seed)).collect();
            targets.push(Target { signal: name.to_string(), t_s: t.clone(), y, set });
        }
    }
    let params = vec![
        free("capacitor.c_f", 1e-12, 20e-12, Scale::Log),
        free("capacitor.i_hrn_a", 0.5e-15, 20e-15, Scale::Log),
        free("pot_comparator.delay_on_s", 0.0, 3e-3, Scale::Linear),
    ];
    let start_params = stc_synapse::params::load_circuit("fits/cadence.yaml").unwrap();
    let start: Vec<f64> = params.iter().map(|f| start_params.get(&f.key).unwrap()).collect();
    let n = targets.len();
    let problem = FitProblem::new_sets(start_params, params.clone(), runs, targets, vec![1.0; n], vec![0.0; n]);
    let solver = SolverSpec {
        particles: 8,
        global_iterations: 8,
        local_iterations: 1000,
        local_restarts: 3,
        seed: 5,
        starts: 1,
    };
    let sol = solve_staged(&problem, &start, &solver, &[], &|_| {}).unwrap().solution;
    let resid = |v: &[f64]| problem.residuals(&problem.params_with(v));
    let lower: Vec<f64> = params.iter().map(|f| f.lower).collect();
    let upper: Vec<f64> = params.iter().map(|f| f.upper).collect();
    let floors: Vec<f64> = params.iter().map(|f| (f.upper - f.lower) * 1e-6).collect();
    let jac = stc_synapse::fit::stats::jacobian_with(
        &resid,
        &sol.values,
        1e-4,
        &floors,
        stc_synapse::fit::stats::FdScheme::Central,
        Some((&lower, &upper)),
    );
    let names: Vec<String> = params.iter().map(|f| f.key.clone()).collect();
    let units = vec![String::new(); 3];
    let stats =
        stc_synapse::fit::stats::fit_statistics(&resid(&sol.values), &jac, &names, &units, &sol.values, &lower, &upper);
    names
        .iter()
        .enumerate()
        .map(|(k, key)| {
            let want = truth.get(key).unwrap();
            let ci = stats.params[k].ci95.unwrap_or_else(|| panic!("{key}: no interval ({})", stats.params[k].note));
            assert!(ci[1] > ci[0], "{key}: degenerate interval {ci:?}");
            eprintln!("seed {seed}: {key} true {want:e}, fitted {:e}, 95 % CI {ci:?}", sol.values[k]);
            (key.clone(), want >= ci[0] && want <= ci[1])
        })
        .collect()
}

#[test]
fn parameter_recovery_on_short_and_long_protocols_within_the_reported_intervals() {
    // Three noise realisations. A calibrated 95 % interval misses the truth 5 % of the time, so each parameter
    // must be covered in at least 2 of 3 (two misses of a calibrated interval: 0.7 %). Measured: seed 7 misses
    // i_hrn by 0.01 % of its value, seeds 8 and 9 cover every parameter.
    let runs: Vec<Vec<(String, bool)>> = [7u64, 8, 9].iter().map(|&s| recovery_covered(s)).collect();
    for k in 0..runs[0].len() {
        let covered = runs.iter().filter(|r| r[k].1).count();
        assert!(covered >= 2, "{}: truth inside the reported interval in only {covered} of 3 runs", runs[0][k].0);
    }
}

/// `band_weights`: the samples whose measured value lies in a band weigh the band's weight, the others 1, normalised
/// to a mean of 1 per signal (so the signal's total weight is unchanged); overlapping bands give the larger weight.
#[test]
fn band_weights_weigh_the_samples_in_the_band() {
    let (plain, start) = small_problem(&[("dpi.tau_s", 1e-3, 2e-2, Scale::Log)]);
    let v = &plain.targets[1].y;
    let (lo, hi) =
        (v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let mid = 0.5 * (lo + hi);
    let band = |lower: f64, upper: f64, weight: f64| stc_synapse::fit::spec::Band { lower, upper, weight };
    let bands = std::collections::BTreeMap::from([(
        "v_h".to_string(),
        vec![band(mid, hi, 10.0), band(0.5 * (mid + hi), hi, 4.0)],
    )]);
    let weighted = plain.clone().with_bands(&bands);
    let inside = v.iter().filter(|&&y| y >= mid).count();
    assert!(inside > 0 && inside < v.len(), "the band splits the samples: {inside} of {}", v.len());
    let mean = (10.0 * inside as f64 + (v.len() - inside) as f64) / v.len() as f64;
    let p = plain.params_with(&start);
    let (r0, r1) = (plain.residuals(&p), weighted.residuals(&p));
    let n_hp = plain.targets[0].y.len();
    // i_hp has no band: unchanged; v_h's residuals scale by the square root of the normalised weight.
    assert_eq!(r0[..n_hp], r1[..n_hp]);
    for (j, &y) in v.iter().enumerate() {
        let w = if y >= mid { 10.0 } else { 1.0 } / mean;
        let (a, b) = (r0[n_hp + j], r1[n_hp + j]);
        assert!((b - a * w.sqrt()).abs() <= 1e-12 * a.abs().max(1e-300), "sample {j}: {b} vs {a} x sqrt({w})");
    }
    let total: f64 = weighted.sample_weights[1].iter().sum();
    assert!((total - v.len() as f64).abs() < 1e-9 * v.len() as f64);
}
