//! One module per circuit block of the STC synapse (thesis Fig. 8 and section 2.3), each with its own SI parameter
//! struct. A block knows its equations and nothing about files, plots or the command line.
//!
//! Data flow inside one synapse (see [`crate::synapse::circuit`]):
//! spikes -> [`dpi`] (calcium current i_ca) -> [`wta`] comparators (potentiation / depression decisions) ->
//! [`ull`] switches (currents i_hp, i_hd with delays and tails) -> [`capacitor`] (early-phase voltage v_h) ->
//! [`bump`] tag detector and protein condition -> [`late_phase`] (counter or Eq. 4 ODE, late-phase weight z) ->
//! [`weight`] (total weight w).

pub mod bump;
pub mod capacitor;
pub mod dpi;
pub mod late_phase;
pub mod ull;
pub mod weight;
pub mod wta;

/// A parameter that is out of its physical range: the key (dotted path in the YAML file), its value and the range.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeError {
    /// Dotted key, e.g. `dpi.tau_s`.
    pub key: String,
    /// The offending value.
    pub value: f64,
    /// What was expected, in words, e.g. `> 0 s`.
    pub expected: String,
}

/// Collects range violations while a block checks its parameters.
#[derive(Default)]
pub struct Checker {
    prefix: String,
    /// Violations found so far.
    pub errors: Vec<RangeError>,
}

impl Checker {
    /// A checker whose keys start with `prefix.`.
    pub fn new(prefix: &str) -> Self {
        Checker { prefix: prefix.to_string(), errors: Vec::new() }
    }
    fn push(&mut self, key: &str, value: f64, expected: String) {
        self.errors.push(RangeError { key: format!("{}.{}", self.prefix, key), value, expected });
    }
    /// Require a finite value > 0.
    pub fn positive(&mut self, key: &str, value: f64, unit: &str) {
        if !(value.is_finite() && value > 0.0) {
            self.push(key, value, format!("a finite value > 0 {unit}"));
        }
    }
    /// Require a finite value >= 0.
    pub fn non_negative(&mut self, key: &str, value: f64, unit: &str) {
        if !(value.is_finite() && value >= 0.0) {
            self.push(key, value, format!("a finite value >= 0 {unit}"));
        }
    }
    /// Require a finite value above `before` (a strictly ascending sequence).
    pub fn ascending(&mut self, key: &str, value: f64, before: f64, unit: &str) {
        if !(value.is_finite() && value > before) {
            self.push(key, value, format!("a finite value above the one before it, {before} {unit}"));
        }
    }
    /// Require a finite value in [lo, hi].
    pub fn within(&mut self, key: &str, value: f64, lo: f64, hi: f64, unit: &str) {
        if !(value.is_finite() && value >= lo && value <= hi) {
            self.push(key, value, format!("a value in [{lo}, {hi}] {unit}"));
        }
    }
}

/// Named access to a block's numeric parameters, so that a fit can move any declared parameter by its dotted key.
pub trait Fields {
    /// Every numeric parameter as (key without prefix, mutable reference).
    fn fields_mut(&mut self) -> Vec<(&'static str, &mut f64)>;
}
