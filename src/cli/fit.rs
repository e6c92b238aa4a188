//! `stc fit` and `stc compare`: calibrate the circuit model against a waveform set, and draw overlays.

use super::CliError;
use crate::fit::problem::{FitProblem, Target};
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
    /// Waveform-set descriptor (YAML).
    pub descriptor: PathBuf,
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
    /// Output parameter file, e.g. fits/NAME.yaml.
    #[arg(long)]
    pub out: PathBuf,
    /// Report directory (Markdown + PNG/SVG figures + CSV tables).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Overwrite existing outputs.
    #[arg(long)]
    pub force: bool,
}

/// Draw data-vs-model overlays and residuals for any parameter file.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Circuit parameter set (preset or file) to compare.
    #[arg(long)]
    pub params: String,
    /// Waveform-set descriptor (YAML).
    pub descriptor: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing output directory.
    #[arg(long)]
    pub force: bool,
}

/// The measured signals of a set as fit targets.
pub fn targets(ws: &WaveformSet) -> Vec<Target> {
    ws.signals
        .iter()
        .map(|s| Target { signal: s.signal.name().to_string(), t_s: s.t_s.clone(), y: s.values.clone() })
        .collect()
}

/// The stimulus of a set as spike trains.
pub fn spikes(ws: &WaveformSet) -> Spikes {
    let st = &ws.descriptor.stimulus;
    let mut s = Spikes { pre: st.pre_spikes_s.clone(), post: st.post_spikes_s.clone() };
    s.pre.sort_by(f64::total_cmp);
    s.post.sort_by(f64::total_cmp);
    s
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
        let stem = dir.join(format!("overlay_{}", t.signal));
        plot::plot_overlay(
            &stem,
            &format!("{title}: {}", t.signal),
            &format!("{} {unit}", t.signal),
            scale,
            &t.t_s,
            &t.y,
            pb.as_ref().map(|p| p[k].as_slice()),
            &pa[k],
        )?;
        files.push(format!("overlay_{}.png", t.signal));
    }
    Ok(files)
}

/// Run `stc fit`.
pub fn run_fit(a: FitArgs) -> Result<(), CliError> {
    let out_stage = atomic::Stage::file(&a.out, a.force)?;
    let report_stage = a.report.as_ref().map(|r| atomic::Stage::dir(r, a.force)).transpose()?;
    let ws = WaveformSet::load(&a.descriptor)?;
    let spec_path =
        a.spec.clone().unwrap_or_else(|| a.descriptor.parent().unwrap_or(Path::new(".")).join("fit-spec.yaml"));
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
    let start_name = a
        .params
        .clone()
        .or_else(|| spec.start.clone())
        .or_else(|| ws.params_path_or_name())
        .ok_or("no starting parameters: pass --params, or set `start` in the spec or `params` in the descriptor")?;
    let base = params::load_circuit(&start_name)?;
    spec.check_keys(&spec_name, &base.keys())?;
    let tg = targets(&ws);
    let w: Vec<f64> = tg.iter().map(|t| *spec.weights.get(&t.signal).unwrap_or(&1.0)).collect();
    let ew: Vec<f64> = tg.iter().map(|t| *spec.endpoint_weights.get(&t.signal).unwrap_or(&0.0)).collect();
    let problem = FitProblem::new(base.clone(), spec.parameters.clone(), spikes(&ws), tg, w, ew);
    let start: Vec<f64> = spec
        .parameters
        .iter()
        .map(|f| f.start.unwrap_or_else(|| base.get(&f.key).unwrap_or(f.lower)).clamp(f.lower, f.upper))
        .collect();

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} fit [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let counter = problem.evaluations();
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
    let pb = problem.predict(&base);
    let pa = problem.predict(&fitted);
    let sig: Vec<SignalFit> =
        problem.targets.iter().enumerate().map(|(k, t)| SignalFit::new(&t.signal, &t.y, &pb[k], &pa[k])).collect();

    // Calibrated parameter file with provenance.
    let mut out_params = fitted.clone();
    out_params.name = a.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "fit".into());
    out_params.description = format!("{} calibrated against {} by `stc fit`", base.name, ws.descriptor.name);
    let prov = serde_yaml::to_value(Provenance {
        tool: format!("stc-synapse {}", env!("CARGO_PKG_VERSION")),
        date: today(),
        descriptor: a.descriptor.display().to_string(),
        spec: spec_name.clone(),
        start: start_name.clone(),
        inputs_sha256: ws.file_sha256.clone(),
        solver: format!(
            "argmin ParticleSwarm ({} particles, seed {}) then NelderMead on logit-transformed parameters; stages: {}",
            spec.solver.particles,
            spec.solver.seed,
            result.stages.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(" -> ")
        ),
        iterations_global: sol.global_iterations,
        iterations_local: sol.local_iterations,
        evaluations: sol.evaluations,
        cost_start: sol.cost_start,
        cost: sol.cost,
        wall_s: wall,
        nrmse: sig.iter().map(|s| (s.signal.clone(), s.nrmse_after)).collect(),
        fitted: spec
            .parameters
            .iter()
            .zip(&sol.values)
            .map(|(f, v)| FittedParam { key: f.key.clone(), value: *v, role: f.role })
            .collect(),
    })?;
    out_params.provenance = Some(prov);
    let header = format!(
        "Calibrated by `stc fit {}` on {} ({:.1} s).\nNRMSE after the fit: {}",
        a.descriptor.display(),
        today(),
        wall,
        sig.iter().map(|s| format!("{} {:.1} %", s.signal, 100.0 * s.nrmse_after)).collect::<Vec<_>>().join(", ")
    );
    let yaml = params::circuit_to_yaml(&out_params, &header);
    // Validate what we write by reading it back.
    params::parse(&yaml, &a.out.display().to_string())?;

    if let Some(stage) = &report_stage {
        let dir = &stage.path();
        let figs = overlays(dir, &problem, Some(&base), &fitted, &ws.descriptor.name)?;
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
                a.descriptor.display(),
                ws.descriptor.description.clone().unwrap_or_default()
            ),
            format!("start: `{start_name}`; spec: `{}`; output: `{}`", spec_path.display(), a.out.display()),
            format!(
                "solver: particle swarm ({} particles, seed {}) then Nelder-Mead on logit-transformed parameters",
                spec.solver.particles, spec.solver.seed
            ),
            format!(
                "cost {:.4e} -> {:.4e} in {} evaluations, {:.1} s",
                sol.cost_start, sol.cost, sol.evaluations, wall
            ),
            format!(
                "final v_h: data {} / model {}",
                sig.iter()
                    .find(|s| s.signal == "v_h")
                    .map(|s| format!("{:.2} mV", s.last_data * 1e3))
                    .unwrap_or("-".into()),
                sig.iter()
                    .find(|s| s.signal == "v_h")
                    .map(|s| format!("{:.2} mV", s.last_after * 1e3))
                    .unwrap_or("-".into())
            ),
        ];
        let md = markdown(
            &format!("Fit report: {}", ws.descriptor.name),
            &lines,
            &sig,
            &stats,
            &roles,
            &result.stages,
            &figs,
        );
        atomic::write_atomic(&dir.join("fit-report.md"), md.as_bytes())?;
    }
    atomic::write_atomic(&out_stage.path(), yaml.as_bytes())?;
    if let Some(stage) = report_stage {
        stage.commit()?;
    }
    out_stage.commit()?;
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
    if let Some(v) = sig.iter().find(|s| s.signal == "v_h") {
        println!("final v_h: data {:.2} mV, model {:.2} mV", v.last_data * 1e3, v.last_after * 1e3);
    }
    println!(
        "cost {:.4e} -> {:.4e}, {} evaluations, {:.1} s; wrote {}",
        sol.cost_start,
        sol.cost,
        sol.evaluations,
        wall,
        a.out.display()
    );
    Ok(())
}

/// Run `stc compare`.
pub fn run_compare(a: CompareArgs) -> Result<(), CliError> {
    let ws = WaveformSet::load(&a.descriptor)?;
    let p = params::load_circuit(&a.params)?;
    let stage = atomic::Stage::dir(&a.out, a.force)?;
    let out = stage.path();
    let problem = FitProblem::new(
        p.clone(),
        vec![],
        spikes(&ws),
        targets(&ws),
        vec![1.0; ws.signals.len()],
        vec![0.0; ws.signals.len()],
    );
    overlays(&out, &problem, None, &p, &format!("{} vs {}", a.params, ws.descriptor.name))?;
    let pred = problem.predict(&p);
    let mut md = format!(
        "# {} against {}\n\n| signal | NRMSE | R² | last data | last model |\n|---|---|---|---|---|\n",
        a.params, ws.descriptor.name
    );
    for (t, m) in problem.targets.iter().zip(&pred) {
        let f = SignalFit::new(&t.signal, &t.y, m, m);
        md += &format!(
            "| {} | {} | {} | {:.6e} | {:.6e} |\n",
            t.signal,
            fmt_nrmse(f.nrmse_after),
            fmt_r2(f.r2_after),
            f.last_data,
            f.last_after
        );
        println!("{:5} NRMSE {}  R2 {}", t.signal, fmt_nrmse(f.nrmse_after), fmt_r2(f.r2_after));
    }
    atomic::write_atomic(&out.join("compare.md"), md.as_bytes())?;
    stage.commit()?;
    Ok(())
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
    cost_start: f64,
    cost: f64,
    wall_s: f64,
    nrmse: std::collections::BTreeMap<String, f64>,
    fitted: Vec<FittedParam>,
}
