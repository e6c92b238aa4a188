//! Spiking network.
