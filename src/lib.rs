//! # stc-synapse
//!
//! A behavioural model of a CMOS synapse that implements synaptic tagging and capture (STC, two-phase plasticity),
//! built block by block from the circuit (thesis "Modelling and Simulation of a CMOS Synapse Implementing Two-phase
//! Plasticity", Nicholson 2024, and the circuit of Navarro Quijada 2024), calibrated against transistor-level
//! waveforms, and run at network scale.
//!
//! The folders follow the architecture:
//! - [`blocks`]: one module per circuit block (DPI, WTA comparators, ULL switches, capacitor, bump/anti-bump tag,
//!   late phase). A block knows its equations and its SI parameters, nothing about files or plots.
//! - [`synapse`]: the circuit synapse that composes the blocks, and the Luboeinski-Tetzlaff reference model.
//! - [`params`]: parameter files (YAML, SI units) and the shipped presets.
//! - [`io`]: waveform importers, waveform-set descriptors, MNIST loaders, atomic output.
//! - [`fit`]: calibration of declared parameters against waveforms (argmin), statistics and reports.
//! - [`plot`]: PNG and SVG figures (plotters).
//! - [`protocol`]: stimulus protocol files (blocks of regular or Poisson trains, explicit spike lists).
//! - [`stimulus`]: regular and Poisson spike trains.
//! - [`network`]: the two-layer spiking network on MNIST.
//! - [`cli`]: the `stc` command.

pub mod blocks;
pub mod cli;
pub mod fit;
pub mod io;
pub mod network;
pub mod params;
pub mod plot;
pub mod protocol;
pub mod spice;
pub mod stimulus;
pub mod synapse;
