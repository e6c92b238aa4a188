//! Synapse models.
