//! Transistor-level reference simulations: the synapse of `circuits/sky130` in ngspice with the SkyWater sky130
//! device models.
//!
//! Users fit the behavioural model to circuit simulations; this module produces those simulations from a circuit
//! nobody shaped to the model. It writes ngspice decks ([`deck`]: spike trains as PWL sources, the bias file as
//! reference currents), runs `ngspice -b` as subprocesses on all cores ([`run`]), reuses unchanged runs through a
//! cache keyed by a hash of the deck, the circuit and the models, and imports the `wrdata` output with the
//! project's own ngspice importer ([`crate::io::waveform`]). `stc characterise` ([`crate::cli::characterise`]) is
//! the command around it; `scripts/setup-spice` installs ngspice and the models.

pub mod bias;
pub mod deck;
pub mod run;

pub use bias::{BiasError, Biases};
pub use deck::{DeckOptions, Stimulus};
pub use run::{find_models, find_ngspice, run_deck, RunError, RunOutput, Sky130Models};

/// The circuit netlist (all block subcircuits and the composed synapse), embedded so that `stc characterise` works
/// from any directory; `circuits/sky130/blocks.spice` is the file.
pub const BLOCKS_SPICE: &str = include_str!("../../circuits/sky130/blocks.spice");

/// The default bias point, `circuits/sky130/biases.yaml`.
pub const DEFAULT_BIASES: &str = include_str!("../../circuits/sky130/biases.yaml");
