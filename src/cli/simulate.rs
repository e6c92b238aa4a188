//! `stc simulate`: one synapse, given spike times or rates, traces to CSV and a figure.

use super::{parse_list, CliError};
use crate::io::{atomic, table};
use crate::params::{self, AnyParams};
use crate::plot::{self, HLine, Panel, Series, Style};
use crate::protocol::Protocol;
use crate::stimulus;
use crate::synapse::{CircuitParams, ReferenceParams, Spikes, WeightPercent};
use std::path::{Path, PathBuf};

/// Which model to simulate.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Circuit-behavioural synapse (blocks of the CMOS circuit).
    Circuit,
    /// Luboeinski-Tetzlaff reference equations (thesis Eqs. 2-5).
    Reference,
}

/// Simulate one synapse.
///
/// Spikes come from a protocol file (--protocol protocols/fig11-strong-potentiation.yaml; see protocols/README.md),
/// or, as a shorthand, from explicit times (--pre-spikes/--post-spikes) and/or rates in a stimulation window
/// (--pre-rate/--post-rate with --stim-start/--stim-stop; Poisson with --seed, or --regular). Writes
/// OUT/protocol.yaml (the protocol as run), OUT/traces.csv (circuit: t_s,i_ca_A,i_hp_A,i_hd_A,v_h_V,z,w;
/// reference: t_s,c_mM,h_V,z,p,w_V; both then epw_pct,lpw_pct,total_pct) and OUT/traces.png + .svg.
///
/// The per-cent columns are the thesis' Fig. 11 quantities, relative to the resting weight: EPW% = 100 v_h / V_H0
/// (reference: 100 h / h0), LPW% = 100 (1 + z), total% = EPW% + LPW% - 100 = 100 w / w_rest.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Parameter preset name or YAML file (default: thesis-fig9 for the circuit, reference for the reference model).
    #[arg(long)]
    pub params: Option<String>,
    /// Model to simulate (default: the model of the parameter file).
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Protocol file (YAML: blocks of regular or Poisson trains, spike lists, duration; see protocols/README.md).
    #[arg(long, conflicts_with_all = ["duration", "pre_spikes", "post_spikes", "pre_rate", "post_rate", "stim_start", "stim_stop", "regular"])]
    pub protocol: Option<PathBuf>,
    /// Simulated time [s] (required without --protocol).
    #[arg(long, required_unless_present = "protocol")]
    pub duration: Option<f64>,
    /// Output sample interval [s].
    #[arg(long, default_value_t = 1e-4)]
    pub dt: f64,
    /// Presynaptic spike times [s], comma-separated.
    #[arg(long, value_parser = parse_times)]
    pub pre_spikes: Option<Times>,
    /// Postsynaptic spike times [s], comma-separated.
    #[arg(long, value_parser = parse_times)]
    pub post_spikes: Option<Times>,
    /// Presynaptic rate [Hz] inside the stimulation window.
    #[arg(long, default_value_t = 0.0)]
    pub pre_rate: f64,
    /// Postsynaptic rate [Hz] inside the stimulation window.
    #[arg(long, default_value_t = 0.0)]
    pub post_rate: f64,
    /// Start of the stimulation window [s].
    #[arg(long, default_value_t = 0.0)]
    pub stim_start: f64,
    /// End of the stimulation window [s] (default: the duration).
    #[arg(long)]
    pub stim_stop: Option<f64>,
    /// Regular trains instead of Poisson for the rates.
    #[arg(long)]
    pub regular: bool,
    /// Seed of the Poisson trains (default 1; with --protocol, overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Acceleration K of the slow processes, the same in both models (thesis Fig. 11(b): 32): circuit: recovery
    /// currents x K and late-phase tau_z / K; reference: recovery term of Eq. 3 x K, tau_z / K and protein tau_p / K.
    /// Induction (calcium, comparators, potentiation and depression) is not accelerated.
    #[arg(long)]
    pub accel: Option<f64>,
    /// Output directory (refused if it exists and is not empty, unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output directory (kept until the new result is complete).
    #[arg(long)]
    pub force: bool,
    /// Run even when the estimated work is above the limits (2e7 spikes + output samples, 1e9 internal steps).
    #[arg(long)]
    pub allow_large: bool,
}

/// A comma-separated list of times [s].
#[derive(Clone, Debug, Default)]
pub struct Times(pub Vec<f64>);

fn parse_times(s: &str) -> Result<Times, String> {
    parse_list(s).map(Times)
}

use super::check::positive as check_positive;

/// Check the shorthand flags (times, rates, window) against each other and the spikes they imply, before any
/// train is drawn (a rate of 1e12 Hz must be refused, not generated).
fn check_flags(a: &Args, duration: f64) -> Result<(), CliError> {
    use super::check;
    check::non_negative("pre-rate", a.pre_rate, "Hz")?;
    check::non_negative("post-rate", a.post_rate, "Hz")?;
    check::non_negative("stim-start", a.stim_start, "s")?;
    let stop = a.stim_stop.unwrap_or(duration);
    check::non_negative("stim-stop", stop, "s")?;
    if stop < a.stim_start {
        return Err(
            format!("--stim-stop {stop} s is before --stim-start {} s: expected start <= stop", a.stim_start).into()
        );
    }
    if a.stim_start > duration || stop > duration {
        return Err(format!(
            "the stimulation window [{}, {stop}] s ends after --duration {duration} s: expected it inside the simulated time",
            a.stim_start
        )
        .into());
    }
    if let Some(t) = &a.pre_spikes {
        check::times_within("pre-spikes", &t.0, duration)?;
    }
    if let Some(t) = &a.post_spikes {
        check::times_within("post-spikes", &t.0, duration)?;
    }
    let spikes = (a.pre_rate + a.post_rate) * (stop - a.stim_start);
    check::work(
        "--pre-rate / --post-rate over the stimulation window",
        spikes,
        check::EVENT_LIMIT,
        "spikes",
        a.allow_large,
    )
}

/// Check the sampling and the work of a run of `duration` seconds.
fn check_run(a: &Args, duration: f64) -> Result<(), CliError> {
    use super::check;
    check_positive("dt", a.dt)?;
    if a.dt > duration {
        return Err(format!("--dt {} s is longer than the duration {duration} s: expected dt <= duration", a.dt).into());
    }
    check::work("duration / --dt (output samples)", duration / a.dt, check::EVENT_LIMIT, "samples", a.allow_large)?;
    // The slow parts (recovery, late phase) are integrated in steps of at most max_step_s (0.1 ms by default).
    check::work(
        &format!("a duration of {duration} s in internal steps of 0.1 ms"),
        duration / 1e-4,
        check::STEP_LIMIT,
        "steps",
        a.allow_large,
    )?;
    if let Some(k) = a.accel {
        check_positive("accel", k)?;
    }
    Ok(())
}

/// The protocol to run: the --protocol file, or one built from the shorthand flags.
fn protocol(a: &Args) -> Result<Protocol, CliError> {
    if let Some(path) = &a.protocol {
        return Ok(Protocol::load(path)?);
    }
    let duration = a.duration.ok_or("--duration is required without --protocol")?;
    check_positive("duration", duration)?;
    check_run(a, duration)?;
    check_flags(a, duration)?;
    let s = spikes(a, duration)?;
    Ok(Protocol::explicit("command-line", "stc simulate flags", duration, s)?)
}

/// Build the spike trains from the shorthand flags.
fn spikes(a: &Args, duration: f64) -> Result<Spikes, CliError> {
    let stop = a.stim_stop.unwrap_or(duration);
    let mut rng = stimulus::rng(a.seed.unwrap_or(1));
    let mut train = |rate: f64| {
        if a.regular {
            stimulus::regular(rate, a.stim_start, stop)
        } else {
            stimulus::poisson(rate, a.stim_start, stop, &mut rng)
        }
    };
    let mut pre = a.pre_spikes.clone().unwrap_or_default().0;
    pre.extend(train(a.pre_rate));
    let mut post = a.post_spikes.clone().unwrap_or_default().0;
    post.extend(train(a.post_rate));
    pre.sort_by(f64::total_cmp);
    post.sort_by(f64::total_cmp);
    Ok(Spikes { pre, post })
}

/// Run `stc simulate`.
pub fn run(a: Args) -> Result<(), CliError> {
    let prot = protocol(&a)?;
    let duration = prot.duration_s;
    check_run(&a, duration)?;
    let default = match a.model {
        Some(Model::Reference) => "reference",
        _ => "thesis-fig9",
    };
    let loaded = params::load(a.params.as_deref().unwrap_or(default))?;
    let s = match a.seed {
        Some(seed) if a.protocol.is_some() => prot.spikes_with_seed(seed),
        _ => prot.spikes(),
    };
    let stage = atomic::Stage::dir(&a.out, a.force)?;
    let out = stage.path();
    // The protocol as run (with the seed actually used), so that the traces can be reproduced from OUT alone.
    let mut as_run = prot.clone();
    if let (Some(seed), Some(_)) = (a.seed, &a.protocol) {
        as_run.seed = seed;
    }
    atomic::write_atomic(&out.join("protocol.yaml"), as_run.to_yaml().as_bytes())?;
    match (loaded, a.model) {
        (AnyParams::Circuit(mut p), None | Some(Model::Circuit)) => {
            if let Some(k) = a.accel {
                p.capacitor.accel = k;
                p.late.accel = k;
            }
            write_circuit(&p, &s, duration, a.dt, &out)?;
        }
        (AnyParams::Reference(mut p), None | Some(Model::Reference)) => {
            if let Some(k) = a.accel {
                p.accel = k;
            }
            write_reference(&p, &s, duration, a.dt, &out)?;
        }
        (_, Some(m)) => {
            return Err(format!(
                "--model {} does not match the parameter file `{}` (pass a {} parameter set)",
                if m == Model::Circuit { "circuit" } else { "reference" },
                a.params.as_deref().unwrap_or(default),
                if m == Model::Circuit { "circuit" } else { "reference" }
            )
            .into())
        }
    }
    stage.commit()?;
    Ok(())
}

fn line(label: &str, x: &[f64], y: &[f64], color: (u8, u8, u8)) -> Series {
    Series { label: label.into(), x: x.to_vec(), y: y.to_vec(), style: Style::Line, color: Some(color) }
}

/// EPW, LPW and total weight in per cent of the resting weight, as thesis Fig. 11 plots them.
fn percent_panel(t: &[f64], pct: &WeightPercent) -> Panel {
    Panel {
        title: "Weights relative to rest (thesis Fig. 11)".into(),
        y_label: "weight [%]".into(),
        y_scale: 1.0,
        series: vec![
            line("EPW", t, &pct.epw_pct, (148, 103, 189)),
            line("LPW", t, &pct.lpw_pct, (140, 86, 75)),
            line("total", t, &pct.total_pct, (0, 0, 0)),
        ],
        hlines: vec![HLine { label: "rest".into(), y: 100.0 }],
    }
}

/// Simulate the circuit model and write its CSV and figure.
pub fn write_circuit(p: &CircuitParams, s: &Spikes, duration: f64, dt: f64, out: &Path) -> Result<(), CliError> {
    let tr = p.simulate(s, duration, dt);
    let pct = WeightPercent::circuit(p, &tr);
    table::write_csv(
        &out.join("traces.csv"),
        &[
            ("t_s", &tr.t_s),
            ("i_ca_A", &tr.i_ca_a),
            ("i_hp_A", &tr.i_hp_a),
            ("i_hd_A", &tr.i_hd_a),
            ("v_h_V", &tr.v_h_v),
            ("z", &tr.z),
            ("w", &tr.w),
            ("epw_pct", &pct.epw_pct),
            ("lpw_pct", &pct.lpw_pct),
            ("total_pct", &pct.total_pct),
        ],
    )?;
    let t = &tr.t_s;
    let (xs, xl) = if duration < 1.0 { (1e3, "t [ms]") } else { (1.0, "t [s]") };
    let panels = vec![
        Panel {
            title: "Calcium current (DPI)".into(),
            y_label: "i_ca [pA]".into(),
            y_scale: 1e12,
            series: vec![line("i_ca", t, &tr.i_ca_a, (31, 119, 180))],
            hlines: vec![
                HLine { label: "I_THPOT".into(), y: p.pot_comparator.threshold_a },
                HLine { label: "I_THDEP".into(), y: p.dep_comparator.threshold_a },
            ],
        },
        Panel {
            title: "Potentiation and depression currents (ULL switches)".into(),
            y_label: "current [pA]".into(),
            y_scale: 1e12,
            series: vec![line("i_hp", t, &tr.i_hp_a, (44, 160, 44)), line("i_hd", t, &tr.i_hd_a, (214, 39, 40))],
            hlines: vec![],
        },
        Panel {
            title: "Early-phase voltage".into(),
            y_label: "v_h [V]".into(),
            y_scale: 1.0,
            series: vec![line("v_h", t, &tr.v_h_v, (148, 103, 189))],
            hlines: vec![HLine { label: "V_H0".into(), y: p.capacitor.v_h0_v }],
        },
        Panel {
            title: "Late-phase weight".into(),
            y_label: "z".into(),
            y_scale: 1.0,
            series: vec![line("z", t, &tr.z, (140, 86, 75))],
            hlines: vec![],
        },
        percent_panel(t, &pct),
    ];
    let title = format!("Circuit synapse ({}): {} pre, {} post spikes", p.name, s.pre.len(), s.post.len());
    plot::plot_panels(&out.join("traces"), &title, xl, xs, &panels)?;
    Ok(())
}

/// Simulate the reference model and write its CSV and figure.
pub fn write_reference(p: &ReferenceParams, s: &Spikes, duration: f64, dt: f64, out: &Path) -> Result<(), CliError> {
    let tr = p.simulate(&s.pre, &s.post, duration, dt);
    let pct = WeightPercent::reference(p, &tr);
    table::write_csv(
        &out.join("traces.csv"),
        &[
            ("t_s", &tr.t_s),
            ("c_mM", &tr.c_mm),
            ("h_V", &tr.h_v),
            ("z", &tr.z),
            ("p", &tr.p),
            ("w_V", &tr.w_v),
            ("epw_pct", &pct.epw_pct),
            ("lpw_pct", &pct.lpw_pct),
            ("total_pct", &pct.total_pct),
        ],
    )?;
    let t = &tr.t_s;
    let (xs, xl) = if duration < 1.0 { (1e3, "t [ms]") } else { (1.0, "t [s]") };
    let panels = vec![
        Panel {
            title: "Calcium (Eq. 2)".into(),
            y_label: "c [mM]".into(),
            y_scale: 1.0,
            series: vec![line("c", t, &tr.c_mm, (31, 119, 180))],
            hlines: vec![
                HLine { label: "theta_p".into(), y: p.theta_p_mm },
                HLine { label: "theta_d".into(), y: p.theta_d_mm },
            ],
        },
        Panel {
            title: "Early-phase weight (Eq. 3)".into(),
            y_label: "h [mV]".into(),
            y_scale: 1e3,
            series: vec![line("h", t, &tr.h_v, (148, 103, 189))],
            hlines: vec![HLine { label: "h0".into(), y: p.h0_v }],
        },
        Panel {
            title: "Late-phase weight (Eq. 4)".into(),
            y_label: "z".into(),
            y_scale: 1.0,
            series: vec![line("z", t, &tr.z, (140, 86, 75))],
            hlines: vec![],
        },
        Panel {
            title: "Protein (Eq. 5, time constant tau_p)".into(),
            y_label: "p".into(),
            y_scale: 1.0,
            series: vec![line("p", t, &tr.p, (255, 127, 14))],
            hlines: vec![],
        },
        percent_panel(t, &pct),
    ];
    let title = format!("Reference synapse ({}): {} pre, {} post spikes", p.name, s.pre.len(), s.post.len());
    plot::plot_panels(&out.join("traces"), &title, xl, xs, &panels)?;
    Ok(())
}
