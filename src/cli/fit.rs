//! `stc fit` and `stc compare`: calibrate the circuit model against a waveform set, and draw overlays.

use super::CliError;
use crate::fit::problem::{FitProblem, RunSet, Target};
use crate::fit::profile;
use crate::fit::report::{fmt_nrmse, fmt_r2, markdown, SignalFit};
use crate::fit::solve::solve_staged;
use crate::fit::spec::{FitSpec, Role};
use crate::fit::stats::{fit_statistics, jacobian_with, FdScheme};
use crate::io::descriptor::WaveformSet;
use crate::io::{atomic, table};
use crate::params;
use crate::plot;
use crate::synapse::{CircuitParams, Spikes};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Fit declared parameters of the circuit model to a waveform set (particle swarm, then Nelder-Mead).
///
/// The free parameters, bounds, scales, roles, signal weights and solver settings come from a fit spec (YAML;
/// default: fit-spec.yaml next to the descriptor). Writes the full calibrated parameter file (usable as --params
/// anywhere, with provenance) and, with --report, a Markdown report with overlays and residual plots.
#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// Waveform-set descriptors (YAML): one cost over all of them (each set's `weight` scales its signals).
    #[arg(required = true, num_args = 1..)]
    pub descriptors: Vec<PathBuf>,
    /// Starting parameter set (preset or file); default: the spec's `start`, else the descriptor's `params`.
    #[arg(long)]
    pub params: Option<String>,
    /// Fit spec (YAML); default: fit-spec.yaml next to the descriptor.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Fit only these parameters of the spec (comma-separated keys); the others keep their start values.
    #[arg(long, value_delimiter = ',')]
    pub free: Vec<String>,
    /// Seed of the particle swarm (default: the spec's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent starts (default: the spec's `solver.starts`, else 1): the whole fit runs with seeds SEED,
    /// SEED + 1, ... and keeps the lowest cost; every start's evaluations are counted. The swarm does not reach
    /// the same optimum from every seed.
    #[arg(long, value_name = "K")]
    pub starts: Option<usize>,
    /// Output parameter file, e.g. fits/NAME.yaml.
    #[arg(long)]
    pub out: PathBuf,
    /// Report directory (Markdown + PNG/SVG figures + CSV tables).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Overwrite existing outputs.
    #[arg(long)]
    pub force: bool,
    /// With several sets: also fit on each set alone (free parameters without effect on that set held at their
    /// start values) and report how each such fit predicts every set (a table in the report).
    #[arg(long)]
    pub cross_validate: bool,
}

/// Draw data-vs-model overlays and residuals for any parameter file.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Circuit parameter set (preset or file) to compare.
    #[arg(long)]
    pub params: String,
    /// Waveform-set descriptors (YAML), one or more: each set is predicted with the same parameters.
    #[arg(required = true, num_args = 1..)]
    pub descriptors: Vec<PathBuf>,
    /// Output directory (compare.md, compare.yaml, one overlay per set and signal).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing output directory.
    #[arg(long)]
    pub force: bool,
}

/// The measured signals of a set as fit targets (of run `set` of the problem).
pub fn targets_of(ws: &WaveformSet, set: usize) -> Vec<Target> {
    ws.signals
        .iter()
        .map(|s| Target { signal: s.signal.name().to_string(), t_s: s.t_s.clone(), y: s.values.clone(), set })
        .collect()
}

/// The measured signals of a single set as fit targets.
pub fn targets(ws: &WaveformSet) -> Vec<Target> {
    targets_of(ws, 0)
}

/// The stimulus of a set as spike trains (from `stimulus:` or its protocol file).
pub fn spikes(ws: &WaveformSet) -> Spikes {
    ws.spikes.clone()
}

/// A set as a run of a fit problem: its stimulus and its parameter overrides (checked against the model's keys).
pub fn run_set(ws: &WaveformSet, keys: &[String]) -> Result<RunSet, CliError> {
    for k in ws.descriptor.overrides.keys() {
        if !keys.contains(k) {
            return Err(format!("{}: overrides: no such parameter `{k}`", ws.descriptor_path.display()).into());
        }
    }
    Ok(RunSet {
        name: ws.descriptor.name.clone(),
        spikes: ws.spikes.clone(),
        overrides: ws.descriptor.overrides.iter().map(|(k, v)| (k.clone(), *v)).collect(),
    })
}

/// A fit's weights per signal, endpoint weights per signal and weight bands per signal (the spec's `weights`,
/// `endpoint_weights`, `band_weights`).
type Weighting<'a> = (
    &'a std::collections::BTreeMap<String, f64>,
    &'a std::collections::BTreeMap<String, f64>,
    &'a std::collections::BTreeMap<String, Vec<crate::fit::spec::Band>>,
);

fn weighting(spec: &FitSpec) -> Weighting<'_> {
    (&spec.weights, &spec.endpoint_weights, &spec.band_weights)
}

/// The problem over several sets: targets of set k carry `spec weight x set weight`; a weight band on a signal that
/// no set has is an error (a misspelt name would otherwise weigh nothing).
fn problem_over(
    sets: &[WaveformSet],
    base: &CircuitParams,
    free: Vec<crate::fit::spec::FreeParam>,
    (weights, endpoint, bands): Weighting,
) -> Result<FitProblem, CliError> {
    let keys = base.keys();
    let mut runs = Vec::new();
    let (mut tg, mut w, mut ew) = (Vec::new(), Vec::new(), Vec::new());
    for (k, ws) in sets.iter().enumerate() {
        runs.push(run_set(ws, &keys)?);
        for t in targets_of(ws, k) {
            w.push(weights.get(&t.signal).unwrap_or(&1.0) * ws.descriptor.weight);
            ew.push(endpoint.get(&t.signal).unwrap_or(&0.0) * ws.descriptor.weight);
            tg.push(t);
        }
    }
    if let Some(signal) = bands.keys().find(|s| !tg.iter().any(|t: &Target| &t.signal == *s)) {
        return Err(format!(
            "band_weights.{signal}: no waveform set has the signal `{signal}` (they have: {})",
            tg.iter()
                .map(|t| t.signal.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    Ok(FitProblem::new_sets(base.clone(), free, runs, tg, w, ew).with_bands(bands))
}

/// Label of a target in reports: the signal, prefixed by its set's name when there are several sets.
fn label(problem: &FitProblem, t: &Target) -> String {
    if problem.sets.len() > 1 {
        format!("{}/{}", problem.sets[t.set].name, t.signal)
    } else {
        t.signal.clone()
    }
}

/// Today's date (UTC) as YYYY-MM-DD, and the time as seconds since the epoch.
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}

fn signal_label(name: &str) -> (&'static str, f64) {
    match name {
        "i_ca" | "i_hp" | "i_hd" => ("[pA]", 1e12),
        "v_h" => ("[mV]", 1e3),
        "epw_pct" | "lpw_pct" | "total_pct" => ("[%]", 1.0),
        _ => ("", 1.0),
    }
}

/// Overlay figures (data, optional uncalibrated model, model) per signal into `dir`; returns the file names.
pub fn overlays(
    dir: &Path,
    problem: &FitProblem,
    before: Option<&CircuitParams>,
    after: &CircuitParams,
    title: &str,
) -> Result<Vec<String>, CliError> {
    let pb = before.map(|p| problem.predict(p));
    let pa = problem.predict(after);
    let mut files = Vec::new();
    for (k, t) in problem.targets.iter().enumerate() {
        let (unit, scale) = signal_label(&t.signal);
        let name = label(problem, t).replace('/', "_");
        let stem = dir.join(format!("overlay_{name}"));
        plot::plot_overlay(
            &stem,
            &format!("{title}: {}", label(problem, t)),
            &format!("{} {unit}", t.signal),
            scale,
            &t.t_s,
            &t.y,
            pb.as_ref().map(|p| p[k].as_slice()),
            &pa[k],
        )?;
        files.push(format!("overlay_{name}.png"));
    }
    Ok(files)
}

/// Run `stc fit`.
pub fn run_fit(a: FitArgs) -> Result<(), CliError> {
    let out_stage = atomic::Stage::file(&a.out, a.force)?;
    let report_stage = a.report.as_ref().map(|r| atomic::Stage::dir(r, a.force)).transpose()?;
    let mut sets: Vec<WaveformSet> = Vec::new();
    for d in &a.descriptors {
        sets.push(WaveformSet::load(d)?);
    }
    let ws = &sets[0];
    let first = &a.descriptors[0];
    let spec_path = a.spec.clone().unwrap_or_else(|| first.parent().unwrap_or(Path::new(".")).join("fit-spec.yaml"));
    let set_names = sets.iter().map(|w| w.descriptor.name.as_str()).collect::<Vec<_>>().join(" + ");
    let descriptor_list = a.descriptors.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" ");
    let spec_name = spec_path.display().to_string();
    if !spec_path.is_file() {
        return Err(format!(
            "{}: no fit spec here ({}); pass --spec FILE",
            spec_path.display(),
            if a.spec.is_some() { "given by --spec" } else { "the default is fit-spec.yaml next to the descriptor" }
        )
        .into());
    }
    let mut spec = FitSpec::load(&spec_path, &[])?;
    if !a.free.is_empty() {
        spec.restrict(&a.free)?;
    }
    if let Some(s) = a.seed {
        spec.solver.seed = s;
    }
    if let Some(k) = a.starts {
        if !(1..=crate::fit::spec::MAX_STARTS).contains(&k) {
            return Err(format!("--starts must be 1 to {}, found {k}", crate::fit::spec::MAX_STARTS).into());
        }
        spec.solver.starts = k;
    }
    let start_name = a
        .params
        .clone()
        .or_else(|| {
            // The spec's `start` is a preset name or a file next to the spec (like a descriptor's data file).
            spec.start.clone().map(|s| {
                let beside = spec_path.parent().unwrap_or(Path::new(".")).join(&s);
                if beside.is_file() {
                    beside.display().to_string()
                } else {
                    s
                }
            })
        })
        .or_else(|| ws.params_path_or_name())
        .ok_or("no starting parameters: pass --params, or set `start` in the spec or `params` in the descriptor")?;
    let mut base = params::load_circuit(&start_name)?;
    spec.check_keys(&spec_name, &base.keys())?;
    for (k, v) in &spec.fixed {
        base.set(k, *v);
    }
    let problem = problem_over(&sets, &base, spec.parameters.clone(), weighting(&spec))?;
    let start: Vec<f64> = spec
        .parameters
        .iter()
        .map(|f| f.start.unwrap_or_else(|| base.get(&f.key).unwrap_or(f.lower)).clamp(f.lower, f.upper))
        .collect();

    let counter = problem.evaluations();
    // The simulations this command runs, on a counter the problem does not keep (each evaluation simulates every
    // run set that has targets): written next to the evaluation count, which it checks.
    let simulations_before = crate::synapse::simulations_run();
    let inert = problem.inert_parameters(&start);
    let n_check = counter.load(Ordering::Relaxed);
    if !inert.is_empty() {
        return Err(format!(
            "{spec_name}: free parameter(s) {} have no effect on the cost at their start values (zero Jacobian \
             column): the data cannot determine them; remove them from `parameters` or hold them in `fixed`",
            inert.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )
        .into());
    }

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} fit [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let t0 = Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_message(format!(
                    "{} model evaluations",
                    super::progress::count(counter.load(Ordering::Relaxed))
                ));
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let r =
            solve_staged(&problem, &start, &spec.solver, &spec.stages, &|stage| bar.println(format!("stage: {stage}")));
        done.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        r
    })?;
    bar.finish_and_clear();
    let wall = t0.elapsed().as_secs_f64();
    let sol = &result.solution;
    let fitted = problem.params_with(&sol.values);

    // Statistics from a central-difference Jacobian in physical units.
    let lower: Vec<f64> = spec.parameters.iter().map(|f| f.lower).collect();
    let upper: Vec<f64> = spec.parameters.iter().map(|f| f.upper).collect();
    let resid = |v: &[f64]| problem.residuals(&problem.params_with(v));
    let floors: Vec<f64> = spec.parameters.iter().map(|f| (f.upper - f.lower).abs() * 1e-6).collect();
    let jac = jacobian_with(&resid, &sol.values, 1e-4, &floors, FdScheme::Central, Some((&lower, &upper)));
    let names: Vec<String> = spec.parameters.iter().map(|f| f.key.clone()).collect();
    let units: Vec<String> = names.iter().map(|k| unit_of(k).to_string()).collect();
    let stats = fit_statistics(&resid(&sol.values), &jac, &names, &units, &sol.values, &lower, &upper);
    let n_stats = counter.load(Ordering::Relaxed) - n_check - sol.evaluations;
    // Profile-likelihood intervals of the delays and tail currents, whose effect goes through thresholds and rails
    // (far from the Jacobian's linear picture; src/fit/profile.rs).
    let profiled: Vec<usize> = (0..names.len()).filter(|&k| is_delay_or_tail(&names[k])).collect();
    let profile_bar = ProgressBar::new(profiled.len() as u64);
    profile_bar.set_style(
        ProgressStyle::with_template("{bar:30} profile likelihood {pos}/{len} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let cost = |v: &[f64]| problem.cost_values(v);
    // The profiles are independent of each other: one per core (each is deterministic, so the order does not
    // matter).
    let profiles: Vec<profile::Profile> = profiled
        .par_iter()
        .filter_map(|&k| {
            profile_bar.set_message(names[k].clone());
            let opts = profile::ProfileOptions::default();
            let p = profile::profile(&cost, &names[k], &sol.values, k, (&lower, &upper), stats.n_points, &opts);
            profile_bar.inc(1);
            p
        })
        .collect();
    profile_bar.finish_and_clear();
    let n_profile = counter.load(Ordering::Relaxed) - n_check - sol.evaluations - n_stats;
    let pb = problem.predict(&base);
    let pa = problem.predict(&fitted);
    // Every model evaluation of this command went through the one counter: the start check, the solver stages
    // (swarm included), the statistics' Jacobian, the profiles and the report's two predictions.
    let n_total = counter.load(Ordering::Relaxed);
    let n_simulations = crate::synapse::simulations_run() - simulations_before;
    let n = super::progress::count;
    let evaluation_line = format!(
        "{} model evaluations: {} start check (zero Jacobian columns), {} solver ({}), {} statistics, {} profile \
         likelihood ({} parameters), 2 report; {} simulations",
        n(n_total),
        n(n_check),
        n(sol.evaluations),
        result.stages.iter().map(|s| format!("{} {}", s.name, n(s.evaluations))).collect::<Vec<_>>().join(", "),
        n(n_stats),
        n(n_profile),
        profiles.len(),
        n(n_simulations)
    );
    let sig: Vec<SignalFit> = problem
        .targets
        .iter()
        .enumerate()
        .map(|(k, t)| SignalFit::new(&label(&problem, t), &t.y, &pb[k], &pa[k]))
        .collect();

    // Calibrated parameter file with provenance.
    let mut out_params = fitted.clone();
    out_params.name = a.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "fit".into());
    out_params.description = format!("{} calibrated against {set_names} by `stc fit`", base.name);
    let prov = serde_yaml::to_value(Provenance {
        tool: format!("stc-synapse {}", env!("CARGO_PKG_VERSION")),
        date: today(),
        descriptor: descriptor_list.clone(),
        spec: spec_name.clone(),
        start: start_name.clone(),
        inputs_sha256: sets.iter().flat_map(|w| w.file_sha256.clone()).collect(),
        solver: format!(
            "argmin ParticleSwarm ({} particles, {}) then NelderMead on logit-transformed parameters; stages: {}",
            spec.solver.particles,
            seeds_text(&spec.solver, result.seed),
            result.winner_stages().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" -> ")
        ),
        iterations_global: sol.global_iterations,
        iterations_local: sol.local_iterations,
        evaluations: n_total,
        simulations: n_simulations,
        evaluations_by_stage: result.stages.iter().map(|s| (s.name.clone(), s.evaluations)).collect(),
        cost_start: sol.cost_start,
        cost: sol.cost,
        wall_s: wall,
        nrmse: sig.iter().map(|s| (s.signal.clone(), finite(s.nrmse_after))).collect(),
        fitted: inherited_fits(&base, &spec, &fitted, &start_name)
            .into_iter()
            .chain(spec.parameters.iter().zip(&sol.values).map(|(f, v)| FittedParam {
                key: f.key.clone(),
                value: *v,
                role: f.role,
                from: None,
            }))
            .collect(),
    })?;
    out_params.provenance = Some(prov);
    let header = format!(
        "Calibrated by `stc fit {}` on {} ({:.1} s).\nNRMSE after the fit: {}",
        descriptor_list,
        today(),
        wall,
        sig.iter().map(|s| format!("{} {}", s.signal, fmt_nrmse(s.nrmse_after))).collect::<Vec<_>>().join(", ")
    );
    let yaml = params::circuit_to_yaml(&out_params, &header);
    // Validate what we write by reading it back.
    params::parse(&yaml, &a.out.display().to_string())?;

    if let Some(stage) = &report_stage {
        let dir = &stage.path();
        let figs = overlays(dir, &problem, Some(&base), &fitted, &set_names)?;
        let corr: Vec<Vec<f64>> =
            stats.correlation.iter().map(|r| r.iter().map(|x| x.unwrap_or(f64::NAN)).collect()).collect();
        let cols: Vec<(&str, &[f64])> = names.iter().zip(&corr).map(|(n, c)| (n.as_str(), c.as_slice())).collect();
        table::write_csv(&dir.join("correlation.csv"), &cols)?;
        let roles: Vec<String> = spec
            .parameters
            .iter()
            .map(|f| if f.role == Role::Property { "property".into() } else { "bias".into() })
            .collect();
        let lines = vec![
            format!(
                "waveform set: `{}` ({})",
                descriptor_list,
                sets.iter()
                    .map(|w| w.descriptor.description.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!("start: `{start_name}`; spec: `{}`; output: `{}`", spec_path.display(), a.out.display()),
            format!(
                "solver: particle swarm ({} particles, {}) then Nelder-Mead on logit-transformed parameters",
                spec.solver.particles,
                seeds_text(&spec.solver, result.seed)
            ),
            format!("cost {:.4e} -> {:.4e}, {:.1} s; {evaluation_line}", sol.cost_start, sol.cost, wall),
            format!(
                "final v_h: data {} / model {}",
                sig.iter()
                    .find(|s| s.signal == "v_h" || s.signal.ends_with("/v_h"))
                    .map(|s| format!("{:.2} mV", s.last_data * 1e3))
                    .unwrap_or("-".into()),
                sig.iter()
                    .find(|s| s.signal == "v_h" || s.signal.ends_with("/v_h"))
                    .map(|s| format!("{:.2} mV", s.last_after * 1e3))
                    .unwrap_or("-".into())
            ),
        ];
        let mut md = markdown(&format!("Fit report: {set_names}"), &lines, &sig, &stats, &roles, &result.stages, &figs);
        md += &crate::fit::report::profiles_markdown(&profiles, &stats);
        if a.cross_validate && sets.len() > 1 {
            md += &cross_validation(&sets, &base, &spec, &start, &problem, &fitted, &bar)?;
        }
        atomic::write_atomic(&dir.join("fit-report.md"), md.as_bytes())?;
    }
    atomic::write_atomic(&out_stage.path(), yaml.as_bytes())?;
    // The parameter file and its report are one result: both swapped in, or neither.
    atomic::commit_all(report_stage.into_iter().chain(std::iter::once(out_stage)).collect())?;
    for s in &sig {
        println!(
            "{:5} NRMSE {} -> {}   R2 {} -> {}",
            s.signal,
            fmt_nrmse(s.nrmse_before),
            fmt_nrmse(s.nrmse_after),
            fmt_r2(s.r2_before),
            fmt_r2(s.r2_after)
        );
    }
    if let Some(v) = sig.iter().find(|s| s.signal == "v_h" || s.signal.ends_with("/v_h")) {
        println!("final v_h: data {:.2} mV, model {:.2} mV", v.last_data * 1e3, v.last_after * 1e3);
    }
    println!(
        "cost {:.4e} -> {:.4e}, {:.1} s; {evaluation_line}; wrote {}",
        sol.cost_start,
        sol.cost,
        wall,
        a.out.display()
    );
    Ok(())
}

/// Fit on each set alone and predict every set; the joint fit's row last. Markdown section.
fn cross_validation(
    sets: &[WaveformSet],
    base: &CircuitParams,
    spec: &FitSpec,
    start: &[f64],
    joint: &FitProblem,
    joint_fit: &CircuitParams,
    bar: &ProgressBar,
) -> Result<String, CliError> {
    use std::fmt::Write as _;
    let labels: Vec<String> = joint.targets.iter().map(|t| label(joint, t)).collect();
    let mut md = String::from(
        "\n## Cross-validation (fit on one set alone, NRMSE on every set)\n\nEach row is a fit with the same \
         spec (and the same number of solver starts) on one set only (free parameters without effect on that set \
         held at their start values); the columns are its NRMSE on every set's signals, shown as they are. These \
         fits' evaluations are not in the counts above.\n\n| fitted on | ",
    );
    md += &labels.join(" | ");
    md += " |\n|---|";
    md += &"---|".repeat(labels.len());
    md += "\n";
    let row = |name: &str, p: &CircuitParams| -> String {
        let pred = joint.predict(p);
        let cells: Vec<String> =
            joint.targets.iter().zip(&pred).map(|(t, m)| fmt_nrmse(crate::fit::stats::nrmse(&t.y, m))).collect();
        format!("| {name} | {} |\n", cells.join(" | "))
    };
    for (k, ws) in sets.iter().enumerate() {
        bar.println(format!("cross-validation: fit on {} alone", ws.descriptor.name));
        let alone = problem_over(&sets[k..k + 1], base, spec.parameters.clone(), weighting(spec))?;
        let inert = alone.inert_parameters(start);
        let keep: Vec<usize> =
            (0..spec.parameters.len()).filter(|&j| !inert.contains(&spec.parameters[j].key)).collect();
        let free: Vec<_> = keep.iter().map(|&j| spec.parameters[j].clone()).collect();
        let sub_start: Vec<f64> = keep.iter().map(|&j| start[j]).collect();
        let base_k = joint.params_with(start);
        let alone = problem_over(&sets[k..k + 1], &base_k, free, weighting(spec))?;
        let stages: Vec<_> = spec
            .stages
            .iter()
            .map(|st| {
                let mut st = st.clone();
                st.keys.retain(|key| !inert.contains(key));
                st
            })
            .collect();
        let sol = solve_staged(&alone, &sub_start, &spec.solver, &stages, &|_| {})?;
        let p = alone.params_with(&sol.solution.values);
        let held = if inert.is_empty() { String::new() } else { format!(" (held: {})", inert.join(", ")) };
        md += &row(&format!("{} alone{held}", ws.descriptor.name), &p);
    }
    md += &row("all sets (this fit)", joint_fit);
    let _ = writeln!(md);
    Ok(md)
}

/// Run `stc compare`: every set predicted by one parameter file, NRMSE and R² per set and signal.
pub fn run_compare(a: CompareArgs) -> Result<(), CliError> {
    let mut sets: Vec<WaveformSet> = Vec::new();
    for d in &a.descriptors {
        let ws = WaveformSet::load(d)?;
        if let Some(prev) = sets.iter().position(|w| w.descriptor.name == ws.descriptor.name) {
            return Err(format!(
                "{}: set name `{}` is also the name of {}: set names label the results and must differ",
                d.display(),
                ws.descriptor.name,
                a.descriptors[prev].display()
            )
            .into());
        }
        sets.push(ws);
    }
    let p = params::load_circuit(&a.params)?;
    let stage = atomic::Stage::dir(&a.out, a.force)?;
    let out = stage.path();
    let (none, no_bands) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    let problem = problem_over(&sets, &p, vec![], (&none, &none, &no_bands))?;
    let names = sets.iter().map(|w| w.descriptor.name.as_str()).collect::<Vec<_>>().join(", ");
    overlays(&out, &problem, None, &p, &a.params)?;
    let pred = problem.predict(&p);
    let mut md = format!(
        "# {} against {names}\n\nNRMSE: RMS error over the data's range; last: the final sample of data and model.\n\n\
         | set | signal | NRMSE | R² | last data | last model | last model - data |\n|---|---|---|---|---|---|---|\n",
        a.params
    );
    let mut by_set: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Score>> =
        std::collections::BTreeMap::new();
    for (t, m) in problem.targets.iter().zip(&pred) {
        let set = &problem.sets[t.set].name;
        let f = SignalFit::new(&t.signal, &t.y, m, m);
        let score = Score {
            nrmse: finite(f.nrmse_after),
            r2: finite(f.r2_after),
            last_data: finite(f.last_data),
            last_model: finite(f.last_after),
        };
        by_set.entry(set.clone()).or_default().insert(t.signal.clone(), score);
        md += &format!(
            "| {set} | {} | {} | {} | {:.6e} | {:.6e} | {:.3e} |\n",
            t.signal,
            fmt_nrmse(f.nrmse_after),
            fmt_r2(f.r2_after),
            f.last_data,
            f.last_after,
            f.last_after - f.last_data
        );
        println!("{set:24} {:5} NRMSE {}  R2 {}", t.signal, fmt_nrmse(f.nrmse_after), fmt_r2(f.r2_after));
    }
    atomic::write_atomic(&out.join("compare.md"), md.as_bytes())?;
    // The same numbers for machines: per set, per signal (NRMSE as a fraction, R2, last samples).
    let yaml = serde_yaml::to_string(&CompareYaml { params: a.params.clone(), sets: by_set })?;
    atomic::write_atomic(&out.join("compare.yaml"), yaml.as_bytes())?;
    stage.commit()?;
    Ok(())
}

/// A measure for a YAML file: `null` where it is undefined (constant data, non-finite values), never `.inf` or
/// `.nan`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[derive(serde::Serialize)]
struct Score {
    nrmse: Option<f64>,
    r2: Option<f64>,
    /// The data's and the model's final sample (the consolidated value for v_h), in the signal's SI unit.
    last_data: Option<f64>,
    last_model: Option<f64>,
}

#[derive(serde::Serialize)]
struct CompareYaml {
    params: String,
    sets: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Score>>,
}

/// Whether a fitted key is a delay or a tail current (profiled: their effect goes through thresholds and rails).
fn is_delay_or_tail(key: &str) -> bool {
    key.contains("delay")
        || key.ends_with("_switch.i_on_a")
        || key.ends_with("_switch.i_off_a")
        || key.ends_with("tail_fraction")
        || key.ends_with("tau_tail_s")
}

fn unit_of(key: &str) -> &'static str {
    if key.ends_with("_a") {
        "A"
    } else if key.ends_with("_s") {
        "s"
    } else if key.ends_with("_f") {
        "F"
    } else if key.ends_with("_v") {
        "V"
    } else {
        ""
    }
}

#[derive(serde::Serialize)]
struct FittedParam {
    key: String,
    value: f64,
    role: Role,
    /// Set when the value was fitted by an earlier calibration this fit started from (and kept here).
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
}

/// The fitted parameters of the starting set's own provenance that this fit did not move: a fit that starts from
/// an earlier calibration (e.g. the joint fit from the Fig. 17 fit) keeps them in its `fitted` list, so what
/// `--calibration` carries to other biases is the whole chain, not only the last fit's parameters.
fn inherited_fits(base: &CircuitParams, spec: &FitSpec, fitted: &CircuitParams, start: &str) -> Vec<FittedParam> {
    let list = base.provenance.as_ref().and_then(|v| v.get("fitted")).and_then(|f| f.as_sequence());
    let mut out = Vec::new();
    for item in list.into_iter().flatten() {
        let (Some(key), Some(role)) = (item.get("key").and_then(|k| k.as_str()), item.get("role")) else {
            continue;
        };
        let Ok(role) = serde_yaml::from_value::<Role>(role.clone()) else {
            continue;
        };
        if spec.parameters.iter().any(|p| p.key == key) || spec.fixed.contains_key(key) {
            continue;
        }
        if let Some(value) = fitted.get(key) {
            out.push(FittedParam { key: key.to_string(), value, role, from: Some(start.to_string()) });
        }
    }
    out
}

#[derive(serde::Serialize)]
struct Provenance {
    tool: String,
    date: String,
    descriptor: String,
    spec: String,
    start: String,
    inputs_sha256: std::collections::BTreeMap<String, String>,
    solver: String,
    iterations_global: u64,
    iterations_local: u64,
    evaluations: u64,
    /// Simulations run, counted apart from `evaluations` (one per evaluation and run set with targets).
    simulations: u64,
    evaluations_by_stage: Vec<(String, u64)>,
    cost_start: f64,
    cost: f64,
    wall_s: f64,
    nrmse: std::collections::BTreeMap<String, Option<f64>>,
    fitted: Vec<FittedParam>,
}

/// "seed S", or with several starts "seeds S..S+K-1, best S'".
fn seeds_text(solver: &crate::fit::spec::SolverSpec, won: u64) -> String {
    if solver.starts > 1 {
        let last = solver.seed.wrapping_add(solver.starts as u64 - 1);
        format!("{} starts, seeds {}..{}, best seed {won}", solver.starts, solver.seed, last)
    } else {
        format!("seed {}", solver.seed)
    }
}
