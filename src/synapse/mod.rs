//! Synapse models: the circuit-behavioural synapse that composes the blocks, and the Luboeinski-Tetzlaff reference
//! model (thesis Eqs. 2-5) used as the control.

pub mod charge;
pub mod circuit;
pub mod percent;
pub mod reference;

pub use circuit::{simulations_run, CircuitParams, CircuitTrace, Spikes};
pub use percent::WeightPercent;
pub use reference::{ReferenceParams, ReferenceTrace};
