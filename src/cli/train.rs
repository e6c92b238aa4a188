//! `stc train`: the calibrated synapse in the two-layer network on MNIST (or any IDX/CSV digit set).

use super::CliError;
use crate::io::mnist::{self, Dataset};
use crate::io::{atomic, table};
use crate::network::encode::Encoding;
use crate::network::net::TestResult;
use crate::network::protocol::{self, Outcome};
use crate::network::{NetConfig, SynapseModel};
use crate::params;
use crate::plot::{self, Series, Style};
use crate::synapse::CircuitParams;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The calibration checked in with the product (fits/cadence.yaml: the joint fit over Fig. 17 and Fig. 11(b)), used
/// unless `--calibration` says otherwise.
pub const DEFAULT_CALIBRATION: &str = include_str!("../../fits/cadence.yaml");

/// Weight maps drawn per class (the first neurons of each class); more would make the figure unreadable.
pub const MAPS_PER_CLASS: usize = 4;

/// Train and test the network (thesis section 3.3): rate-encoded digits, teacher currents during training,
/// plasticity off at test; accuracy right after training (early phase) and after an accelerated consolidation
/// interval (late phase).
///
/// Without test files a validation split is held out from the end of the training data. Writes OUT/summary.yaml,
/// confusion matrices (CSV + PNG/SVG), every test sample's output spikes (test_spikes_early.csv,
/// test_spikes_late.csv: label, prediction, each neuron's spike count and first spike time), weight heat maps per
/// output neuron and the learning curve.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Synapse model: the circuit, or the reference equations (thesis Eqs. 2-5) as the control.
    #[arg(long, value_enum, default_value = "circuit")]
    pub model: super::simulate::Model,
    /// Synapse bias preset or parameter file (default: mnist-network; reference for --model reference).
    #[arg(long)]
    pub params: Option<String>,
    /// Calibration (a `stc fit` output) whose fitted circuit properties are applied on top of the biases;
    /// `none` for the ideal blocks. Default: the checked-in fit of the Cadence run.
    #[arg(long)]
    pub calibration: Option<String>,
    /// Training images (IDX, gzip or not).
    #[arg(long, requires = "train_labels")]
    pub train_images: Option<PathBuf>,
    /// Training labels (IDX).
    #[arg(long, requires = "train_images")]
    pub train_labels: Option<PathBuf>,
    /// Training set as CSV (label + pixels).
    #[arg(long, conflicts_with = "train_images")]
    pub train_csv: Option<PathBuf>,
    /// Test images (IDX).
    #[arg(long, requires = "test_labels")]
    pub test_images: Option<PathBuf>,
    /// Test labels (IDX).
    #[arg(long, requires = "test_images")]
    pub test_labels: Option<PathBuf>,
    /// Test set as CSV.
    #[arg(long, conflicts_with = "test_images")]
    pub test_csv: Option<PathBuf>,
    /// Classes to learn, comma-separated (default: all labels present in the training data).
    #[arg(long, value_delimiter = ',')]
    pub classes: Vec<u8>,
    /// Use the first N training samples (after the validation split).
    #[arg(long)]
    pub n_train: Option<usize>,
    /// Use the first M test samples.
    #[arg(long)]
    pub n_test: Option<usize>,
    /// Without a test set, the training data is split in three: the first part trains, the next `--validation`
    /// samples are the validation split (for choices: `--evaluate validation`), the last `--validation` samples
    /// are the untouched test split (reported; never used for a choice). With the shipped 10,000 digits: 0-7,999
    /// train, 8,000-8,999 validation, 9,000-9,999 test.
    #[arg(long, default_value_t = 1000)]
    pub validation: usize,
    /// Which held-out split to test on when no test set is given.
    #[arg(long, value_enum, default_value = "test")]
    pub evaluate: Split,
    /// Control run: `late-phase` (z frozen: the late test must fall to chance), `calibration` (ideal blocks, same
    /// as `--calibration none`), `surrogate` (a fixed lookup table of Delta v_h per pre spike count and post
    /// silent/firing replaces the circuit); homeostasis controls: `readapt` (no re-adaptation of balance and gain
    /// after consolidation), `gain` (gain control off), `balance` (E/I balance off).
    #[arg(long, value_enum)]
    pub ablate: Option<Ablation>,
    /// Voltage term per unit synaptic weight of the output neurons' Eq. 1 [V] (the synaptic gain).
    #[arg(long)]
    pub v_per_weight: Option<f64>,
    /// Background current I_bg of the output neurons' Eq. 1 [A] (all neurons, training and test).
    #[arg(long)]
    pub i_bg: Option<f64>,
    /// Range of the output neurons' gain control: each gain stays within [1/R, R] (default 30).
    #[arg(long, value_name = "R")]
    pub gain_range: Option<f64>,
    /// Output neurons per class (competing for each training sample).
    #[arg(long, default_value_t = 5)]
    pub per_class: usize,
    /// Spike encoding of the pixels.
    #[arg(long, value_enum, default_value = "regular")]
    pub encoding: Encoding,
    /// Seed: the initial v_h (normal, sd 10 mV around V_H0), the mismatch draw, and Poisson trains
    /// (training, test, re-adaptation); with regular trains and no mismatch only the initial v_h.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exact synapse updates: every synapse replays each sample step by step on the single-synapse simulation's
    /// grid (recovery, rails, tag and late phase inside the sample, as `stc simulate` would run it). Circuit model
    /// without `--ablate surrogate`; slower than the default shared path.
    #[arg(long)]
    pub exact: bool,
    /// Device mismatch: every synapse gets its own parameters, each bias current (DPI currents and jumps,
    /// comparator thresholds, switch on/off currents, recovery currents; see `network::net::MISMATCH_CURRENTS`)
    /// times an independent log-normal factor exp(S N(0,1) - S^2/2), seeded from --seed. Runs every synapse on its
    /// own (no trajectory sharing). Circuit model, without --exact or --ablate surrogate.
    #[arg(long, conflicts_with = "mismatch")]
    pub mismatch_sigma: Option<f64>,
    /// Device mismatch from a file: per-parameter relative sigma (log-normal), optional mean and correlations
    /// (YAML; see `data/mismatch/` and `src/params/mismatch.rs`). Every synapse draws its own parameters, seeded
    /// from --seed. Circuit model, without --exact or --ablate surrogate.
    #[arg(long, value_name = "FILE")]
    pub mismatch: Option<PathBuf>,
    /// Device mismatch of the tag detector: every synapse's bump circuit gets its own input offset, normal with
    /// this sigma [V] (mean 0), seeded from --seed on a stream of its own (the currents drawn by --mismatch-sigma or
    /// --mismatch stay the same). The offset shifts both tag thresholds: up at theta_tag - offset, down at
    /// -(theta_tag + offset). Runs every synapse on its own. Circuit model, without --exact or --ablate surrogate.
    #[arg(long, value_name = "V")]
    pub tag_offset_sigma_v: Option<f64>,
    /// Set one network setting by its key in `summary.yaml`'s `network:` block, e.g. `gain_target_v=4e-3`,
    /// `theta_plus_v=2e-4`, `lif.tau_syn_s=5e-3` (SI units in the key; repeatable). Keys with their own flag
    /// (`--per-class`, `--i-bg`, `--seed`, ...) are refused, as is the time scale of a mechanism an `--ablate` turns
    /// off; unknown keys are an error that lists the known ones.
    #[arg(long = "set-network", value_name = "KEY=VALUE")]
    pub set_network: Vec<String>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output directory (kept until the new result is complete).
    #[arg(long)]
    pub force: bool,
    /// Run even when the network would need more than 2 GB of memory.
    #[arg(long)]
    pub allow_large: bool,
}

/// Held-out split to test on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// The validation split (for tuning).
    Validation,
    /// The untouched test split (for reporting).
    Test,
}

/// Controls that show what carries the accuracy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ablation {
    /// Late phase off.
    LatePhase,
    /// Ideal blocks (no calibration).
    Calibration,
    /// Lookup-table surrogate of the synapse.
    Surrogate,
    /// No re-adaptation of balance and gain after consolidation (the late test uses those of the early test).
    Readapt,
    /// Gain control off (every neuron's input gain 1).
    Gain,
    /// E/I balance off (no shared inhibitory input: m_i = 0).
    Balance,
}

/// Synapse parameters: biases plus the calibration's fitted properties carried to these biases by the transfer rule
/// ([`params::transfer`]). Returns them and what was applied, key by key.
pub fn synapse(
    params_name: &str,
    calibration: Option<&str>,
) -> Result<(CircuitParams, Vec<params::transfer::Transferred>), CliError> {
    let mut syn = params::load_circuit(params_name)?;
    let cal = match calibration {
        Some("none") => None,
        Some(path) => Some(params::load_circuit(path)?),
        None => match params::parse(DEFAULT_CALIBRATION, "fits/cadence.yaml (embedded)")? {
            params::AnyParams::Circuit(p) => Some(*p),
            _ => None,
        },
    };
    let refused: Vec<String> = [(params_name, Some(&syn)), (calibration.unwrap_or(""), cal.as_ref())]
        .into_iter()
        .filter_map(|(what, p)| p.map(|p| network_refuses(what, p)))
        .flatten()
        .collect();
    if !refused.is_empty() {
        return Err(refused.join("\n").into());
    }
    let applied = match cal {
        Some(c) => params::apply_calibration(&mut syn, &c)?,
        None => Vec::new(),
    };
    Ok((syn, applied))
}

/// What in the synapse parameters `p` (from `what`, a file or a preset name) the network cannot run, one located
/// message per key (`file:line:column` where `what` is a file), so that all of them show at once:
/// - a transconductor recovery (`capacitor.v_lin_v > 0`): the network's recovery step (`network::net`, `recover`)
///   and its consolidation are closed forms for constant recovery currents. It is refused in the calibration too,
///   which would otherwise not carry it (it does not carry the recovery currents). Its offset and the leakage near
///   V_DD exist only with it (`CapacitorParams::check`), so the message names them;
/// - a switch current that depends on v_h (`on_factor_vs_v_h`): the network computes each trajectory's switched
///   charge once, for any v_h.
fn network_refuses(what: &str, p: &CircuitParams) -> Vec<String> {
    // The file is read only to locate a refusal (most calls refuse nothing).
    let at = |key: &str| match std::fs::read_to_string(what).ok().map(|t| params::locate_key(&t, key)) {
        Some((l, col)) if l > 0 => format!("{what}:{l}:{col}"),
        _ => what.to_string(),
    };
    let mut out = Vec::new();
    let c = &p.capacitor;
    if c.v_lin_v != 0.0 {
        let mut with = Vec::new();
        if c.v_rec_offset_v != 0.0 {
            with.push(format!("its offset capacitor.v_rec_offset_v = {} V", c.v_rec_offset_v));
        }
        if c.i_leak_top_a != 0.0 {
            with.push(format!("the leakage near V_DD capacitor.i_leak_top_a = {:e} A", c.i_leak_top_a));
        }
        let (with, keys) = if with.is_empty() {
            (String::new(), "set it to 0")
        } else {
            (format!(", with {}, which need it", with.join(" and ")), "set these to 0")
        };
        out.push(format!(
            "{}: capacitor.v_lin_v = {} V (a transconductor recovery{with}); the network runs constant recovery \
             currents only (its recovery and consolidation are closed forms for them): {keys}",
            at("capacitor.v_lin_v"),
            c.v_lin_v
        ));
    }
    for (name, u) in [("pot_switch", &p.pot_switch), ("dep_switch", &p.dep_switch)] {
        if !u.on_factor_vs_v_h.is_empty() {
            let key = format!("{name}.on_factor_vs_v_h");
            out.push(format!(
                "{}: {key} (a switch current that depends on v_h); the network computes each trajectory's switched \
                 charge once for any v_h: remove it to run the network",
                at(&key)
            ));
        }
    }
    out
}

fn load(
    images: &Option<PathBuf>,
    labels: &Option<PathBuf>,
    csv: &Option<PathBuf>,
) -> Result<Option<Dataset>, CliError> {
    Ok(match (images, labels, csv) {
        (Some(i), Some(l), _) => Some(mnist::load_idx(i, l)?),
        (_, _, Some(c)) => Some(mnist::load_csv(c)?),
        _ => None,
    })
}

/// Progress bars for the protocol's stages.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Bars {
    /// New set of bars (drawn on stderr; hidden when stderr is not a terminal).
    pub fn new() -> Self {
        Bars { multi: MultiProgress::new(), bars: Mutex::new(BTreeMap::new()) }
    }
    /// Update the bar of a stage.
    pub fn update(&self, stage: &str, done: usize, total: usize) {
        let mut b = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = b.entry(stage.to_string()).or_insert_with(|| {
            let pb = self.multi.add(ProgressBar::new(total as u64));
            pb.set_style(
                super::progress::style(
                    "{prefix:>12} [{bar:40}] {count} {rate} eta {eta}",
                    ProgressStyle::default_bar(),
                )
                .progress_chars("=> "),
            );
            pb.set_prefix(stage.to_string());
            pb
        });
        bar.set_position(done as u64);
        if done >= total {
            bar.finish();
        }
    }
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

/// One row per test sample: its label, the read-out's prediction (-1: no output spike) and every output neuron's
/// spike count (`count_<i>`) and first spike time (`first_spike_<i>_s`, `inf` when it did not fire), so that any
/// other read-out can be computed from the file.
fn write_test_spikes(path: &Path, samples: &[(u8, TestResult)], n_out: usize) -> Result<(), CliError> {
    let label: Vec<f64> = samples.iter().map(|(l, _)| *l as f64).collect();
    let predicted: Vec<f64> = samples.iter().map(|(_, r)| r.predicted.map_or(-1.0, |c| c as f64)).collect();
    let counts: Vec<Vec<f64>> = (0..n_out).map(|i| samples.iter().map(|(_, r)| r.counts[i] as f64).collect()).collect();
    let firsts: Vec<Vec<f64>> = (0..n_out).map(|i| samples.iter().map(|(_, r)| r.first_s[i]).collect()).collect();
    let names: Vec<String> =
        (0..n_out).map(|i| format!("count_{i}")).chain((0..n_out).map(|i| format!("first_spike_{i}_s"))).collect();
    let mut columns: Vec<(&str, &[f64])> = vec![("label", &label), ("predicted", &predicted)];
    columns.extend(names.iter().zip(counts.iter().chain(&firsts)).map(|(n, c)| (n.as_str(), c.as_slice())));
    table::write_csv(path, &columns)?;
    Ok(())
}

/// Write the outcome's files into `out`.
pub fn write_outcome(
    out: &Path,
    o: &Outcome,
    extra: &BTreeMap<String, serde_yaml::Value>,
    per_class: usize,
) -> Result<(), CliError> {
    let labels: Vec<String> = o.classes.iter().map(|c| c.to_string()).collect();
    for (name, conf) in [("confusion_early", &o.confusion_early), ("confusion_late", &o.confusion_late)] {
        let cols: Vec<Vec<f64>> = (0..labels.len()).map(|j| conf.iter().map(|r| r[j] as f64).collect()).collect();
        let named: Vec<String> = labels.iter().map(|l| format!("pred_{l}")).collect();
        let truth: Vec<f64> = o.classes.iter().map(|&c| c as f64).collect();
        let mut columns: Vec<(&str, &[f64])> = vec![("true", &truth)];
        columns.extend(named.iter().zip(&cols).map(|(n, c)| (n.as_str(), c.as_slice())));
        table::write_csv(&out.join(format!("{name}.csv")), &columns)?;
        let phase = if name.ends_with("early") { "early phase" } else { "late phase" };
        plot::plot_confusion(&out.join(name), &format!("Confusion matrix, {phase}"), &labels, conf)?;
    }
    for (name, samples) in [("test_spikes_early", &o.spikes_early), ("test_spikes_late", &o.spikes_late)] {
        write_test_spikes(&out.join(format!("{name}.csv")), samples, o.n_out)?;
    }
    // Heat maps: at most MAPS_PER_CLASS neurons per class keep the figure readable (the title says so).
    let maps: Vec<(String, Vec<f64>)> = o
        .maps_early
        .iter()
        .enumerate()
        .filter(|(i, _)| i % per_class < MAPS_PER_CLASS)
        .map(|(_, m)| m.clone())
        .collect();
    plot::plot_heatmaps(
        &out.join("weights_early"),
        &format!(
            "Signed synaptic weights after training (thesis Fig. 15): {} of {per_class} neurons per class",
            per_class.min(MAPS_PER_CLASS)
        ),
        &maps,
        28,
        28,
        "w - beta V_H0",
        per_class.min(MAPS_PER_CLASS),
    )?;
    let (n, a): (Vec<f64>, Vec<f64>) = o.curve.iter().map(|&(n, a)| (n as f64, a)).unzip();
    table::write_csv(&out.join("learning_curve.csv"), &[("n_train", &n), ("accuracy_early", &a)])?;
    plot::plot_xy(
        &out.join("learning_curve"),
        "Early-phase test accuracy against training samples",
        "training samples",
        "accuracy",
        &[Series { label: "early phase".into(), x: n, y: a, style: Style::Line, color: None }],
        true,
    )?;
    let mut summary = serde_yaml::to_value(o)?;
    if let serde_yaml::Value::Mapping(m) = &mut summary {
        for (k, v) in extra {
            m.insert(serde_yaml::Value::String(k.clone()), v.clone());
        }
    }
    atomic::write_atomic(&out.join("summary.yaml"), serde_yaml::to_string(&summary)?.as_bytes())?;
    Ok(())
}

/// Apply `--set-network KEY=VALUE` settings to `cfg`: the key is a path in the configuration as `summary.yaml`
/// writes it (`lif.i_bg_a`), the value a YAML scalar; the result must deserialise as a configuration again, so a
/// wrong type is an error naming the key.
pub fn set_network(cfg: NetConfig, sets: &[String]) -> Result<NetConfig, CliError> {
    if sets.is_empty() {
        return Ok(cfg);
    }
    let mut root = serde_yaml::to_value(&cfg)?;
    for item in sets {
        let Some((key, value)) = item.split_once('=') else {
            return Err(format!("--set-network expects KEY=VALUE, found `{item}`").into());
        };
        let key = key.trim();
        if let Some((_, flag)) = OWN_FLAG.iter().find(|(k, _)| *k == key) {
            return Err(format!("--set-network: `{key}` has its own flag, {flag}").into());
        }
        let parsed: serde_yaml::Value = serde_yaml::from_str(value.trim())
            .map_err(|e| format!("--set-network {key}: value `{value}` is not a YAML scalar ({e})"))?;
        let mut node = &mut root;
        for part in key.trim().split('.') {
            let map = node.as_mapping_mut().ok_or_else(|| format!("--set-network: `{key}` is not a setting"))?;
            let known: Vec<String> = map.keys().filter_map(|k| k.as_str().map(str::to_string)).collect();
            node = map
                .get_mut(part)
                .ok_or_else(|| format!("--set-network: unknown key `{key}` (expected one of: {})", known.join(", ")))?;
        }
        if node.is_mapping() || node.is_sequence() {
            return Err(format!("--set-network: `{key}` is not a single value; set one of its keys").into());
        }
        *node = parsed;
    }
    let cfg: NetConfig =
        serde_yaml::from_value(root).map_err(|e| format!("--set-network: {e} (in {})", sets.join(" ")))?;
    cfg.check().map_err(|e| format!("--set-network: {e}"))?;
    Ok(cfg)
}

/// Network settings that have their own flag (which checks them against the data and the model).
const OWN_FLAG: [(&str, &str); 13] = [
    ("classes", "--classes"),
    ("per_class", "--per-class"),
    ("encoding", "--encoding"),
    ("seed", "--seed"),
    ("late_phase", "--ablate late-phase"),
    ("exact", "--exact"),
    ("surrogate", "--ablate surrogate"),
    ("mismatch_sigma", "--mismatch-sigma"),
    ("mismatch_file", "--mismatch"),
    ("tag_offset_sigma_v", "--tag-offset-sigma-v"),
    ("lif.i_bg_a", "--i-bg"),
    ("lif.v_per_weight_v", "--v-per-weight"),
    ("gain_range", "--gain-range"),
];

/// Run `stc train`.
pub fn run(a: TrainArgs) -> Result<(), CliError> {
    let stage = atomic::Stage::dir(&a.out, a.force)?;
    super::check::at_least_one("per-class", a.per_class)?;
    if let Some(n) = a.n_train {
        super::check::at_least_one("n-train", n)?;
    }
    if let Some(n) = a.n_test {
        super::check::at_least_one("n-test", n)?;
    }
    // The settings are checked before any data is read (and applied below, after the flags).
    set_network(NetConfig::default(), &a.set_network)?;
    // An ablation switches its mechanism off; a setting of that mechanism's time scale would switch it back on.
    for (ablation, key) in [
        (Ablation::Gain, "gain_tau_samples"),
        (Ablation::Balance, "balance_tau_samples"),
        (Ablation::Readapt, "readapt_samples"),
    ] {
        if a.ablate == Some(ablation) && a.set_network.iter().any(|s| s.split('=').next().map(str::trim) == Some(key)) {
            return Err(format!("--set-network {key} conflicts with --ablate {ablation:?}").to_lowercase().into());
        }
    }
    let reference = a.model == super::simulate::Model::Reference;
    let params_name =
        a.params.clone().unwrap_or_else(|| if reference { "reference".into() } else { "mnist-network".into() });
    let (model, applied) = if reference {
        (SynapseModel::Reference(Box::new(params::load_reference(&params_name)?)), vec![])
    } else {
        let cal = if a.ablate == Some(Ablation::Calibration) { Some("none") } else { a.calibration.as_deref() };
        let (s, ap) = synapse(&params_name, cal)?;
        (SynapseModel::Circuit(Box::new(s)), ap)
    };
    // A mismatch file is read and checked against the synapse it varies before any data is read.
    let mismatch_spec = match (&a.mismatch, &model) {
        (Some(path), SynapseModel::Circuit(s)) => Some(crate::params::mismatch::MismatchSpec::load_for(
            path,
            s,
            &format!("the network's synapse (`{params_name}` with its calibration)"),
        )?),
        _ => None,
    };
    let train_all = load(&a.train_images, &a.train_labels, &a.train_csv)?.unwrap_or_else(mnist::embedded_train10k);
    let test_given = load(&a.test_images, &a.test_labels, &a.test_csv)?;
    train_all.check_mnist_size()?;
    if let Some(t) = &test_given {
        t.check_mnist_size()?;
    }
    let classes = super::check::classes(&a.classes, &train_all)?;
    super::check::network_size(train_all.pixels(), classes.len() * a.per_class, a.allow_large)?;
    // The validation split is taken before class filtering, so that it is the same digits whatever the classes.
    let (mut train, mut test, split) = match test_given {
        Some(t) => (train_all.filter_classes(&classes), t.filter_classes(&classes), "given test set".to_string()),
        None => {
            let n = train_all.len();
            if a.validation == 0 || n <= 2 * a.validation {
                return Err(format!(
                    "{n} training samples cannot hold out 2 x --validation {} (expected --validation 1 to {})",
                    a.validation,
                    n.saturating_sub(1) / 2
                )
                .into());
            }
            let (tr, rest) = train_all.split(n - 2 * a.validation);
            let (va, te) = rest.split(a.validation);
            let (lo, hi) = (n - 2 * a.validation, n - a.validation);
            let (tr, va, te) = (tr.filter_classes(&classes), va.filter_classes(&classes), te.filter_classes(&classes));
            match a.evaluate {
                Split::Validation => (tr, va, format!("validation split: samples {lo}..{hi} of the training data")),
                Split::Test => (tr, te, format!("untouched test split: samples {hi}..{n} of the training data")),
            }
        }
    };
    if let Some(n) = a.n_train {
        train = train.take(n);
    }
    if let Some(m) = a.n_test {
        test = test.take(m);
    }
    super::check::samples_per_class(&classes, &train, &test)?;
    let cfg = NetConfig {
        classes: classes.clone(),
        per_class: a.per_class,
        encoding: a.encoding,
        seed: a.seed,
        late_phase: a.ablate != Some(Ablation::LatePhase),
        exact: a.exact,
        mismatch_sigma: a.mismatch_sigma,
        surrogate: a.ablate == Some(Ablation::Surrogate),
        ..NetConfig::default()
    };
    let mut cfg = cfg;
    match a.ablate {
        Some(Ablation::Readapt) => cfg.readapt_samples = 0,
        Some(Ablation::Gain) => cfg.gain_tau_samples = 0.0,
        Some(Ablation::Balance) => cfg.balance_tau_samples = 0.0,
        _ => {}
    }
    if let Some(r) = a.gain_range {
        if !(r.is_finite() && r >= 1.0) {
            return Err(format!("--gain-range must be a finite factor >= 1, found {r}").into());
        }
        cfg.gain_range = r;
    }
    if let Some(g) = a.v_per_weight {
        if !(g.is_finite() && g > 0.0) {
            return Err(format!("--v-per-weight must be a positive voltage, found {g}").into());
        }
        cfg.lif.v_per_weight_v = g;
    }
    if let Some(i) = a.i_bg {
        if !i.is_finite() {
            return Err(format!("--i-bg must be a finite current, found {i}").into());
        }
        cfg.lif.i_bg_a = i;
    }
    if a.mismatch.is_some() {
        if reference || cfg.surrogate || cfg.exact {
            return Err("--mismatch needs the circuit model, without --exact or --ablate surrogate".into());
        }
        cfg.mismatch_file = mismatch_spec;
    }
    if let Some(sig) = cfg.mismatch_sigma {
        if !(sig.is_finite() && sig >= 0.0) {
            return Err(format!("--mismatch-sigma must be a finite relative sigma >= 0, found {sig}").into());
        }
        if reference || cfg.surrogate || cfg.exact {
            return Err("--mismatch-sigma needs the circuit model, without --exact or --ablate surrogate".into());
        }
    }
    if let Some(sig) = a.tag_offset_sigma_v {
        if !(sig.is_finite() && sig >= 0.0) {
            return Err(format!("--tag-offset-sigma-v must be a finite voltage >= 0, found {sig}").into());
        }
        if reference || cfg.surrogate || cfg.exact {
            return Err("--tag-offset-sigma-v needs the circuit model, without --exact or --ablate surrogate".into());
        }
        cfg.tag_offset_sigma_v = sig;
    }
    let cfg = set_network(cfg, &a.set_network)?;
    if cfg.exact && (reference || cfg.surrogate) {
        return Err("--exact needs the circuit model without --ablate surrogate".into());
    }
    if cfg.surrogate && (reference || cfg.encoding != Encoding::Regular) {
        return Err("--ablate surrogate needs the circuit model and regular encoding".into());
    }
    let checkpoints: Vec<usize> =
        [100, 300, 1000, 3000, 10_000, 30_000].into_iter().filter(|&c| c < train.len()).collect();
    let bars = Bars::new();
    let t0 = std::time::Instant::now();
    let net = match model {
        SynapseModel::Reference(r) => crate::network::Network::new_reference(cfg.clone(), *r, train.pixels()),
        SynapseModel::Circuit(s) => crate::network::Network::new(cfg.clone(), *s, train.pixels()),
    };
    let o = protocol::run_network(net, &train, &test, a.seed, &checkpoints, &|s, d, t| bars.update(s, d, t));
    let wall = t0.elapsed().as_secs_f64();
    let mut extra = BTreeMap::new();
    extra.insert("wall_s".to_string(), serde_yaml::to_value(wall)?);
    extra.insert("params".to_string(), serde_yaml::to_value(&params_name)?);
    extra.insert("model".to_string(), serde_yaml::to_value(if reference { "reference" } else { "circuit" })?);
    extra.insert("calibration_applied".to_string(), serde_yaml::to_value(&applied)?);
    extra.insert("test_set".to_string(), serde_yaml::to_value(format!("{} ({})", test.source, split))?);
    extra.insert("train_set".to_string(), serde_yaml::to_value(&train.source)?);
    extra.insert("seed".to_string(), serde_yaml::to_value(a.seed)?);
    extra.insert("ablate".to_string(), serde_yaml::to_value(a.ablate)?);
    extra.insert("network".to_string(), serde_yaml::to_value(&cfg)?);
    extra.insert("peak_rss_mib".to_string(), serde_yaml::to_value(protocol::peak_rss_mib())?);
    write_outcome(&stage.path(), &o, &extra, a.per_class)?;
    stage.commit()?;
    println!(
        "accuracy early {:.1} %, late {:.1} %; output spike share early {:.1} %, late {:.1} %; memory in z early {:.1} %, late {:.1} % ({} train, {} test, classes {:?}); {:.2e} equivalent synapse-steps/s; {:.1} s",
        100.0 * o.accuracy_early,
        100.0 * o.accuracy_late,
        100.0 * o.output_spike_share_early,
        100.0 * o.output_spike_share_late,
        100.0 * o.memory_early.share_z,
        100.0 * o.memory_late.share_z,
        o.n_train,
        o.n_test,
        o.classes,
        o.synapse_steps_per_s,
        wall
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_network_changes_only_the_named_settings() {
        let base = NetConfig::default();
        let sets = ["gain_target_v=4e-3".to_string(), " lif.tau_syn_s = 4e-3".to_string()];
        let got = set_network(base.clone(), &sets).unwrap();
        assert_eq!(got.gain_target_v, 4e-3);
        assert_eq!(got.lif.tau_syn_s, 4e-3);
        let mut want = base;
        want.gain_target_v = 4e-3;
        want.lif.tau_syn_s = 4e-3;
        assert_eq!(serde_yaml::to_string(&got).unwrap(), serde_yaml::to_string(&want).unwrap());
        assert!(set_network(NetConfig::default(), &["theta_tau_samples=-1".to_string()]).is_err());
    }
}
