//! Results are never half-written and never silently overwritten.
//!
//! Every output file is written to a temporary sibling and renamed into place (rename is atomic on one file
//! system), so a crash or a full disk leaves either the old file or no file, never a truncated one. A command's
//! whole output (a folder or a file) goes through a [`Stage`]: written into a staging folder next to the target and
//! swapped in only when the run succeeded, so a failed or killed run never mixes old and new files. Existing
//! results are refused unless the caller passes `force`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{path}: already exists; pass --force to replace it (the old result is kept until the new one is complete)"
    )]
    Exists { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {what}")]
    Target { path: PathBuf, what: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, flushed, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// Refuse to overwrite an existing file unless `force`.
pub fn check_new_file(path: &Path, force: bool) -> Result<(), OutputError> {
    if path.exists() && !force {
        return Err(OutputError::Exists { path: path.to_path_buf() });
    }
    Ok(())
}

/// Refuse an existing non-empty output directory unless `force` (checked before long work starts).
pub fn check_out_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    if dir.exists() && !force && fs::read_dir(dir).map_err(io_err(dir))?.next().is_some() {
        return Err(OutputError::Exists { path: dir.to_path_buf() });
    }
    Ok(())
}

/// Prepare an output directory: refuse an existing non-empty one unless `force`, create it otherwise.
pub fn prepare_out_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    check_out_dir(dir, force)?;
    fs::create_dir_all(dir).map_err(io_err(dir))
}

/// Why an output target cannot be staged.
fn target_error(path: &Path, what: String) -> OutputError {
    OutputError::Target { path: path.to_path_buf(), what }
}

/// Whether the process `pid` is still running (Linux: `/proc/PID`; elsewhere assume it is, so nothing of a
/// concurrent run is ever removed).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

const STAGING: &str = "stc-staging";
const OLD: &str = "stc-old";

/// The sibling names a stage of `target` uses: `.NAME.stc-staging-PID` and `.NAME.stc-old-PID`.
fn sibling(target: &Path, kind: &str, pid: u32) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    parent_of(target).join(format!(".{name}.{kind}-{pid}"))
}

fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn remove_any(path: &Path) {
    if path.is_dir() {
        let _ = fs::remove_dir_all(path);
    } else {
        let _ = fs::remove_file(path);
    }
}

/// Clean what killed runs left next to `target`: staging folders are removed; an old result that was moved aside
/// and never removed (the run died between the two renames of a commit) is put back if the target is missing.
fn clean_stale(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let Ok(entries) = fs::read_dir(parent_of(target)) else { return };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        for kind in [STAGING, OLD] {
            let Some(pid) = file.strip_prefix(&format!(".{name}.{kind}-")).and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if alive(pid) {
                continue;
            }
            if kind == OLD && !target.exists() && fs::rename(e.path(), target).is_ok() {
                continue;
            }
            remove_any(&e.path());
        }
    }
}

/// Staging folders of this process that are not committed yet; the Ctrl-C handler removes them. A commit holds
/// the lock while it renames, so an interruption waits for a commit in progress instead of cutting it in half.
static LIVE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Subprocesses of this process that are running (ngspice runs of `stc characterise`); the Ctrl-C handler stops
/// them, so that an interrupted run leaves no simulator behind (a `kill -INT` reaches only this process, not its
/// process group).
static CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `command` to completion as [`std::process::Command::output`] does, registered so that Ctrl-C stops it.
pub fn output_interruptible(command: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    use std::process::Stdio;
    let child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id();
    children().push(pid);
    let out = child.wait_with_output();
    children().retain(|&p| p != pid);
    out
}

/// On Ctrl-C (SIGINT): stop the registered subprocesses, remove the live staging folders, so that the old results
/// stay as they were and nothing half-written is left, print a line and exit with status 130. Installed once by the
/// command line.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        for &pid in children().iter() {
            #[cfg(unix)]
            // SAFETY: kill(2) has no memory effects. The pid is one this process spawned; it is unregistered right
            // after `wait` reaps it, so only in that instant could a listed pid have been reused.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
            #[cfg(not(unix))]
            let _ = pid;
        }
        let staged = live();
        for path in staged.iter() {
            remove_any(path);
        }
        eprintln!("interrupted: nothing was written; existing results are unchanged");
        std::process::exit(130);
    });
}

/// An output being written: everything goes into a fresh staging folder next to the target
/// (`.NAME.stc-staging-PID`), and [`Stage::commit`] swaps it in only when the whole run succeeded.
///
/// Why: files written one by one are each atomic, but a folder of results is not; a run that fails or is killed
/// half-way must leave either the old result (untouched, since nothing touched it) or nothing, never a mix.
/// Dropping a stage without committing removes the staging folder; a killed run's staging folder is removed by the
/// next run on the same target. The target is checked when the stage opens, before any work: an existing result
/// without `force`, a file where a folder is expected (or the reverse), and an unwritable parent are errors.
#[derive(Debug)]
pub struct Stage {
    target: PathBuf,
    staging: PathBuf,
    folder: bool,
    committed: bool,
}

impl Stage {
    /// Stage an output folder (e.g. `--out DIR`). An existing empty folder counts as new.
    pub fn dir(target: &Path, force: bool) -> Result<Stage, OutputError> {
        if target.exists() && !target.is_dir() {
            return Err(target_error(
                target,
                "is a file; expected a folder for the results (choose another --out)".into(),
            ));
        }
        if target.is_dir() && !force && fs::read_dir(target).map_err(io_err(target))?.next().is_some() {
            return Err(OutputError::Exists { path: target.to_path_buf() });
        }
        Stage::open(target, true)
    }

    /// Stage one output file (e.g. `--out fits/NAME.yaml`); write it at [`Stage::path`].
    pub fn file(target: &Path, force: bool) -> Result<Stage, OutputError> {
        if target.is_dir() {
            return Err(target_error(target, "is a folder; expected a file name such as fits/NAME.yaml".into()));
        }
        if target.exists() && !force {
            return Err(OutputError::Exists { path: target.to_path_buf() });
        }
        Stage::open(target, false)
    }

    fn open(target: &Path, folder: bool) -> Result<Stage, OutputError> {
        if target.file_name().is_none() {
            return Err(target_error(target, "has no file name; expected a path such as reports/NAME".into()));
        }
        let parent = parent_of(target);
        if parent.exists() && !parent.is_dir() {
            return Err(target_error(parent, "is a file; expected a folder to hold the output".into()));
        }
        fs::create_dir_all(parent)
            .map_err(|e| target_error(parent, format!("cannot create the output's folder: {e}")))?;
        clean_stale(target);
        let staging = sibling(target, STAGING, std::process::id());
        remove_any(&staging);
        let mut staged = live();
        fs::create_dir(&staging).map_err(|e| target_error(parent, format!("cannot write into this folder: {e}")))?;
        staged.push(staging.clone());
        drop(staged);
        Ok(Stage { target: target.to_path_buf(), staging, folder, committed: false })
    }

    /// Where to write: the staging folder (folder stages) or the staged file (file stages).
    pub fn path(&self) -> PathBuf {
        if self.folder {
            self.staging.clone()
        } else {
            self.staging.join(self.target.file_name().unwrap_or_default())
        }
    }

    /// The final location (for messages).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Swap the staged result in: the old result is moved aside, the new one renamed into place, the old one
    /// removed. If the second rename fails the old result is put back.
    pub fn commit(self) -> Result<(), OutputError> {
        commit_all(vec![self])
    }

    /// Move the old result (if any) aside and rename the staged one into place; returns where the old one went.
    /// If the second rename fails the old result is put back.
    fn swap_in(&mut self) -> Result<Option<PathBuf>, OutputError> {
        let target = self.target.clone();
        let staged = self.path();
        if !self.folder && !staged.exists() {
            return Err(target_error(&target, "was not written by the run (nothing to commit)".into()));
        }
        let old = sibling(&target, OLD, std::process::id());
        let had_old = target.exists();
        if had_old {
            remove_any(&old);
            fs::rename(&target, &old).map_err(io_err(&target))?;
        }
        if let Err(e) = fs::rename(&staged, &target) {
            if had_old {
                let _ = fs::rename(&old, &target);
            }
            return Err(io_err(&target)(e));
        }
        if !self.folder {
            let _ = fs::remove_dir_all(&self.staging);
        }
        self.committed = true;
        Ok(had_old.then_some(old))
    }
}

/// Commit the stages of one run as one result: an interruption waits until all are swapped in (the lock is held
/// throughout), and if any swap fails the ones already swapped are undone and the old results put back. Why: a run
/// that writes a report folder and a calibration file (`stc run --refit --save-fit`) must never leave a new report
/// beside an old calibration.
///
/// Fault injection for tests: with the environment variable `STC_FAIL_BEFORE_COMMIT` set (non-empty), the commit
/// fails after the run has written everything, exactly as a failed rename would, so that a test can check that a
/// run failing at its last step leaves the old results as they were.
pub fn commit_all(mut stages: Vec<Stage>) -> Result<(), OutputError> {
    if std::env::var_os("STC_FAIL_BEFORE_COMMIT").is_some_and(|v| !v.is_empty()) {
        let target = stages.first().map(|s| s.target.clone()).unwrap_or_default();
        return Err(target_error(&target, "not committed: STC_FAIL_BEFORE_COMMIT is set (fault injection)".into()));
    }
    let mut staged = live();
    let mut swapped: Vec<(usize, Option<PathBuf>)> = Vec::new();
    let mut failure = None;
    for (k, stage) in stages.iter_mut().enumerate() {
        match stage.swap_in() {
            Ok(old) => swapped.push((k, old)),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_some() {
        for (k, old) in swapped.drain(..).rev() {
            let target = &stages[k].target;
            remove_any(target);
            if let Some(old) = old {
                let _ = fs::rename(&old, target);
            }
        }
        for stage in &mut stages {
            remove_any(&stage.staging);
            stage.committed = true; // nothing left to clean on drop
        }
    }
    for (_, old) in &swapped {
        if let Some(old) = old {
            remove_any(old);
        }
    }
    staged.retain(|p| !stages.iter().any(|s| s.staging == *p));
    drop(staged);
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.committed {
            let mut staged = live();
            remove_any(&self.staging);
            staged.retain(|p| *p != self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    }

    #[test]
    fn existing_outputs_are_refused_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fit.yaml");
        fs::write(&p, "x").unwrap();
        assert!(matches!(check_new_file(&p, false), Err(OutputError::Exists { .. })));
        assert!(check_new_file(&p, true).is_ok());
        assert!(matches!(prepare_out_dir(dir.path(), false), Err(OutputError::Exists { .. })));
        assert!(prepare_out_dir(dir.path(), true).is_ok());
        assert!(prepare_out_dir(&dir.path().join("new"), false).is_ok());
    }

    /// A folder and a file committed together: both new on success; on a failure of the second, both old, and
    /// nothing else left next to them.
    #[test]
    fn stages_committed_together_are_all_new_or_all_old() {
        let dir = tempfile::tempdir().unwrap();
        let (out, fit) = (dir.path().join("r"), dir.path().join("cal.yaml"));
        let old_state = || {
            fs::create_dir_all(&out).unwrap();
            fs::write(out.join("report.md"), "old report").unwrap();
            fs::write(&fit, "old fit").unwrap();
        };
        let listing = || {
            let mut n: Vec<String> =
                fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
            n.sort();
            n
        };
        old_state();
        // The second stage was never written: the commit fails and the first swap is undone.
        let a = Stage::dir(&out, true).unwrap();
        fs::write(a.path().join("report.md"), "new report").unwrap();
        let b = Stage::file(&fit, true).unwrap();
        assert!(commit_all(vec![a, b]).is_err());
        assert_eq!(fs::read_to_string(out.join("report.md")).unwrap(), "old report");
        assert_eq!(fs::read_to_string(&fit).unwrap(), "old fit");
        assert_eq!(listing(), vec!["cal.yaml", "r"]);
        assert!(!live().iter().any(|p| p.starts_with(dir.path())));
        // Both written: both new.
        let a = Stage::dir(&out, true).unwrap();
        fs::write(a.path().join("report.md"), "new report").unwrap();
        let b = Stage::file(&fit, true).unwrap();
        fs::write(b.path(), "new fit").unwrap();
        commit_all(vec![a, b]).unwrap();
        assert_eq!(fs::read_to_string(out.join("report.md")).unwrap(), "new report");
        assert_eq!(fs::read_to_string(&fit).unwrap(), "new fit");
        assert_eq!(listing(), vec!["cal.yaml", "r"]);
    }
}
