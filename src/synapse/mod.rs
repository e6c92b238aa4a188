//! Synapse models: the circuit-behavioural synapse that composes the blocks, and the Luboeinski-Tetzlaff reference
//! model (thesis Eqs. 2-5) used as the control.

pub mod circuit;
pub mod reference;

pub use circuit::{CircuitParams, CircuitTrace, Spikes};
pub use reference::{ReferenceParams, ReferenceTrace};
