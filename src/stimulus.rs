//! Spike trains: regular trains (the thesis' encoding) and Poisson trains (seeded, reproducible).

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A regular train at `rate_hz` in `[start_s, stop_s)`: first spike at `start_s`, then every 1/rate.
pub fn regular(rate_hz: f64, start_s: f64, stop_s: f64) -> Vec<f64> {
    if rate_hz.is_nan() || rate_hz <= 0.0 || stop_s <= start_s {
        return Vec::new();
    }
    let period = 1.0 / rate_hz;
    let n = ((stop_s - start_s) / period - 1e-9).ceil().max(0.0) as usize;
    (0..n).map(|k| start_s + k as f64 * period).filter(|&t| t < stop_s).collect()
}

/// A homogeneous Poisson train at `rate_hz` in `[start_s, stop_s)`, drawn with `rng`.
pub fn poisson(rate_hz: f64, start_s: f64, stop_s: f64, rng: &mut impl Rng) -> Vec<f64> {
    let mut out = Vec::new();
    if rate_hz.is_nan() || rate_hz <= 0.0 {
        return out;
    }
    let mut t = start_s;
    loop {
        let u: f64 = rng.random::<f64>();
        t += -(1.0 - u).ln() / rate_hz;
        if t >= stop_s {
            return out;
        }
        out.push(t);
    }
}

/// The seeded generator used everywhere a run must be reproducible.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_train_has_the_rate() {
        let t = regular(40.0, 0.0, 0.15);
        assert_eq!(t.len(), 6);
        assert!((t[1] - 0.025).abs() < 1e-15);
        assert!(regular(0.0, 0.0, 1.0).is_empty());
    }

    #[test]
    fn poisson_count_and_interval_statistics() {
        let mut r = rng(7);
        let t = poisson(100.0, 0.0, 1000.0, &mut r);
        // Count ~ 1e5 +- 316: 5 sigma.
        assert!((t.len() as f64 - 1e5).abs() < 5.0 * 316.0, "{}", t.len());
        // Inter-spike intervals are exponential: coefficient of variation 1.
        let isi: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        let m = isi.iter().sum::<f64>() / isi.len() as f64;
        let v = isi.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isi.len() as f64;
        assert!((v.sqrt() / m - 1.0).abs() < 0.02);
        // Same seed, same train.
        assert_eq!(poisson(50.0, 0.0, 1.0, &mut rng(3)), poisson(50.0, 0.0, 1.0, &mut rng(3)));
    }
}
