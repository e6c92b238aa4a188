//! The embedded font: DejaVu Sans (assets/fonts/DejaVuSans.ttf, Bitstream Vera license, see
//! assets/fonts/LICENSE-DejaVu.txt), registered once as "sans-serif" for every font style plotters asks for.

use super::PlotError;
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// The font family name every figure uses.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Register the embedded font (once per process). Fails only if the embedded file is not a valid font.
pub(crate) fn ensure() -> Result<(), PlotError> {
    let ok = *REGISTERED.get_or_init(|| {
        [FontStyle::Normal, FontStyle::Bold, FontStyle::Italic, FontStyle::Oblique]
            .into_iter()
            .all(|style| register_font(FAMILY, style, DEJAVU_SANS).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw("the embedded DejaVu Sans font could not be loaded".into()))
    }
}
