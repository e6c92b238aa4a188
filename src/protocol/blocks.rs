//! Stimulus blocks: a regular or Poisson pre/post train (or a silence), placed at a start time and optionally
//! repeated, and the spike times one block produces.

use crate::stimulus;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a block's trains are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// Regular trains: first spike at the block start (plus the lag for post), then every 1/rate.
    Regular,
    /// Homogeneous Poisson trains at the rates, drawn from the protocol's seed.
    Poisson,
    /// No spikes: documents a pause in the file (rates must be 0).
    Silence,
}

fn one() -> u32 {
    1
}

/// One stimulus block (SI units in the key names). Times are absolute in the protocol (`start_s` from t = 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Regular, Poisson or silence.
    pub kind: BlockKind,
    /// Start of the first repetition [s].
    #[serde(default)]
    pub start_s: f64,
    /// Length of one repetition [s]: trains cover `[start, start + duration)`.
    pub duration_s: f64,
    /// Presynaptic rate [Hz]; 0: no pre spikes.
    #[serde(default)]
    pub pre_rate_hz: f64,
    /// Postsynaptic rate [Hz]; 0: no post spikes.
    #[serde(default)]
    pub post_rate_hz: f64,
    /// The post train's window is shifted by this lag relative to the pre train's [s] (negative: post first).
    /// For regular trains at equal rates every post spike follows its pre spike by exactly this lag.
    #[serde(default)]
    pub post_lag_s: f64,
    /// Number of repetitions (>= 1).
    #[serde(default = "one")]
    pub repeat: u32,
    /// Start-to-start spacing of repetitions [s]; required (>= duration_s) when repeat > 1.
    #[serde(default)]
    pub spacing_s: f64,
}

/// Which train of a block a random stream belongs to.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Pre = 0,
    Post = 1,
}

impl Block {
    /// Start time of repetition `r` [s].
    pub fn repetition_start_s(&self, r: u32) -> f64 {
        self.start_s + r as f64 * self.spacing_s
    }

    /// Earliest time any spike of this block can have [s].
    pub fn earliest_s(&self) -> f64 {
        self.start_s + self.post_lag_s.min(0.0)
    }

    /// End of the last repetition's last window (pre or lagged post) [s].
    pub fn latest_s(&self) -> f64 {
        self.repetition_start_s(self.repeat.saturating_sub(1)) + self.duration_s + self.post_lag_s.max(0.0)
    }

    /// The block's pre and post spike times (unsorted across repetitions only if spacing < duration, which the
    /// parser rejects). `seed` and `index` (the block's position in the file) select independent random streams
    /// per block, repetition and side, so editing one block does not redraw the others.
    pub(crate) fn trains(&self, seed: u64, index: usize) -> (Vec<f64>, Vec<f64>) {
        let mut pre = Vec::new();
        let mut post = Vec::new();
        for r in 0..self.repeat {
            let t0 = self.repetition_start_s(r);
            let t1 = t0 + self.post_lag_s;
            match self.kind {
                BlockKind::Silence => {}
                BlockKind::Regular => {
                    pre.extend(stimulus::regular(self.pre_rate_hz, t0, t0 + self.duration_s));
                    post.extend(stimulus::regular(self.post_rate_hz, t1, t1 + self.duration_s));
                }
                BlockKind::Poisson => {
                    let mut rp = stream(seed, index, r, Side::Pre);
                    pre.extend(stimulus::poisson(self.pre_rate_hz, t0, t0 + self.duration_s, &mut rp));
                    let mut rq = stream(seed, index, r, Side::Post);
                    post.extend(stimulus::poisson(self.post_rate_hz, t1, t1 + self.duration_s, &mut rq));
                }
            }
        }
        (pre, post)
    }
}

/// The random stream of one train: the protocol's seed, and a ChaCha stream number unique to (block, repetition,
/// side).
fn stream(seed: u64, index: usize, rep: u32, side: Side) -> ChaCha8Rng {
    let mut r = stimulus::rng(seed);
    r.set_stream(((index as u64) << 33) | ((rep as u64) << 1) | side as u64);
    r
}
