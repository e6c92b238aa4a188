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
///
/// Works from any directory: the Cadence waveform set and the calibration are embedded in the binary. Nothing
/// outside --out is written unless asked (--save-fit); --out is replaced only when the whole run succeeded.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Refit the calibration from the Cadence waveforms (written to OUT/calibration.yaml, report in OUT/fit)
    /// instead of loading it.
    #[arg(long)]
    pub refit: bool,
    /// Waveform-set descriptor used for the calibration and the comparison plots (default: the embedded Cadence
    /// Fig. 17 set, copied to OUT/inputs/cadence-fig17).
    #[arg(long)]
    pub descriptor: Option<PathBuf>,
    /// Calibration file to load without --refit (default: the embedded fits/cadence.yaml). Never written.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// With --refit, also save the new calibration to this file (refused if it exists, unless --force).
    #[arg(long, requires = "refit")]
    pub save_fit: Option<PathBuf>,
    /// Report directory.
    #[arg(long, default_value = "reports/run")]
    pub out: PathBuf,
    /// Replace an existing report directory (and the --save-fit file); the old one is kept until the run succeeded.
    #[arg(long)]
    pub force: bool,
}

/// The Cadence Fig. 17 waveform set, embedded so that `stc run` works from any directory.
const EMBEDDED_SET: [(&str, &[u8]); 3] = [
    ("descriptor.yaml", include_bytes!("../../waveforms/cadence-fig17/descriptor.yaml")),
    ("fit-spec.yaml", include_bytes!("../../waveforms/cadence-fig17/fit-spec.yaml")),
    (
        "cadence_fig17_post2ms_pre4ms.csv",
        include_bytes!("../../waveforms/cadence-fig17/cadence_fig17_post2ms_pre4ms.csv"),
    ),
];

/// Write the embedded waveform set into `dir`; returns the descriptor's path.
fn embedded_set(dir: &Path) -> Result<PathBuf, CliError> {
    for (name, bytes) in EMBEDDED_SET {
        atomic::write_atomic(&dir.join(name), bytes)?;
    }
    Ok(dir.join("descriptor.yaml"))
}

fn stage(k: usize, name: &str) {
    eprintln!("[{k}/4] {name}");
}

fn network(
    out: &Path,
    cfg: NetConfig,
    train: &mnist::Dataset,
    test: &mnist::Dataset,
    calibration: Option<&str>,
    label: &str,
) -> Result<Outcome, CliError> {
    let (syn, applied) = synapse("mnist-network", calibration)?;
    let bars = Bars::new();
    let t0 = std::time::Instant::now();
    let checkpoints: Vec<usize> = [100, 300, 1000, 3000].into_iter().filter(|&c| c < train.len()).collect();
    let o = protocol::run(cfg.clone(), syn, train, test, 1, &checkpoints, &|s, d, t| {
        bars.update(&format!("{label} {s}"), d, t)
    });
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
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
    let stage_out = atomic::Stage::dir(&a.out, a.force)?;
    let save_stage = a.save_fit.as_ref().map(|p| atomic::Stage::file(p, a.force)).transpose()?;
    let out = stage_out.path();
    let t0 = std::time::Instant::now();
    let mut md = String::from("# stc-synapse: calibration and network report\n\n");
    let _ = writeln!(md, "Produced by `stc run{}` ({}).\n", if a.refit { " --refit" } else { "" }, super::fit::today());
    let descriptor = match &a.descriptor {
        Some(d) => d.clone(),
        None => embedded_set(&out.join("inputs/cadence-fig17"))?,
    };

    stage(
        1,
        if a.refit { "calibration: fitting the Cadence waveforms" } else { "calibration: loading the checked-in fit" },
    );
    // The calibration: the new fit (inside the run's folder), a given file, or the embedded one.
    let cal_path: Option<PathBuf> = if a.refit {
        let path = out.join("calibration.yaml");
        super::fit::run_fit(FitArgs {
            descriptors: vec![descriptor.clone()],
            params: None,
            spec: None,
            free: vec![],
            seed: None,
            starts: None,
            out: path.clone(),
            report: Some(out.join("fit")),
            force: false,
            cross_validate: false,
        })?;
        Some(path)
    } else {
        a.calibration.clone()
    };
    let cal_arg = cal_path.as_ref().map(|p| p.display().to_string());
    let cal_name = match (&a.calibration, a.refit) {
        (_, true) => "calibration.yaml (refitted by this run)".to_string(),
        (Some(c), false) => c.display().to_string(),
        (None, false) => "fits/cadence.yaml (embedded)".to_string(),
    };
    let calibrated = match &cal_arg {
        Some(p) => params::load_circuit(p)?,
        None => match params::parse(super::train::DEFAULT_CALIBRATION, "fits/cadence.yaml (embedded)")? {
            params::AnyParams::Circuit(p) => *p,
            _ => return Err("the embedded calibration is not a circuit parameter set".into()),
        },
    };

    stage(2, "comparison plots: uncalibrated thesis model and calibrated model against Cadence");
    let ws = WaveformSet::load(&descriptor)?;
    let thesis = params::load_circuit("cadence-fig17")?;
    let n = ws.signals.len();
    let problem = FitProblem::new(calibrated.clone(), vec![], spikes(&ws), targets(&ws), vec![1.0; n], vec![0.0; n]);
    let figs = overlays(&out, &problem, Some(&thesis), &calibrated, "Cadence Fig. 17")?;
    let (before, after) = (problem.predict(&thesis), problem.predict(&calibrated));
    let _ = writeln!(md, "## 1. Calibration against Cadence (thesis Fig. 17)\n\nCalibration file: `{cal_name}`.\n\n| signal | NRMSE thesis model | NRMSE calibrated |\n|---|---|---|");
    for (k, t) in problem.targets.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            t.signal,
            crate::fit::report::fmt_nrmse(nrmse(&t.y, &before[k])),
            crate::fit::report::fmt_nrmse(nrmse(&t.y, &after[k]))
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
    let zeros_ones = NetConfig::zeros_ones();
    let i_bg_01 = zeros_ones.lif.i_bg_a;
    let o01 = network(
        &out.join("network-0-1"),
        zeros_ones,
        &mnist::embedded_thesis_train().take(170),
        &mnist::embedded_thesis_test(),
        cal_arg.as_deref(),
        "0/1",
    )?;
    stage(4, "network: ten classes (digits 0-7,999 train, 9,000-9,999 untouched test) and the controls");
    let all = mnist::embedded_train10k();
    let (train, rest) = all.split(8000);
    let (_, test) = rest.split(1000);
    let cal = cal_arg.as_deref();
    let ten = NetConfig { classes: (0..10).collect(), ..NetConfig::default() };
    let i_bg_10 = ten.lif.i_bg_a;
    let o10 = network(&out.join("network-10"), ten.clone(), &train, &test, cal, "0-9")?;
    let late_off = NetConfig { late_phase: false, ..ten.clone() };
    let o_lp = network(&out.join("ablate-late-phase"), late_off, &train, &test, cal, "late off")?;
    let o_id = network(&out.join("ablate-calibration"), ten.clone(), &train, &test, Some("none"), "ideal")?;
    let sur = NetConfig { surrogate: true, ..ten.clone() };
    let o_su = network(&out.join("ablate-surrogate"), sur, &train, &test, cal, "surrogate")?;
    // Homeostasis controls: what the circuit-level balance, gain control and re-adaptation carry.
    let no_readapt = NetConfig { readapt_samples: 0, ..ten.clone() };
    let o_ra = network(&out.join("ablate-readapt"), no_readapt, &train, &test, cal, "no re-adaptation")?;
    let no_gain = NetConfig { gain_tau_samples: 0.0, ..ten.clone() };
    let o_ga = network(&out.join("ablate-gain"), no_gain, &train, &test, cal, "gain off")?;
    let no_balance = NetConfig { balance_tau_samples: 0.0, ..ten };
    let o_ba = network(&out.join("ablate-balance"), no_balance, &train, &test, cal, "balance off")?;
    let _ = writeln!(
        md,
        "## 2. Network (thesis section 3.3, calibrated circuit synapse, `mnist-network` biases)\n\nSpiking read-out: the class with the most output spikes (ties: first spike); a sample without an output spike counts as wrong. Early test right after training; late test after the accelerated consolidation, when v_h is back at V_H0 and only z carries the memory. Background current I_bg {:.3} nA for ten classes, {:.3} nA for zeros/ones (each network's own bias, chosen on its validation split; README).\n\n| task | train | test | accuracy early | accuracy late | samples with an output spike (early / late) | memory in z (early / late) | equivalent synapse-steps/s (training) |\n|---|---|---|---|---|---|---|---|",
        1e9 * i_bg_10,
        1e9 * i_bg_01
    );
    for (name, o) in [
        ("zeros/ones", &o01),
        ("ten classes", &o10),
        ("ten classes, late phase off", &o_lp),
        ("ten classes, ideal blocks (no calibration)", &o_id),
        ("ten classes, lookup-table surrogate synapse", &o_su),
        ("ten classes, no re-adaptation after consolidation", &o_ra),
        ("ten classes, gain control off", &o_ga),
        ("ten classes, E/I balance off", &o_ba),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {:.1} % | {:.1} % | {:.1} % / {:.1} % | {:.1} % / {:.1} % | {:.2e} |",
            o.n_train,
            o.n_test,
            100.0 * o.accuracy_early,
            100.0 * o.accuracy_late,
            100.0 * o.output_spike_share_early,
            100.0 * o.output_spike_share_late,
            100.0 * o.memory_early.share_z,
            100.0 * o.memory_late.share_z,
            o.synapse_steps_per_s
        );
    }
    let m = &o10.memory_early;
    let _ = writeln!(
        md,
        "\nTen classes at the early test: {} of {} synapses tagged, {} of them with protein ({} of {} neurons have protein); {} synapses have z != z_init. In training, {} synapse-samples ended tagged while their neuron had no protein yet (the protein condition withheld their late phase); {}.\n",
        m.tagged,
        m.synapses,
        m.tagged_with_protein,
        m.neurons_with_protein,
        o10.n_out,
        m.z_changed,
        m.tagged_without_protein,
        match m.samples_until_all_protein {
            Some(k) => format!("every neuron had protein after training sample {k}"),
            None => "some neuron never got protein".to_string(),
        }
    );
    for (when, m) in [("early", &o10.memory_early), ("late", &o10.memory_late)] {
        let _ = writeln!(
            md,
            "Homeostasis at the {when} test (ten classes): input gains g_i {:.2} / {:.2} / {:.2} (min / median / max; {} of {} at a limit of [1/{r}, {r}]); inhibitory weights m_i {:+.4} / {:+.4} / {:+.4} of the resting weight.\n",
            m.gain_min,
            m.gain_median,
            m.gain_max,
            m.gains_at_limit,
            o10.n_out,
            m.inhib_min_rel,
            m.inhib_median_rel,
            m.inhib_max_rel,
            r = NetConfig::default().gain_range
        );
    }
    if let Some(f) = &o10.fig14 {
        let _ = writeln!(
            md,
            "Learning rule of the synapse used (thesis Fig. 14 at the network's rates, `stc rule`):\n\n{}",
            f.markdown()
        );
    }
    let shown = NetConfig::default().per_class.min(super::train::MAPS_PER_CLASS);
    let per_class = NetConfig::default().per_class;
    for (dir, title, o) in [("network-0-1", "zeros/ones", &o01), ("network-10", "ten classes", &o10)] {
        let _ = writeln!(
            md,
            "### {title}\n\nWeight maps after training: the first {shown} of the {per_class} neurons of each class.\n\n![weights]({dir}/weights_early.png)\n\n![confusion early]({dir}/confusion_early.png)\n\n![confusion late]({dir}/confusion_late.png)\n"
        );
        if !o.curve.is_empty() {
            let _ = writeln!(
                md,
                "Learning curve ({title}, early phase): {}\n\n![learning curve]({dir}/learning_curve.png)\n",
                o.curve.iter().map(|(n, a)| format!("{n}: {:.1} %", 100.0 * a)).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let _ = writeln!(
        md,
        "Total wall time {:.0} s; peak resident memory {} MiB.",
        wall,
        peak_rss_mib().map(|m| format!("{m:.0}")).unwrap_or("-".into())
    );
    atomic::write_atomic(&out.join("report.md"), md.as_bytes())?;
    if let (Some(save), Some(cal)) = (&save_stage, &cal_path) {
        std::fs::copy(cal, save.path()).map_err(|e| format!("{}: {e}", save.target().display()))?;
    }
    // The report folder and the saved calibration are one result: both swapped in, or neither.
    atomic::commit_all(std::iter::once(stage_out).chain(save_stage).collect())?;
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
