//! `stc characterise`: the transistor-level reference. For each protocol file (and each Monte Carlo sample),
//! writes the ngspice deck of the sky130 synapse, runs it (all cores, one ngspice per core), imports the result and
//! writes `OUT/<protocol name>/descriptor.yaml` with its `waveforms.txt`, a waveform set `stc fit` and
//! `stc compare` read like any other.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::CliError;
use crate::io::atomic;
use crate::protocol::Protocol;
use crate::spice::{self, deck, Biases, DeckOptions, Stimulus};

/// Arguments of `stc characterise`.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Simulate the transistor-level synapse (circuits/sky130: DPI, WTA comparators, ultra-low-leakage \
                  switches, recovery, bump tag detector, behavioural late phase; SkyWater sky130 models) in ngspice \
                  for each protocol, and write OUT/<protocol name>/descriptor.yaml + waveforms.txt (signals i_ca, \
                  i_hp, i_hd, v_h, z) for `stc fit` and `stc compare`. Needs ngspice and the models: run \
                  scripts/setup-spice once. Unchanged runs are reused from a cache (~/.cache/stc-synapse/runs, or \
                  $STC_RUN_CACHE) keyed by the SHA-256 of deck, circuit and models."
)]
pub struct Args {
    /// The circuit: `sky130` (the shipped netlist) or a folder holding blocks.spice (and biases.yaml).
    pub circuit: String,
    /// Protocol file(s) (YAML; see protocols/); repeat the option for several.
    #[arg(long = "protocol", required = true)]
    pub protocols: Vec<PathBuf>,
    /// Bias file (default: the circuit's biases.yaml).
    #[arg(long)]
    pub biases: Option<PathBuf>,
    /// Temperature, degrees C.
    #[arg(long, default_value_t = 27.0)]
    pub temp: f64,
    /// Monte Carlo mismatch samples per protocol (sky130 mismatch models, seeds 1..=N), written to
    /// OUT/<protocol>/mc-<seed>/; 0 = the nominal device only.
    #[arg(long, default_value_t = 0)]
    pub mc: u32,
    /// Maximum simulator time step, s.
    #[arg(long, default_value_t = 1e-2)]
    pub max_step: f64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace results in OUT that came from different inputs.
    #[arg(long)]
    pub force: bool,
}

/// A protocol file's name and spike trains, through the shared protocol API (Poisson blocks use the file's seed).
fn load_stimulus(path: &Path) -> Result<(Stimulus, String), CliError> {
    let p = Protocol::load(path)?;
    let s = p.spikes();
    Ok((Stimulus { name: p.name.clone(), duration_s: p.duration_s, pre_s: s.pre, post_s: s.post }, p.description))
}

/// One simulation to make.
struct Job {
    stim: Stimulus,
    description: String,
    dir: PathBuf,
    opt: DeckOptions,
}

fn yaml_list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:e}")).collect();
    format!("[{}]", items.join(", "))
}

/// The descriptor of one run (deterministic text: no dates, no host names).
fn descriptor_yaml(job: &Job, b: &Biases, key: &str) -> String {
    let mut s = String::new();
    s.push_str("# Written by `stc characterise` (transistor-level sky130 synapse in ngspice). Do not edit: rerun.\n");
    let name = match job.opt.mc_seed {
        Some(k) => format!("{}-mc{k}", job.stim.name),
        None => job.stim.name.clone(),
    };
    s.push_str(&format!("name: {name}\n"));
    let desc = format!("ngspice 39 + sky130 {}: {}", spice::run::SKY130_VERSION, job.description);
    s.push_str(&format!("description: {}\n", serde_yaml::to_string(&desc).unwrap_or_default().trim()));
    s.push_str("source:\n  file: waveforms.txt\n  format: ngspice\n  options:\n    columns: [");
    let cols: Vec<String> = deck::VECTORS.iter().map(|v| spice::run::signal_trace(v.0)).collect();
    s.push_str(&cols.join(", "));
    s.push_str("]\n");
    s.push_str(&format!(
        "stimulus:\n  duration_s: {:e}\n  pre_spikes_s: {}\n  post_spikes_s: {}\n",
        job.stim.duration_s,
        yaml_list(&job.stim.pre_s),
        yaml_list(&job.stim.post_s)
    ));
    s.push_str("signals:\n");
    for v in deck::VECTORS {
        s.push_str(&format!(
            "  - {{model: {}, trace: \"{}\", unit: \"{}\"}}\n",
            v.1,
            spice::run::signal_trace(v.0),
            v.2
        ));
    }
    s.push_str("metadata:\n");
    s.push_str("  simulator: \"ngspice -b, sky130 tt (trimmed models), circuits/sky130/blocks.spice\"\n");
    s.push_str(&format!("  TEMP_C: \"{}\"\n", job.opt.temp_c));
    s.push_str(&format!(
        "  MC_SEED: \"{}\"\n",
        job.opt.mc_seed.map(|k| k.to_string()).unwrap_or_else(|| "none (nominal)".into())
    ));
    s.push_str(&format!("  MAX_STEP_S: \"{:e}\"\n", job.opt.max_step_s));
    s.push_str(&format!("  RUN_SHA256: \"{key}\"\n"));
    for (k, v) in b.entries() {
        s.push_str(&format!("  {k}: \"{v:e}\"\n"));
    }
    s
}

/// Run `stc characterise`.
pub fn run(a: Args) -> Result<(), CliError> {
    // The output is checked before any work and written into a staging folder that replaces --out only when every
    // run succeeded: a failed or killed run leaves the old result untouched (io::atomic::Stage).
    let stage = atomic::Stage::dir(&a.out, a.force)?;
    let staged = stage.path();
    let (blocks, default_biases) = if a.circuit == "sky130" {
        (spice::BLOCKS_SPICE.to_string(), Biases::default_point())
    } else {
        let dir = PathBuf::from(&a.circuit);
        let bp = dir.join("blocks.spice");
        let blocks = std::fs::read_to_string(&bp)
            .map_err(|e| format!("{}: expected the circuit netlist blocks.spice: {e}", bp.display()))?;
        let bias_file = dir.join("biases.yaml");
        let b = if bias_file.is_file() { Biases::load(&bias_file)? } else { Biases::default_point() };
        (blocks, b)
    };
    let biases = match &a.biases {
        Some(p) => Biases::load(p)?,
        None => default_biases,
    };
    if !(a.temp.is_finite() && (-60.0..=175.0).contains(&a.temp)) {
        return Err(format!("--temp: expected a temperature in [-60, 175] C, found {}", a.temp).into());
    }
    if !(a.max_step.is_finite() && a.max_step > 0.0) {
        return Err(format!("--max-step: expected a positive time, found {}", a.max_step).into());
    }
    let ngspice = spice::find_ngspice()?;
    let models = spice::find_models()?;
    let mut jobs = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for p in &a.protocols {
        let (stim, description) = load_stimulus(p)?;
        if !names.insert(stim.name.clone()) {
            return Err(format!(
                "{}: protocol name {:?} is used twice (names are output folders)",
                p.display(),
                stim.name
            )
            .into());
        }
        let base = DeckOptions { models: models.file.clone(), temp_c: a.temp, mc_seed: None, max_step_s: a.max_step };
        let dir = staged.join(&stim.name);
        if a.mc == 0 {
            jobs.push(Job { stim, description, dir, opt: base });
        } else {
            for k in 1..=a.mc as u64 {
                let opt = DeckOptions { mc_seed: Some(k), ..base.clone() };
                jobs.push(Job {
                    stim: stim.clone(),
                    description: description.clone(),
                    dir: dir.join(format!("mc-{k}")),
                    opt,
                });
            }
        }
    }
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(super::progress::style(
        "{elapsed_precise} [{bar:30}] {count} ngspice runs {msg}",
        ProgressStyle::default_bar(),
    ));
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    let cache = spice::run::cache_dir();
    let start = Instant::now();
    let results: Vec<Result<(bool, usize), CliError>> = pool.install(|| {
        jobs.par_iter()
            .map(|j| {
                let deck_text = deck::synapse_deck(&j.stim, &biases, &j.opt);
                let out = spice::run_deck(&ngspice, &j.dir, &deck_text, &blocks, &models.file, Some(&cache))?;
                let points = out.file.traces.first().map_or(0, |t| t.t_s.len());
                atomic::write_atomic(&j.dir.join("descriptor.yaml"), descriptor_yaml(j, &biases, &out.key).as_bytes())?;
                bar.inc(1);
                bar.set_message(j.stim.name.clone());
                Ok((out.reused, points))
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut reused = 0;
    let mut points = 0;
    for r in results {
        let (re, p) = r?;
        reused += re as usize;
        points += p;
    }
    stage.commit()?;
    println!(
        "characterised {} run(s) ({} reused from the cache, {} time points) in {:.1} s on {} thread(s) -> {}",
        jobs.len(),
        reused,
        points,
        start.elapsed().as_secs_f64(),
        threads,
        a.out.display()
    );
    Ok(())
}
