//! Circuit blocks.
