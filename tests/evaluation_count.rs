//! The fit's evaluation count against the simulations actually run (a counter the fit does not keep), and
//! `stc fit`'s printed summary against the count it writes into the parameter file.
//!
//! A test binary of its own: the simulation counter is process-wide, and no other test here simulates in-process
//! while the solver runs.

use stc_synapse::fit::solve::solve_staged;
use stc_synapse::fit::spec::{Scale, SolverSpec};
use stc_synapse::synapse::simulations_run;

mod common;
use common::small_problem;

#[test]
fn every_solver_evaluation_is_one_simulation_run() {
    let (problem, start) = small_problem(&[("capacitor.c_f", 1e-12, 20e-12, Scale::Log)]);
    let solver =
        SolverSpec { particles: 6, global_iterations: 5, local_iterations: 20, local_restarts: 0, seed: 1, starts: 1 };

    let sims_before = simulations_run();
    let s = solve_staged(&problem, &start, &solver, &[], &|_| {}).unwrap();
    let sims = simulations_run() - sims_before;
    // One run set with targets: one simulation per model evaluation, swarm and Nelder-Mead alike.
    assert_eq!(s.solution.evaluations, sims, "reported {} evaluations, ran {sims} simulations", s.solution.evaluations);
    // The swarm alone evaluates its initial population and every particle in every iteration.
    assert!(sims >= 6 * 6, "{sims}");
    assert_eq!(s.stages.iter().map(|st| st.evaluations).sum::<u64>(), sims);
}

/// The numbers of `N model evaluations: a start check (...), b solver (...), c statistics, d profile likelihood`.
fn summary_numbers(stdout: &str) -> Vec<u64> {
    let line = stdout.lines().find(|l| l.contains("model evaluations:")).unwrap_or_else(|| panic!("{stdout}"));
    let tail = &line[line.find("; ").map(|i| i + 2).unwrap_or(0)..];
    let tail = &tail[..tail.find("; wrote").unwrap_or(tail.len())];
    // Whole numbers with separators, skipping those inside the stage list's parentheses and the parameter count.
    let mut out = Vec::new();
    let mut depth = 0;
    for word in tail.split(' ') {
        if depth == 0 {
            let digits = word.trim_end_matches(':');
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == ',') {
                assert!(
                    digits.len() < 4 || digits.contains(','),
                    "count without thousands separators: {digits} in {line}"
                );
                out.push(digits.replace(',', "").parse().unwrap());
            }
        }
        depth += word.matches('(').count() as i32 - word.matches(')').count() as i32;
    }
    out
}

#[test]
fn the_printed_evaluation_summary_adds_up_and_matches_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let spec = dir.join("spec.yaml");
    std::fs::write(
        &spec,
        "name: count\nstart: cadence-fig17\nsolver: {particles: 10, global_iterations: 40, local_iterations: 60, seed: 3}\n\
         parameters:\n  - {key: capacitor.c_f, lower: 1.0e-12, upper: 20.0e-12, scale: log, role: property}\n  \
         - {key: pot_switch.i_on_a, lower: 10.0e-12, upper: 200.0e-12, scale: log, role: bias}\n",
    )
    .unwrap();
    let out = dir.join("fit.yaml");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stc"))
        .args(["fit", "waveforms/cadence-fig17/descriptor.yaml", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let n = summary_numbers(&stdout);
    // total, start check, solver, statistics, profile, report (2), simulations
    assert_eq!(n.len(), 7, "total, five parts and simulations expected: {n:?} from {stdout}");
    assert_eq!(n[0], n[1..6].iter().sum::<u64>(), "parts do not add up: {n:?}");
    assert!(n[0] >= 1000, "a fit of this size makes thousands of evaluations: {n:?}");
    // The independent check: simulations counted where they run (one run set: one per evaluation).
    assert_eq!(n[6], n[0], "{} simulations for {} evaluations", n[6], n[0]);
    let file = std::fs::read_to_string(&out).unwrap();
    let field = |name: &str| -> u64 {
        file.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no `{name}` in {file}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!((field("evaluations:"), field("simulations:")), (n[0], n[6]));
}
