//! `stc run`: the main job on the embedded defaults: calibration (load the checked-in fit, or refit) -> comparison
//! plots -> the network on zeros/ones (thesis protocol) and on ten classes -> a Markdown report with the figures.

use super::fit::{overlays, spikes, targets, FitArgs};
use super::train::{synapse, write_outcome, Bars};
use super::CliError;
use crate::fit::problem::FitProblem;
use crate::fit::stats::nrmse;
use crate::io::atomic;
use crate::io::descriptor::WaveformSet;
use crate::io::mnist;
use crate::network::protocol::{self, peak_rss_mib, Outcome};
use crate::network::NetConfig;
use crate::params;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Run the whole pipeline on the shipped data and write a report (about a minute on 2 cores).
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Refit the calibration from the Cadence waveforms instead of loading it: the Fig. 17 fit, then the joint fit
    /// over Fig. 17 and Fig. 11(b) started from it (writes fits/cadence-fig17.yaml and the calibration file).
    #[arg(long)]
    pub refit: bool,
    /// Waveform-set descriptor used for the calibration and the comparison plots.
    #[arg(long, default_value = "waveforms/cadence-fig17/descriptor.yaml")]
    pub descriptor: PathBuf,
    /// Calibration file to load (and to write with --refit).
    #[arg(long, default_value = "fits/cadence.yaml")]
    pub calibration: PathBuf,
    /// Report directory.
    #[arg(long, default_value = "reports/run")]
    pub out: PathBuf,
    /// Overwrite an existing report directory (and the calibration with --refit).
    #[arg(long)]
    pub force: bool,
}

fn stage(k: usize, name: &str) {
    eprintln!("[{k}/4] {name}");
}

fn network(
    out: &Path,
    classes: Vec<u8>,
    train: &mnist::Dataset,
    test: &mnist::Dataset,
    calibration: &str,
    label: &str,
) -> Result<Outcome, CliError> {
    let (syn, applied) = synapse("mnist-network", Some(calibration))?;
    let cfg = NetConfig { classes, ..NetConfig::default() };
    let bars = Bars::new();
    let t0 = std::time::Instant::now();
    let checkpoints: Vec<usize> = [100, 300, 1000, 3000].into_iter().filter(|&c| c < train.len()).collect();
    let o = protocol::run(cfg.clone(), syn, train, test, 1, &checkpoints, &|s, d, t| {
        bars.update(&format!("{label} {s}"), d, t)
    });
    atomic::prepare_out_dir(out, true)?;
    let mut extra = BTreeMap::new();
    extra.insert("wall_s".to_string(), serde_yaml::to_value(t0.elapsed().as_secs_f64())?);
    extra.insert("params".to_string(), serde_yaml::to_value("mnist-network")?);
    extra.insert("calibration_applied".to_string(), serde_yaml::to_value(&applied)?);
    extra.insert("train_set".to_string(), serde_yaml::to_value(&train.source)?);
    extra.insert("test_set".to_string(), serde_yaml::to_value(&test.source)?);
    extra.insert("network".to_string(), serde_yaml::to_value(&cfg)?);
    write_outcome(out, &o, &extra, cfg.per_class)?;
    Ok(o)
}

/// Run `stc run`.
pub fn run(a: RunArgs) -> Result<(), CliError> {
    atomic::check_out_dir(&a.out, a.force)?;
    let t0 = std::time::Instant::now();
    let mut md = String::from("# stc-synapse: calibration and network report\n\n");
    let _ = writeln!(md, "Produced by `stc run{}` ({}).\n", if a.refit { " --refit" } else { "" }, super::fit::today());

    stage(
        1,
        if a.refit { "calibration: fitting the Cadence waveforms" } else { "calibration: loading the checked-in fit" },
    );
    if a.refit {
        super::fit::run_fit(FitArgs {
            descriptors: vec![a.descriptor.clone()],
            params: None,
            spec: None,
            free: vec![],
            seed: None,
            out: PathBuf::from("fits/cadence-fig17.yaml"),
            report: Some(a.out.join("fit")),
            force: true,
            cross_validate: false,
        })?;
        super::fit::run_fit(FitArgs {
            descriptors: vec![a.descriptor.clone(), PathBuf::from("waveforms/cadence-fig11b/descriptor.yaml")],
            params: None,
            spec: Some(PathBuf::from("waveforms/cadence-fig11b/joint-fit-spec.yaml")),
            free: vec![],
            seed: None,
            out: a.calibration.clone(),
            report: Some(a.out.join("fit-joint")),
            force: true,
            cross_validate: false,
        })?;
    }
    let cal_name = a.calibration.display().to_string();
    let calibrated = params::load_circuit(&cal_name)?;

    stage(2, "comparison plots: uncalibrated thesis model and calibrated model against Cadence");
    let ws = WaveformSet::load(&a.descriptor)?;
    let thesis = params::load_circuit("cadence-fig17")?;
    atomic::prepare_out_dir(&a.out, true)?;
    let n = ws.signals.len();
    let problem = FitProblem::new(calibrated.clone(), vec![], spikes(&ws), targets(&ws), vec![1.0; n], vec![0.0; n]);
    let figs = overlays(&a.out, &problem, Some(&thesis), &calibrated, "Cadence Fig. 17")?;
    let (before, after) = (problem.predict(&thesis), problem.predict(&calibrated));
    let _ = writeln!(md, "## 1. Calibration against Cadence (thesis Fig. 17)\n\nCalibration file: `{cal_name}`.\n\n| signal | NRMSE thesis model | NRMSE calibrated |\n|---|---|---|");
    for (k, t) in problem.targets.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {:.1} % | {:.1} % |",
            t.signal,
            100.0 * nrmse(&t.y, &before[k]),
            100.0 * nrmse(&t.y, &after[k])
        );
    }
    if let Some(k) = problem.targets.iter().position(|t| t.signal == "v_h") {
        let _ = writeln!(
            md,
            "\nFinal v_h: Cadence {:.2} mV, thesis model {:.2} mV, calibrated {:.2} mV.",
            1e3 * problem.targets[k].y.last().copied().unwrap_or(f64::NAN),
            1e3 * before[k].last().copied().unwrap_or(f64::NAN),
            1e3 * after[k].last().copied().unwrap_or(f64::NAN)
        );
    }
    md.push('\n');
    for f in &figs {
        let _ = writeln!(md, "![{f}]({f})\n");
    }
    if a.refit {
        md.push_str("Fit report: [fit/fit-report.md](fit/fit-report.md)\n\n");
    }

    stage(3, "network: zeros and ones (thesis protocol: first 170 training rows, 100 test rows)");
    let o01 = network(
        &a.out.join("network-0-1"),
        vec![0, 1],
        &mnist::embedded_thesis_train().take(170),
        &mnist::embedded_thesis_test(),
        &cal_name,
        "0/1",
    )?;
    stage(4, "network: ten classes (9,000 training digits, 1,000 held-out validation digits)");
    let (train, val) = mnist::embedded_train10k().split(9000);
    let o10 = network(&a.out.join("network-10"), (0..10).collect(), &train, &val, &cal_name, "0-9")?;
    let _ = writeln!(
        md,
        "## 2. Network (thesis section 3.3, calibrated circuit synapse, `mnist-network` biases)\n\n| task | train | test | accuracy early | accuracy late | synapse-steps/s (training) |\n|---|---|---|---|---|---|"
    );
    for (name, o) in [("zeros/ones", &o01), ("ten classes (validation split)", &o10)] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {:.1} % | {:.1} % | {:.2e} |",
            o.n_train,
            o.n_test,
            100.0 * o.accuracy_early,
            100.0 * o.accuracy_late,
            o.synapse_steps_per_s
        );
    }
    let _ = writeln!(
        md,
        "\nLearning curve (ten classes, early phase): {}\n",
        o10.curve.iter().map(|(n, a)| format!("{n}: {:.1} %", 100.0 * a)).collect::<Vec<_>>().join(", ")
    );
    for (dir, title) in [("network-10", "ten classes"), ("network-0-1", "zeros/ones")] {
        let _ = writeln!(md, "### {title}\n\n![weights]({dir}/weights_early.png)\n\n![confusion early]({dir}/confusion_early.png)\n\n![confusion late]({dir}/confusion_late.png)\n");
    }
    let _ = writeln!(md, "![learning curve](network-10/learning_curve.png)\n");
    let wall = t0.elapsed().as_secs_f64();
    let _ = writeln!(
        md,
        "Total wall time {:.0} s; peak resident memory {} MiB.",
        wall,
        peak_rss_mib().map(|m| format!("{m:.0}")).unwrap_or("-".into())
    );
    atomic::write_atomic(&a.out.join("report.md"), md.as_bytes())?;
    println!(
        "zeros/ones: early {:.1} %, late {:.1} %; ten classes: early {:.1} %, late {:.1} %; {:.0} s; report {}",
        100.0 * o01.accuracy_early,
        100.0 * o01.accuracy_late,
        100.0 * o10.accuracy_early,
        100.0 * o10.accuracy_late,
        wall,
        a.out.join("report.md").display()
    );
    Ok(())
}
