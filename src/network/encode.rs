//! Rate encoding of pixels into spike trains (thesis section 3.3.2): intensity 0..255 maps linearly to 0..40 Hz
//! during the 150 ms presentation.
//!
//! - [`Encoding::Regular`]: the thesis' trains: `n = floor(rate * T)` spikes, evenly spaced from the window
//!   start (interval `T/n` rounded down to the 1 ms grid, as the thesis code did). Every pixel with the same
//!   n has the same train, which the network exploits to share synapse trajectories.
//! - [`Encoding::Poisson`]: a homogeneous Poisson train at the pixel's rate, seeded per run.

use crate::stimulus;
use rand::Rng;

/// Spike-train encoding of the pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// The thesis' regular trains.
    Regular,
    /// Poisson trains (seeded).
    Poisson,
}

/// Number of spikes of the thesis' regular train for a pixel.
pub fn regular_count(pixel: u8, max_rate_hz: f64, window_s: f64) -> usize {
    let rate = pixel as f64 / 255.0 * max_rate_hz;
    (rate * window_s + 1e-9).floor() as usize
}

/// The thesis' regular train with `n` spikes in a window of `window_s` seconds (1 ms grid).
pub fn regular_train(n: usize, window_s: f64) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let steps = (window_s * 1000.0).round() as usize;
    let interval = (steps / n).max(1);
    (0..n).map(|k| (k * interval) as f64 * 1e-3).collect()
}

/// Poisson train for a pixel.
pub fn poisson_train(pixel: u8, max_rate_hz: f64, window_s: f64, rng: &mut impl Rng) -> Vec<f64> {
    stimulus::poisson(pixel as f64 / 255.0 * max_rate_hz, 0.0, window_s, rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thesis_regular_encoding() {
        assert_eq!(regular_count(255, 40.0, 0.15), 6);
        assert_eq!(regular_count(0, 40.0, 0.15), 0);
        assert_eq!(regular_count(43, 40.0, 0.15), 1);
        let t = regular_train(6, 0.15);
        assert_eq!(t, vec![0.0, 0.025, 0.05, 0.075, 0.1, 0.125]);
        assert_eq!(regular_train(4, 0.15), vec![0.0, 0.037, 0.074, 0.111]);
    }

    #[test]
    fn poisson_rate_matches_intensity() {
        let mut r = stimulus::rng(5);
        let n: usize = (0..2000).map(|_| poisson_train(255, 40.0, 0.15, &mut r).len()).sum();
        let mean = n as f64 / 2000.0;
        assert!((mean - 6.0).abs() < 0.25, "{mean}");
    }
}
