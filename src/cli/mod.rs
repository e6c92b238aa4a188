//! The `stc` command.
