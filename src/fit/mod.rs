//! Calibration: fit declared model parameters to imported waveforms.

pub mod linalg;
pub mod stats;
