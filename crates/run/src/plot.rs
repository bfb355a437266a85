//! Sweep plots (plotters): each requested statistic against L/n (or L, or N = n L), one series per
//! width with error bars (± 1 stderr), and the theory curve per width (thin, same colour) where
//! theory has a value. PNG or SVG by the file extension. The font is bundled (assets/fonts, DejaVu
//! Sans) so plots render the same on a machine without fonts.
//!
//! The vertical axis is linear or logarithmic (`--plot-y-scale`; `auto` = log for
//! `relative_variance`). A panel of the diagonal NTK's `relative_variance` of zero-bias ReLU nets
//! also shows Hanin & Nica's law as a dashed curve C·(exp(5β) − 1), β = Σ 1/n_l, with C fitted to
//! the points (their theorem fixes the growth up to constants, not the constant).
//!
//! [`check`] validates every plot flag against the sweep's observables before any network is
//! drawn (docs/plots.md).

use crate::args::SweepArgs;
use crate::sweep::SweepResult;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use randnet_sampler::Problem;
use randnet_stats::Statistic;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

pub(crate) fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The statistic of the output pairs `output[a,b]` (the joint cumulant κ(f_a, f_a, f_b, f_b)),
/// reported beside the per-observable [`Statistic`]s.
pub const JOINT_KAPPA4: &str = "joint_kappa4";

/// The plot of `--plot FILE` without `--plot-stat`.
pub const DEFAULT_STAT: &str = "output[0]:excess_kurtosis";

/// Every statistic a plot can take, in report order: the names of [`Statistic::EVERY`] and
/// [`JOINT_KAPPA4`]. Each is a value of the tidy CSV's `statistic` column.
pub fn plot_statistics() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Statistic::EVERY.iter().map(|s| s.name()).collect();
    v.push(JOINT_KAPPA4);
    v
}

/// Where a statistic is reported, for the help text and messages.
fn statistic_scope(name: &str) -> Option<&'static str> {
    if name == Statistic::RelativeVariance.name() {
        Some("observables with a positive mean: diagonal ntk, sqnorm, jacobian_norm, geometry")
    } else if name == JOINT_KAPPA4 {
        Some("output[a,b] pairs only")
    } else {
        None
    }
}

/// The statistics, with the scope of those not reported for every observable.
fn statistics_text() -> String {
    plot_statistics()
        .into_iter()
        .map(|s| match statistic_scope(s) {
            Some(scope) => format!("{s} ({scope})"),
            None => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `--help` text of `--plot-stat`, generated from [`plot_statistics`].
pub fn plot_stat_help() -> String {
    format!(
        "A statistic to plot, OBSERVABLE:STATISTIC (repeatable; default {DEFAULT_STAT}). STATISTIC: {}",
        statistics_text()
    )
}

/// The horizontal axis of a sweep plot. In a sweep every hidden layer of a point has the same
/// width, so β = Σ 1/n_l = L/n: the `ratio` axis is also Hanin & Nica's β.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum XAxis {
    /// L/n = β (the default: where curves of different widths should collapse).
    Ratio,
    /// L, the depth.
    Depth,
    /// N = n L, the number of hidden neurons.
    Neurons,
}

impl XAxis {
    fn label(&self) -> &'static str {
        match self {
            XAxis::Ratio => "L/n (depth / width)",
            XAxis::Depth => "L (depth)",
            XAxis::Neurons => "N = n L (hidden neurons)",
        }
    }

    fn short(&self) -> &'static str {
        match self {
            XAxis::Ratio => "L/n",
            XAxis::Depth => "L",
            XAxis::Neurons => "N",
        }
    }

    fn value(&self, width: usize, depth: usize) -> f64 {
        match self {
            XAxis::Ratio => depth as f64 / width as f64,
            XAxis::Depth => depth as f64,
            XAxis::Neurons => (depth * width) as f64,
        }
    }

    /// β = L/n at abscissa `x` of the series of width `width`.
    fn beta(&self, x: f64, width: usize) -> f64 {
        let n = width as f64;
        match self {
            XAxis::Ratio => x,
            XAxis::Depth => x / n,
            XAxis::Neurons => x / (n * n),
        }
    }
}

/// The vertical axis scale of a sweep plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum YScale {
    /// log for relative_variance (when every estimate is positive), linear otherwise.
    Auto,
    /// Linear.
    Linear,
    /// Logarithmic (non-positive estimates are left out, with a warning).
    Log,
}

/// "OBS:STAT" split at the last colon.
fn split_stat(s: &str) -> Result<(&str, &str)> {
    s.rsplit_once(':')
        .filter(|(o, t)| !o.is_empty() && !t.is_empty())
        .with_context(|| format!("--plot-stat '{s}': expected OBSERVABLE:STATISTIC"))
}

fn requested(args: &SweepArgs) -> Vec<String> {
    if args.plot_stat.is_empty() {
        vec![DEFAULT_STAT.to_string()]
    } else {
        args.plot_stat.clone()
    }
}

/// The observables of a sweep in report order, each with the statistics its reports (and the
/// tidy CSV) carry, over all its points (sqnorm[l,·] exists only where the depth reaches l).
pub fn plottable(problems: &[Problem]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |name: String, stats: Vec<String>| {
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, stats));
        }
    };
    for p in problems {
        for obs in p.layout().observables() {
            let stats = crate::sample::reported_statistics(obs)
                .iter()
                .map(|s| s.name().to_string())
                .collect();
            add(obs.to_string(), stats);
        }
        if p.observe.has(randnet_problem::Family::Output) {
            let k = p.inputs.len();
            for a in 0..k {
                for b in a + 1..k {
                    add(format!("output[{a},{b}]"), vec![JOINT_KAPPA4.to_string()]);
                }
            }
        }
    }
    out
}

/// Validates the plot flags against the sweep's points before any network is drawn: the file
/// type, every `--plot-stat` (a known statistic, an observable the sweep produces, a statistic
/// that observable reports), and plot flags without `--plot`.
pub fn check(args: &SweepArgs, problems: &[Problem]) -> Result<()> {
    let Some(path) = &args.plot else {
        if let Some(s) = args.plot_stat.first() {
            bail!("--plot-stat '{s}' needs --plot FILE.png or FILE.svg");
        }
        if args.plot_y_scale != YScale::Auto {
            bail!("--plot-y-scale needs --plot FILE.png or FILE.svg");
        }
        return Ok(());
    };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext != "png" && ext != "svg" {
        bail!("--plot {}: expected a .png or .svg file", path.display());
    }
    let have = plottable(problems);
    let defaulted = args.plot_stat.is_empty();
    for s in requested(args) {
        let (obs, stat) = split_stat(&s)?;
        if !plot_statistics().contains(&stat) {
            bail!(
                "--plot-stat '{s}': unknown statistic '{stat}' (one of: {})",
                plot_statistics().join(", ")
            );
        }
        let Some((_, stats)) = have.iter().find(|(n, _)| n == obs) else {
            let names: Vec<&str> = have.iter().map(|(n, _)| n.as_str()).collect();
            let shown = if names.len() > 12 {
                format!("{}, ... ({} in all)", names[..12].join(", "), names.len())
            } else {
                names.join(", ")
            };
            let hint = if defaulted {
                " (--plot without --plot-stat plots it; add --plot-stat OBS:STAT)"
            } else {
                ""
            };
            bail!("--plot-stat '{s}': this sweep has no observable '{obs}'{hint}; it has {shown}");
        };
        if !stats.iter().any(|t| t == stat) {
            let scope = statistic_scope(stat)
                .map(|sc| format!(" ({stat}: {sc})"))
                .unwrap_or_default();
            bail!(
                "--plot-stat '{s}': {obs} does not report {stat}{scope}; it reports {}",
                stats.join(", ")
            );
        }
    }
    Ok(())
}

/// One plotted point.
#[derive(Debug, Clone, Copy)]
struct Row {
    x: f64,
    /// Hanin & Nica's β = Σ 1/n_l of the point's network.
    beta: f64,
    y: f64,
    e: f64,
    theory: Option<f64>,
    /// The prediction is an order of magnitude (`theory_kind` = bound), not a value.
    bound: bool,
    /// The point's spec is one Hanin & Nica's law covers (zero-bias Gaussian ReLU).
    hanin_nica: bool,
    /// The estimate can be read with its standard error (`reliable` of the report).
    reliable: bool,
}

/// One series per width.
type Series = Vec<(usize, Vec<Row>)>;

fn series(result: &SweepResult, obs: &str, stat: &str, x: XAxis) -> Series {
    let mut out: Series = Vec::new();
    for p in &result.points {
        let Some(e) = p.report.observables.get(obs).and_then(|s| s.get(stat)) else {
            continue;
        };
        if !e.estimate.is_finite() {
            continue;
        }
        let row = Row {
            x: x.value(p.width, p.depth),
            beta: p.report.spec.beta(),
            y: e.estimate,
            e: e.stderr,
            theory: e.theory.filter(|t| t.is_finite()),
            bound: e.theory_kind.as_deref() == Some(randnet_theory::Kind::Bound.name()),
            hanin_nica: randnet_theory::ntk_second_moment_ratio(&p.report.spec).is_some(),
            reliable: e.reliable,
        };
        match out.iter_mut().find(|(w, _)| *w == p.width) {
            Some((_, v)) => v.push(row),
            None => out.push((p.width, vec![row])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    out
}

/// Hanin & Nica's shape of the diagonal NTK's relative variance: exp(5β) − 1.
fn hanin_nica_shape(beta: f64) -> f64 {
    (randnet_theory::NTK_FLUCTUATION_EXPONENT * beta).exp_m1()
}

/// The constant C of y ≈ C·f, fitted by weighted least squares in log space: minimizes
/// Σ w (ln y − ln C − ln f)² with w = (y/s)², the inverse variance of ln y by the delta method.
/// Points `(f, y, s)` with f or y not positive are left out; if no point has a finite positive
/// stderr, the points weigh equally. None when no point is left.
pub fn fit_scale(points: &[(f64, f64, f64)]) -> Option<f64> {
    let usable: Vec<(f64, f64, f64)> = points
        .iter()
        .copied()
        .filter(|&(f, y, _)| f > 0.0 && y > 0.0 && f.is_finite() && y.is_finite())
        .collect();
    let weighted: Vec<(f64, f64)> = usable
        .iter()
        .filter(|&&(_, _, s)| s.is_finite() && s > 0.0)
        .map(|&(f, y, s)| ((y / f).ln(), (y / s).powi(2)))
        .collect();
    let terms: Vec<(f64, f64)> = if weighted.is_empty() {
        usable
            .iter()
            .map(|&(f, y, _)| ((y / f).ln(), 1.0))
            .collect()
    } else {
        weighted
    };
    if terms.is_empty() {
        return None;
    }
    let (sw, swl) = terms
        .iter()
        .fold((0.0, 0.0), |(a, b), &(l, w)| (a + w, b + w * l));
    let c = (swl / sw).exp();
    c.is_finite().then_some(c)
}

/// One panel of the figure.
struct Panel {
    obs: String,
    stat: String,
    data: Series,
    log: bool,
    /// C of the Hanin–Nica overlay C·(exp(5β) − 1), when the panel has one.
    overlay: Option<f64>,
}

/// True for `ntk[a,a]`.
fn is_diagonal_ntk(obs: &str) -> bool {
    obs.strip_prefix("ntk[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.split_once(','))
        .is_some_and(|(a, b)| a.trim() == b.trim())
}

fn panel(result: &SweepResult, spec: &str, x: XAxis, scale: YScale) -> Result<Panel> {
    let (obs, stat) = split_stat(spec)?;
    let mut data = series(result, obs, stat, x);
    if data.is_empty() {
        bail!("--plot-stat '{spec}': the sweep has no finite estimates of it");
    }
    let relvar = stat == Statistic::RelativeVariance.name();
    let all_positive = data.iter().all(|(_, v)| v.iter().all(|r| r.y > 0.0));
    let log = match scale {
        YScale::Linear => false,
        YScale::Log => true,
        YScale::Auto => relvar && all_positive,
    };
    if log && !all_positive {
        let mut dropped = 0;
        for (_, v) in &mut data {
            let before = v.len();
            v.retain(|r| r.y > 0.0);
            dropped += before - v.len();
        }
        data.retain(|(_, v)| !v.is_empty());
        if data.is_empty() {
            bail!("--plot-stat '{spec}': no positive estimates to plot on a log scale");
        }
        eprintln!(
            "randnet: plot: {dropped} non-positive estimate(s) of {spec} left out of the log-scale panel"
        );
    }
    let overlay = if relvar
        && is_diagonal_ntk(obs)
        && data.iter().all(|(_, v)| v.iter().all(|r| r.hanin_nica))
    {
        // The reliable points (their standard errors are the weights), or all if none is.
        let any_reliable = data.iter().any(|(_, v)| v.iter().any(|r| r.reliable));
        let pts: Vec<(f64, f64, f64)> = data
            .iter()
            .flat_map(|(_, v)| v.iter())
            .filter(|r| r.reliable || !any_reliable)
            .map(|r| (hanin_nica_shape(r.beta), r.y, r.e))
            .collect();
        fit_scale(&pts)
    } else {
        None
    };
    Ok(Panel {
        obs: obs.to_string(),
        stat: stat.to_string(),
        data,
        log,
        overlay,
    })
}

/// Plots the `--plot-stat` statistics (default [`DEFAULT_STAT`]) of a sweep to `path` (.png or
/// .svg), with the sweep's `--plot-x` and `--plot-y-scale`.
pub fn plot_sweep(result: &SweepResult, args: &SweepArgs, path: &Path) -> Result<()> {
    register_font();
    let x = args.plot_x;
    let panels = requested(args)
        .iter()
        .map(|s| panel(result, s, x, args.plot_y_scale))
        .collect::<Result<Vec<_>>>()?;
    let size = (900u32, 420 * panels.len() as u32);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let tmp = crate::output::temp_path(path);
    let tmp = tmp.with_extension(&ext);
    let drawn = match ext.as_str() {
        "png" => draw(
            BitMapBackend::new(&tmp, size).into_drawing_area(),
            &panels,
            x,
        ),
        "svg" => draw(SVGBackend::new(&tmp, size).into_drawing_area(), &panels, x),
        _ => bail!("--plot {}: expected a .png or .svg file", path.display()),
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A tick label: up to 4 significant digits, no trailing zeros; scientific when tiny or huge.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Labelled and light ticks of a linear axis on [lo, hi]: steps of 1, 2 or 5 × 10^k.
fn linear_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let raw = ((hi - lo) / 8.0).max(1e-300);
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p);
    let at = |step: f64| -> Vec<f64> {
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    };
    (at(step), at(step / 5.0))
}

/// Labelled and light ticks of a log axis on [lo, hi] (decades, log10 units): m × 10^k with m in
/// 1, 2, 5 (short ranges) or 1 (long ones) labelled, m in 1..9 light.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = hi - lo;
    let labelled: &[u32] = if span < 0.6 {
        &[1, 2, 3, 4, 5, 6, 7, 8, 9]
    } else if span < 2.6 {
        &[1, 2, 5]
    } else {
        &[1]
    };
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    for k in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in 1..=9u32 {
            let v = (m as f64).log10() + k as f64;
            if v >= lo && v <= hi {
                light.push(v);
                if labelled.contains(&m) {
                    bold.push(v);
                }
            }
        }
    }
    if bold.len() < 2 {
        bold = light.clone();
    }
    (bold, light)
}

/// A linear f64 axis with chosen labelled and light ticks (the log panels plot log10 y on it).
struct YCoord {
    inner: RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for YCoord {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[Panel], x: XAxis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, p) in areas.iter().zip(panels) {
        draw_panel(area, p, x).map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// A polyline, with the index of the series whose colour it takes (None: black).
type Curve = (Option<usize>, Vec<(f64, f64)>);

/// The overlay curve(s) C·(exp(5β) − 1): one for all widths on the L/n axis (β = x), one per
/// width (in its colour) on the others; 120 points over each series' range.
fn overlay_curves(p: &Panel, x: XAxis, c: f64) -> Vec<Curve> {
    let curve = |lo: f64, hi: f64, width: usize| -> Vec<(f64, f64)> {
        (0..=120)
            .map(|i| lo + (hi - lo) * i as f64 / 120.0)
            .map(|xv| (xv, c * hanin_nica_shape(x.beta(xv, width))))
            .filter(|&(_, y)| y > 0.0 && y.is_finite())
            .collect()
    };
    let range = |v: &[Row]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
                (a.min(r.x), b.max(r.x))
            })
    };
    if x == XAxis::Ratio {
        let all: Vec<Row> = p.data.iter().flat_map(|(_, v)| v.iter().copied()).collect();
        let (lo, hi) = range(&all);
        vec![(None, curve(lo, hi, 1))]
    } else {
        p.data
            .iter()
            .enumerate()
            .map(|(i, (w, v))| {
                let (lo, hi) = range(v);
                (Some(i), curve(lo, hi, *w))
            })
            .collect()
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    x: XAxis,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let log = p.log;
    let ty = |v: f64| if log { v.log10() } else { v };
    // The theory of a panel with the Hanin–Nica overlay is that order of magnitude itself
    // (exp(5β) − 1, kind bound): the fitted curve replaces it.
    let show_theory = |r: &Row| -> Option<f64> {
        r.theory
            .filter(|t| !(p.overlay.is_some() && r.bound) && (!log || *t > 0.0))
    };
    let curves = p
        .overlay
        .map(|c| overlay_curves(p, x, c))
        .unwrap_or_default();

    let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
    let mut ys = (f64::INFINITY, f64::NEG_INFINITY);
    let take_y = |v: f64, ys: &mut (f64, f64)| {
        if v.is_finite() && (!log || v > 0.0) {
            let t = ty(v);
            *ys = (ys.0.min(t), ys.1.max(t));
        }
    };
    for (_, v) in &p.data {
        for r in v {
            xs = (xs.0.min(r.x), xs.1.max(r.x));
            let e = if r.e.is_finite() { r.e } else { 0.0 };
            take_y(r.y, &mut ys);
            take_y(r.y + e, &mut ys);
            take_y(r.y - e, &mut ys);
            if let Some(t) = show_theory(r) {
                take_y(t, &mut ys);
            }
        }
    }
    for (_, c) in &curves {
        for &(_, y) in c {
            take_y(y, &mut ys);
        }
    }
    let xpad = ((xs.1 - xs.0) * 0.05).max(1e-3);
    let ypad = if log {
        ((ys.1 - ys.0) * 0.06).max(0.05)
    } else {
        ((ys.1 - ys.0) * 0.08).max(1e-9 + ys.1.abs() * 0.01)
    };
    let (ylo, yhi) = (ys.0 - ypad, ys.1 + ypad);
    let (bold, light) = if log {
        log_ticks(ylo, yhi)
    } else {
        linear_ticks(ylo, yhi)
    };
    let yaxis = YCoord {
        inner: (ylo..yhi).into(),
        bold,
        light,
    };
    let caption = match p.overlay {
        Some(_) => format!("{} of {} against {} (β = L/n)", p.stat, p.obs, x.short()),
        None => format!("{} of {} against {}", p.stat, p.obs, x.short()),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(72)
        .build_cartesian_2d((xs.0 - xpad)..(xs.1 + xpad), yaxis)?;
    let ylabel = |v: &f64| tick_label(if log { 10f64.powf(*v) } else { *v });
    let ydesc = if log {
        format!("{} (log scale)", p.stat)
    } else {
        p.stat.clone()
    };
    chart
        .configure_mesh()
        .x_desc(x.label())
        .y_desc(ydesc)
        .y_label_formatter(&ylabel)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()?;

    // What is drawn (polylines in plotted coordinates) and the legend's labels, to place the
    // legend where it covers the least.
    let mut drawn: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut labels: Vec<String> = Vec::new();

    // Hanin–Nica overlay under the data.
    for (i, c) in &curves {
        let color = i.map(|i| COLORS[i % COLORS.len()]).unwrap_or(BLACK);
        let pts: Vec<(f64, f64)> = c.iter().map(|&(xv, y)| (xv, ty(y))).collect();
        if pts.len() < 2 {
            continue;
        }
        drawn.push(pts.clone());
        let s = chart.draw_series(DashedLineSeries::new(pts, 9, 5, color.stroke_width(2)))?;
        if labels.is_empty() {
            let label = format!(
                "∝ exp(5β)−1 (Hanin–Nica), C fitted = {}",
                sig_digits(p.overlay.unwrap_or(f64::NAN), 3)
            );
            labels.push(label.clone());
            s.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2))
            });
        }
    }

    let bottom = ylo;
    let mut theory_labelled = false;
    for (i, (width, v)) in p.data.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let theory: Vec<(f64, f64)> = v
            .iter()
            .filter_map(|r| show_theory(r).map(|t| (r.x, ty(t))))
            .collect();
        if theory.len() >= 2 {
            drawn.push(theory.clone());
            let s =
                chart.draw_series(DashedLineSeries::new(theory, 6, 4, color.stroke_width(1)))?;
            if !theory_labelled {
                labels.push("theory (dashed)".into());
                s.label("theory (dashed)").legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1))
                });
                theory_labelled = true;
            }
        }
        let line: Vec<(f64, f64)> = v.iter().map(|r| (r.x, ty(r.y))).collect();
        drawn.push(line.clone());
        labels.push(format!("n = {width}"));
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))?
            .label(format!("n = {width}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        let bars: Vec<(f64, f64, f64)> = v
            .iter()
            .filter(|r| r.e.is_finite())
            .map(|r| {
                // On a log axis a lower end at or below 0 is drawn to the bottom of the panel.
                let lo = if log && r.y - r.e <= 0.0 {
                    bottom
                } else {
                    ty(r.y - r.e)
                };
                (r.x, lo, ty(r.y + r.e))
            })
            .collect();
        drawn.extend(bars.iter().map(|&(x, lo, hi)| vec![(x, lo), (x, hi)]));
        chart.draw_series(v.iter().zip(&bars).map(|(r, &(x, lo, hi))| {
            ErrorBar::new_vertical(x, lo, ty(r.y), hi, color.filled(), 8)
        }))?;
        // Filled markers for reliable estimates, open ones for the others.
        chart.draw_series(v.iter().map(|r| {
            let style = if r.reliable {
                color.filled()
            } else {
                WHITE.filled()
            };
            Circle::new((r.x, ty(r.y)), if r.reliable { 3 } else { 4 }, style)
        }))?;
        chart.draw_series(
            v.iter()
                .filter(|r| !r.reliable)
                .map(|r| Circle::new((r.x, ty(r.y)), 4, color.stroke_width(2))),
        )?;
    }
    if p.data.iter().any(|(_, v)| v.iter().any(|r| !r.reliable)) {
        let label = "open marker: not reliable (n_eff too small)";
        labels.push(label.into());
        // An empty series carries the legend entry.
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), u32>>())?
            .label(label)
            .legend(|(x, y)| Circle::new((x + 10, y), 4, BLACK.stroke_width(2)));
    }
    // Keep the legend off the data: the corner it covers least of (ties: upper left for rising
    // curves, upper right otherwise).
    let rising = p
        .data
        .iter()
        .all(|(_, v)| v.first().map(|f| f.y) <= v.last().map(|l| l.y));
    let position = legend_position(
        &drawn,
        (xs.0 - xpad, xs.1 + xpad),
        (ylo, yhi),
        chart.plotting_area().dim_in_pixel(),
        &labels,
        rising,
    );
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The legend corner that covers the fewest points of the drawn polylines (each segment sampled
/// at 24 points), from the legend's size in pixels (about 8 px a character at 15 px, 20 px a
/// row). Ties go to the upper corners, the upper left first when `rising`.
fn legend_position(
    drawn: &[Vec<(f64, f64)>],
    xr: (f64, f64),
    yr: (f64, f64),
    px: (u32, u32),
    labels: &[String],
    rising: bool,
) -> SeriesLabelPosition {
    use SeriesLabelPosition::*;
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let (w, h) = (60.0 + 8.0 * chars, 20.0 * labels.len() as f64 + 20.0);
    let fw = (w / px.0.max(1) as f64).min(1.0);
    let fh = (h / px.1.max(1) as f64).min(1.0);
    let order = if rising {
        [UpperLeft, UpperRight, LowerRight, LowerLeft]
    } else {
        [UpperRight, UpperLeft, LowerLeft, LowerRight]
    };
    let inside = |pos: &SeriesLabelPosition, u: f64, v: f64| -> bool {
        let left = u <= fw;
        let right = u >= 1.0 - fw;
        let top = v >= 1.0 - fh;
        let low = v <= fh;
        match pos {
            UpperLeft => left && top,
            UpperRight => right && top,
            LowerLeft => left && low,
            LowerRight => right && low,
            _ => false,
        }
    };
    let norm = |(x, y): (f64, f64)| ((x - xr.0) / (xr.1 - xr.0), (y - yr.0) / (yr.1 - yr.0));
    let mut samples = Vec::new();
    for line in drawn {
        if line.len() == 1 {
            samples.push(norm(line[0]));
        }
        for seg in line.windows(2) {
            let (a, b) = (norm(seg[0]), norm(seg[1]));
            for k in 0..=24 {
                let t = k as f64 / 24.0;
                samples.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
            }
        }
    }
    let covered =
        |pos: &SeriesLabelPosition| samples.iter().filter(|&&(u, v)| inside(pos, u, v)).count();
    let mut best = order[0].clone();
    let mut least = covered(&best);
    for pos in order.iter().skip(1) {
        let c = covered(pos);
        if c < least {
            least = c;
            best = pos.clone();
        }
    }
    best
}

/// `v` to `sig` significant digits (no trailing zeros).
fn sig_digits(v: f64, sig: i32) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let decimals = (sig - 1 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Noise-free points on C·(exp(5β) − 1) give C back exactly, whatever their errors.
    #[test]
    fn fitted_constant_is_exact_on_the_law() {
        for c in [0.05, 0.7, 1.0, 3.5] {
            let pts: Vec<(f64, f64, f64)> = [0.0625, 0.125, 0.25, 0.5, 1.0]
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    let y = c * hanin_nica_shape(b);
                    (hanin_nica_shape(b), y, y * 0.01 * (i + 1) as f64)
                })
                .collect();
            let got = fit_scale(&pts).unwrap();
            assert!((got / c - 1.0).abs() < 1e-12, "C = {c}: fitted {got}");
        }
    }

    /// The weights are the inverse variances of ln y: the fit leans to the precise point, and
    /// two points of equal relative error give the geometric mean of their ratios.
    #[test]
    fn fitted_constant_weighs_by_relative_error() {
        let f = hanin_nica_shape(0.25);
        // y/f = 1 (relative error 1 %) and y/f = 2 (relative error 10 %): weights 10⁴ and 100.
        let got = fit_scale(&[(f, f, 0.01 * f), (f, 2.0 * f, 0.2 * f)]).unwrap();
        let want = ((1e4 * 1f64.ln() + 100.0 * 2f64.ln()) / (1e4 + 100.0)).exp();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        let eq = fit_scale(&[(1.0, 1.0, 0.1), (1.0, 4.0, 0.4)]).unwrap();
        assert!((eq - 2.0).abs() < 1e-12, "{eq}");
        // Non-positive points are left out; no finite error means equal weights.
        let eq = fit_scale(&[(1.0, 1.0, f64::NAN), (1.0, 4.0, 0.0), (0.0, 1.0, 0.1)]).unwrap();
        assert!((eq - 2.0).abs() < 1e-12, "{eq}");
        assert_eq!(fit_scale(&[(1.0, -1.0, 0.1)]), None);
    }

    #[test]
    fn beta_follows_the_axis() {
        // width 32, depth 8: β = 1/4 on every axis.
        for x in [XAxis::Ratio, XAxis::Depth, XAxis::Neurons] {
            let b = x.beta(x.value(32, 8), 32);
            assert!((b - 0.25).abs() < 1e-15, "{x:?}: {b}");
        }
    }

    #[test]
    fn statistics_list_every_statistic_once() {
        let list = plot_statistics();
        for s in Statistic::EVERY {
            assert_eq!(list.iter().filter(|n| **n == s.name()).count(), 1);
        }
        assert!(list.contains(&JOINT_KAPPA4));
        let help = plot_stat_help();
        for s in &list {
            assert!(help.contains(s), "help lacks {s}");
        }
    }

    #[test]
    fn ticks() {
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(2.0), "2");
        assert_eq!(tick_label(70.0), "70");
        assert_eq!(tick_label(0.05), "0.05");
        assert_eq!(tick_label(1e-4), "1e-4");
        let (bold, light) = log_ticks(0.15f64.log10(), 8f64.log10());
        let labels: Vec<String> = bold.iter().map(|v| tick_label(10f64.powf(*v))).collect();
        assert_eq!(labels, ["0.2", "0.5", "1", "2", "5"]);
        // 0.2, 0.3, ..., 0.9 and 1, 2, ..., 8.
        assert_eq!(light.len(), 16);
        let (bold, _) = linear_ticks(-0.3, 7.6);
        let labels: Vec<String> = bold.iter().map(|v| tick_label(*v)).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6", "7"]);
    }

    #[test]
    fn diagonal_ntk() {
        assert!(is_diagonal_ntk("ntk[0,0]"));
        assert!(is_diagonal_ntk("ntk[2, 2]"));
        assert!(!is_diagonal_ntk("ntk[0,1]"));
        assert!(!is_diagonal_ntk("sqnorm[1,0]"));
    }
}
