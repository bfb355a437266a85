//! `randnet sample --histogram FILE`: each observable family's values pooled over every network
//! (and over the family's values: the singular-value spectrum of J(x_a), the Lyapunov spectrum),
//! as equal-width bins over their range, to a tidy CSV or drawn to PNG/SVG.

use crate::output::write_atomic;
use anyhow::{Context, Result};
use randnet_problem::{families::def, Layout};
use std::fmt::Write as _;
use std::path::Path;

/// One family's pooled histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// The family's value name (`singular_value`, `lyapunov`, ...).
    pub name: String,
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
    /// Values binned (missing values, e.g. past a rank drop, are left out).
    pub total: u64,
}

impl Histogram {
    /// Counts / (total × bin width): integrates to 1.
    pub fn density(&self, bin: usize) -> f64 {
        let width = (self.hi - self.lo) / self.counts.len() as f64;
        self.counts[bin] as f64 / (self.total as f64 * width)
    }

    pub fn edges(&self, bin: usize) -> (f64, f64) {
        let width = (self.hi - self.lo) / self.counts.len() as f64;
        (
            self.lo + bin as f64 * width,
            if bin + 1 == self.counts.len() {
                self.hi
            } else {
                self.lo + (bin + 1) as f64 * width
            },
        )
    }
}

/// The pooled histogram of each family of `layout`, from rows of its values (row-major,
/// `layout.len()` per network), `bins` equal bins over the finite values' range (a range of one
/// point is widened by ½ on each side).
pub fn pooled(layout: &Layout, rows: &[f64], bins: usize) -> Vec<Histogram> {
    let d = layout.len();
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, obs) in layout.observables().iter().enumerate() {
        let name = def(obs.family()).name.to_string();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, cols)) => cols.push(i),
            None => out.push((name, vec![i])),
        }
    }
    out.into_iter()
        .map(|(name, cols)| {
            let values = || {
                rows.chunks_exact(d)
                    .flat_map(|r| cols.iter().map(move |&c| r[c]))
                    .filter(|v| v.is_finite())
            };
            let (mut lo, mut hi) = values()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            if !(lo <= hi) {
                (lo, hi) = (0.0, 1.0);
            } else if lo == hi {
                (lo, hi) = (lo - 0.5, hi + 0.5);
            }
            let mut counts = vec![0u64; bins];
            let mut total = 0;
            for v in values() {
                let b = (((v - lo) / (hi - lo)) * bins as f64) as usize;
                counts[b.min(bins - 1)] += 1;
                total += 1;
            }
            Histogram {
                name,
                lo,
                hi,
                counts,
                total,
            }
        })
        .collect()
}

/// Writes the histograms to `path`: a plot for `.png`/`.svg`, else tidy CSV
/// (`observable,bin,lo,hi,count,density`).
pub fn write(path: &Path, hists: &[Histogram]) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") | Some("svg") => draw(path, hists),
        _ => {
            let mut text = String::from("observable,bin,lo,hi,count,density\n");
            for h in hists {
                for b in 0..h.counts.len() {
                    let (lo, hi) = h.edges(b);
                    let _ = writeln!(
                        text,
                        "{},{b},{lo:e},{hi:e},{},{:e}",
                        h.name,
                        h.counts[b],
                        h.density(b)
                    );
                }
            }
            write_atomic(path, text.as_bytes())
        }
    }
}

fn draw(path: &Path, hists: &[Histogram]) -> Result<()> {
    use plotters::prelude::*;
    crate::plot::register_font();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let size = (900u32, 300 * hists.len().max(1) as u32);
    // Drawn to a temporary sibling and renamed: never a half-written figure.
    let tmp = crate::output::temp_path(path).with_extension(&ext);
    let drawn = if ext == "svg" {
        draw_on(SVGBackend::new(&tmp, size).into_drawing_area(), hists)
    } else {
        draw_on(BitMapBackend::new(&tmp, size).into_drawing_area(), hists)
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn draw_on<DB: plotters::prelude::DrawingBackend>(
    root: plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    hists: &[Histogram],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    use plotters::prelude::*;
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e}");
    root.fill(&WHITE).map_err(err)?;
    for (area, h) in root.split_evenly((hists.len().max(1), 1)).iter().zip(hists) {
        let top = (0..h.counts.len())
            .map(|b| h.density(b))
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{}: {} values pooled", h.name, h.total),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(h.lo..h.hi, 0.0..top * 1.05)
            .map_err(err)?;
        chart
            .configure_mesh()
            .y_desc("density")
            .draw()
            .map_err(err)?;
        chart
            .draw_series((0..h.counts.len()).map(|b| {
                let (lo, hi) = h.edges(b);
                Rectangle::new([(lo, 0.0), (hi, h.density(b))], BLUE.mix(0.5).filled())
            }))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use randnet_problem::{Family, Observe};

    /// Two families; values binned with their exact counts, NaN left out, densities integrate
    /// to 1, the top value lands in the last bin.
    #[test]
    fn pooled_counts_every_finite_value_once() {
        let observe = Observe::NONE
            .with(Family::Output)
            .with_count(Family::Lyapunov, 2);
        let layout = Layout::new(&observe, 3, 1);
        // Rows: output[0], lyapunov[1], lyapunov[2].
        let rows = [0.0, -1.0, -2.0, 1.0, -1.5, f64::NAN, 0.5, -0.5, -3.0];
        let h = pooled(&layout, &rows, 4);
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].name.as_str(), h[0].total), ("output", 3));
        assert_eq!(h[0].counts, vec![1, 0, 1, 1]);
        assert_eq!((h[1].name.as_str(), h[1].total), ("lyapunov", 5));
        assert_eq!((h[1].lo, h[1].hi), (-3.0, -0.5));
        assert_eq!(h[1].counts.iter().sum::<u64>(), 5);
        for hist in &h {
            let integral: f64 = (0..4)
                .map(|b| {
                    let (lo, hi) = hist.edges(b);
                    hist.density(b) * (hi - lo)
                })
                .sum();
            assert!((integral - 1.0).abs() < 1e-12);
        }
    }
}
