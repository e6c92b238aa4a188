//! Checks of command-line values made before any work starts: ranges, consistency between options, and estimates
//! of the work a command would do, refused above a limit with the estimate and the flag that allows it.
//!
//! Why here and not in the commands: every command checks the same kinds of things, and a message that names the
//! option, the value and what was expected must read the same everywhere.

use super::CliError;
use crate::io::mnist::Dataset;

/// Bytes of network state per synapse (early and late state, weights and their summaries), measured as peak
/// memory / synapses on the ten-class workload; used only to refuse absurd sizes before allocating them.
pub const BYTES_PER_SYNAPSE: f64 = 24.0;
/// Memory a command may plan to use without `--allow-large` (bytes).
pub const MEMORY_LIMIT: f64 = 2e9;
/// Spikes plus output samples a `stc simulate` run may produce without `--allow-large`.
pub const EVENT_LIMIT: f64 = 2e7;
/// Internal integration steps a `stc simulate` run may take without `--allow-large` (about a minute: 1,000 s of
/// simulated time, 1e7 steps, took 0.6 s on one core).
pub const STEP_LIMIT: f64 = 1e9;

/// `--NAME` must be finite and > 0.
pub fn positive(name: &str, v: f64) -> Result<(), CliError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("--{name} must be a finite number > 0, got {v}").into());
    }
    Ok(())
}

/// `--NAME` must be finite and >= 0.
pub fn non_negative(name: &str, v: f64, unit: &str) -> Result<(), CliError> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("--{name} must be a finite number >= 0 {unit}, got {v}").into());
    }
    Ok(())
}

/// `--NAME` (a count) must be at least 1.
pub fn at_least_one(name: &str, v: usize) -> Result<(), CliError> {
    if v == 0 {
        return Err(format!("--{name} must be at least 1, got 0").into());
    }
    Ok(())
}

/// Refuse work above `limit` unless allowed: the message gives the estimate, the limit and the flag.
pub fn work(what: &str, estimate: f64, limit: f64, unit: &str, allow: bool) -> Result<(), CliError> {
    if estimate > limit && !allow {
        return Err(format!(
            "{what}: about {estimate:.3e} {unit}, above the limit of {limit:.0e} {unit}; pass --allow-large to run it anyway"
        )
        .into());
    }
    Ok(())
}

/// Memory of a network with `n_out` output neurons and `n_in` inputs, refused above [`MEMORY_LIMIT`].
pub fn network_size(n_in: usize, n_out: usize, allow: bool) -> Result<(), CliError> {
    let bytes = n_in as f64 * n_out as f64 * BYTES_PER_SYNAPSE;
    work(&format!("a network of {n_in} x {n_out} synapses needs memory"), bytes, MEMORY_LIMIT, "bytes", allow)
}

/// Spike times must lie inside the simulated time.
pub fn times_within(name: &str, times: &[f64], duration: f64) -> Result<(), CliError> {
    if let Some(t) = times.iter().find(|&&t| !(0.0..=duration).contains(&t)) {
        return Err(
            format!("--{name}: spike at {t} s is outside the simulated time [0, {duration}] s (--duration)").into()
        );
    }
    Ok(())
}

/// The classes to learn: given ones checked (no duplicates, at least two, 0..=9, present in the data), or all
/// classes of the data (at least two).
pub fn classes(requested: &[u8], data: &Dataset) -> Result<Vec<u8>, CliError> {
    let present = data.classes();
    let classes = if requested.is_empty() { present.clone() } else { requested.to_vec() };
    for (k, c) in classes.iter().enumerate() {
        if classes[..k].contains(c) {
            return Err(format!("--classes: class {c} is given twice").into());
        }
        if *c > 9 {
            return Err(format!("--classes: class {c} is not a digit class: expected 0..=9").into());
        }
        if !present.contains(c) {
            return Err(format!(
                "--classes: class {c} is not in the training data {} (its classes: {present:?})",
                data.source
            )
            .into());
        }
    }
    if classes.len() < 2 {
        return Err(format!(
            "{}: at least two classes are needed to learn anything, got {classes:?}",
            if requested.is_empty() { "the training data" } else { "--classes" }
        )
        .into());
    }
    Ok(classes)
}

/// Every class must have a training and a test sample after the split and class filtering.
pub fn samples_per_class(classes: &[u8], train: &Dataset, test: &Dataset) -> Result<(), CliError> {
    let (tr, te) = (train.class_counts(), test.class_counts());
    for &c in classes {
        if tr[c as usize] == 0 || te[c as usize] == 0 {
            return Err(format!(
                "class {c} has {} training and {} test samples: expected at least one of each (more data, or other --classes / --validation / --n-train / --n-test)",
                tr[c as usize], te[c as usize]
            )
            .into());
        }
    }
    Ok(())
}
