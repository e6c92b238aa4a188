//! Results are never half-written and never silently overwritten.
//!
//! Every output file is written to a temporary sibling and renamed into place (rename is atomic on one file
//! system), so a crash or a full disk leaves either the old file or no file, never a truncated one. Output
//! directories that already exist are refused unless the caller passes `force`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: already exists; pass --force to overwrite it")]
    Exists { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
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
}
