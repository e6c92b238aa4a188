//! Parameter files.
