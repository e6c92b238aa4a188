//! Input and output: waveform importers, waveform-set descriptors, MNIST loaders and atomic output files.

pub mod atomic;
pub mod descriptor;
pub mod encoding;
pub mod mnist;
pub mod table;
pub mod waveform;
