//! Calibration: fit declared model parameters to imported waveforms.

pub mod linalg;
pub mod stats;
pub mod problem;
pub mod solve;
pub mod spec;
pub mod report;
