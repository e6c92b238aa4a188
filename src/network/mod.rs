//! The two-layer spiking network of thesis section 3.3, built correctly and at scale.
//!
//! 784 rate-encoded inputs (0-40 Hz, 150 ms presentation + 200 ms gap) drive output LIF neurons (thesis Eq. 1)
//! through STC synapses (the circuit model, or its reference equations as a control). During training the neurons
//! of the label class receive +1 nA and all others -1 nA (teacher currents); plasticity is off at test. Testing is
//! done right after training (early phase) and after a consolidation interval with accelerated time constants
//! (late phase). See [`net`] for the design and for where and why it departs from the thesis code.

pub mod encode;
pub mod lif;
pub mod net;
pub mod protocol;
pub mod rule;

pub use net::{MemoryStats, NetConfig, Network, SynapseModel, TestResult};
