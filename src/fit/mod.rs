//! Calibration: fit declared model parameters to imported waveforms.

pub mod extract;
pub mod linalg;
pub mod problem;
pub mod profile;
pub mod report;
pub mod solve;
pub mod spec;
pub mod stats;
