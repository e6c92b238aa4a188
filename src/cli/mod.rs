//! The `stc` command line: one module per subcommand. Errors are printed as `error: ...` with the file, line and
//! column where they apply, and the process exits with status 1 (2 for usage errors); nothing panics on bad input.

use clap::{Parser, Subcommand};

pub mod bench;
pub mod characterise;
pub mod check;
pub mod fit;
pub mod mismatch;
pub mod progress;
pub mod rule;
pub mod run;
pub mod simulate;
pub mod train;

/// Behavioural model, calibration and network simulation of a CMOS synapse with synaptic tagging and capture.
///
/// All quantities are SI (A, V, F, s). Parameter sets are YAML files (see `stc presets`); every output file is
/// written atomically and existing results are never overwritten without --force.
#[derive(Parser, Debug)]
#[command(name = "stc", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The main job: calibration -> comparison plots -> network (zeros/ones and ten classes) -> report.
    Run(run::RunArgs),
    /// Simulate one synapse (circuit or reference model) and write traces.csv and traces.png/.svg.
    Simulate(simulate::Args),
    /// Fit declared parameters to a waveform set (particle swarm, then Nelder-Mead) and write a calibrated file.
    Fit(fit::FitArgs),
    /// Overlay a parameter file's simulation on a waveform set.
    Compare(fit::CompareArgs),
    /// Train and test the spiking network on MNIST (early and late phase).
    Train(train::TrainArgs),
    /// Measure the network's throughput (synapse-steps/s), side by side with per-synapse simulation.
    Bench(bench::BenchArgs),
    /// The learning rule (thesis Fig. 14: Delta v_h per sample, paired / pre-only / post-only / none) at the
    /// network's rates, with the calibration carried to the preset's biases.
    Rule(rule::RuleArgs),
    /// A device-mismatch file from Monte Carlo waveform sets (block quantities read per sample, log-normal spread).
    MismatchExtract(mismatch::MismatchArgs),
    /// Simulate the transistor-level sky130 synapse in ngspice for protocol files -> waveform sets (descriptors).
    Characterise(characterise::Args),
    /// List the shipped parameter presets, or print one as YAML.
    Presets(PresetsArgs),
}

#[derive(clap::Args, Debug)]
struct PresetsArgs {
    /// Preset to print (omit to list them all).
    name: Option<String>,
}

/// Boxed error for the command line: every module's error converts into it.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Numeric options whose value may start with `-` (`--dt -1e-4`): clap's own negative-number rule does not accept
/// exponents, and a clear range message from the command beats "unexpected argument".
const NUMERIC: &[&str] = &[
    "duration",
    "dt",
    "pre_rate",
    "post_rate",
    "stim_start",
    "stim_stop",
    "accel",
    "pre_spikes",
    "post_spikes",
    "seed",
    "samples",
    "reference_samples",
    "per_class",
    "n_train",
    "n_test",
    "validation",
    "classes",
    "per_synapse_samples",
    "mismatch_sigma",
    "tag_offset_sigma_v",
    "temp",
    "mc",
    "max_step",
    "v_per_weight",
    "i_bg",
];

/// Parse the command line, run the subcommand, and return the exit status.
pub fn main() -> i32 {
    // Negative numbers reach the checks (which say what is expected) instead of clap's "unexpected argument '-1'".
    use clap::{CommandFactory, FromArgMatches};
    crate::io::atomic::install_interrupt_handler();
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for n in names {
        cmd = cmd.mut_subcommand(n, |s| {
            let numeric: Vec<String> = s
                .get_arguments()
                .filter(|a| NUMERIC.contains(&a.get_id().as_str()))
                .map(|a| a.get_id().to_string())
                .collect();
            numeric
                .into_iter()
                .fold(s.allow_negative_numbers(true), |s, id| s.mut_arg(id, |a| a.allow_hyphen_values(true)))
        });
    }
    let cli = match cmd.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Fit(a) => fit::run_fit(a),
        Command::Compare(a) => fit::run_compare(a),
        Command::MismatchExtract(a) => mismatch::run(a),
        Command::Train(a) => train::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Rule(a) => rule::run(a),
        Command::Characterise(a) => characterise::run(a),
        Command::Presets(a) => presets(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn presets(a: PresetsArgs) -> Result<(), CliError> {
    match a.name {
        None => {
            for (name, text) in crate::params::PRESETS {
                let desc = text.lines().find_map(|l| l.strip_prefix("description: ")).unwrap_or("");
                println!("{name:16} {desc}");
            }
        }
        Some(n) => match crate::params::PRESETS.iter().find(|(p, _)| *p == n) {
            Some((_, text)) => print!("{text}"),
            None => crate::params::load(&n).map(|_| ())?,
        },
    }
    Ok(())
}

/// Parse a comma-separated list of numbers (spike times in s).
pub fn parse_list(s: &str) -> Result<Vec<f64>, String> {
    let mut v = Vec::new();
    for (k, part) in s.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let x: f64 = part.parse().map_err(|_| format!("item {} `{part}` is not a number", k + 1))?;
        if !x.is_finite() || x < 0.0 {
            return Err(format!("item {} `{part}` must be a finite time >= 0 s", k + 1));
        }
        v.push(x);
    }
    v.sort_by(f64::total_cmp);
    Ok(v)
}
