//! Figures as PNG and SVG (plotters, with an embedded font so no system font library is needed).
