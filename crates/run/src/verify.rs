//! `randnet verify`: a built-in suite of Monte Carlo against theory checks (docs/verification.md).
//!
//! Two kinds of checks:
//! - **exact**: an estimate (mean, k-statistic or excess kurtosis, jackknife standard error) of one
//!   observable against a prediction of kind `exact` from `randnet_theory::predict`; pass when
//!   |z| <= 4.
//! - **trend**: where theory is leading-order, infinite-width or a bound, a statistic of several
//!   runs at different widths: the 1/n coefficient of the excess kurtosis fitted across widths
//!   against PDLT's leading-order coefficient (|z| <= 4), the n → ∞ intercept of a fitted 1/n
//!   expansion against the infinite-width kernel (|z| <= 4), and the small-β slope of
//!   log(E[Θ²]/E[Θ]²) for ReLU against Hanin & Nica's exp(5β) (a range, see [`SLOPE_RANGE`]).
//!
//! Every run has a fixed seed and the CPU engines are deterministic whatever the thread count, so
//! the suite's numbers are reproducible.

use crate::args::{Backend, Format, Method, VerifyArgs};
use crate::sample::{draw, make_sampler};
use anyhow::{bail, Context, Result};
use randnet_problem::{InputSpec, NetworkSpec, Observe};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::Problem;
use randnet_stats::{Accumulator, Estimate, Statistic};
use randnet_theory::{predict, Kind};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Instant;

/// |z| above which an exact (or coefficient) check fails.
pub const Z_MAX: f64 = 4.0;

/// Accepted range of the small-β slope of log(E[Θ²]/E[Θ]²) for zero-bias ReLU nets at fixed depth.
///
/// Hanin & Nica (arXiv 1909.05989, Thm 1) give E[Θ²]/E[Θ]² ≃ exp(5β) up to universal constants, so
/// the exponent 5 is the growth rate but the slope at small β and fixed depth is not pinned. Write
/// Θ(x,x) as the sum of its L+1 layer terms, each a product of per-layer forward factors (layers
/// below the term) and backward factors (layers above), each with relative variance 5/n_j (ReLU's
/// 3A4/A2² − 1); forward and backward factors of one layer share its activation pattern
/// (correlation 1/5), others are independent at leading order. The relative variance of the sum is
/// then Σ_j (5/n_j)(p_j² + q_j² + (2/5) p_j q_j), p_j = (L+1−j)/(L+1), q_j = 1 − p_j: a slope
/// between 5·2/3 (averaging over many terms) and 5 (one term), about 3.5–3.7 for L = 6..8.
/// The range is 5 × [1/2, 3/2]: it accepts that heuristic, 1/n² curvature and the exact
/// exponent 5 with room, and rejects no growth, a linear-net rate (2) and rates of 8 or more.
pub const SLOPE_RANGE: (f64, f64) = (2.5, 7.5);

/// One Monte Carlo vs theory comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub estimate: f64,
    pub stderr: f64,
    pub theory: f64,
    pub z: f64,
    pub pass: bool,
    /// The theory's kind (exact, leading-order, infinite-width, bound).
    pub kind: &'static str,
    /// What passing means for this check.
    pub rule: String,
}

#[derive(Debug, Clone, Serialize)]
struct SuiteReport {
    version: &'static str,
    suite: &'static str,
    seconds: f64,
    passed: usize,
    failed: usize,
    checks: Vec<Check>,
}

pub fn run(args: &VerifyArgs) -> Result<()> {
    let full = args.full;
    let suite = if full { "full" } else { "quick" };
    let start = Instant::now();
    let jobs = if full { full_suite() } else { quick_suite() };
    let mut checks = Vec::new();
    for job in jobs {
        if let Some(f) = &args.filter {
            if !job.label.contains(f.as_str()) {
                continue;
            }
        }
        checks.extend(job.run()?);
    }
    let failed = checks.iter().filter(|c| !c.pass).count();
    let report = SuiteReport {
        version: env!("CARGO_PKG_VERSION"),
        suite,
        seconds: start.elapsed().as_secs_f64(),
        passed: checks.len() - failed,
        failed,
        checks,
    };
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => table(&report),
        Format::Csv => csv(&report),
    };
    print!("{text}");
    if report.checks.is_empty() {
        bail!("no check matches the filter");
    }
    if failed > 0 {
        bail!("{failed} of {} checks failed", report.checks.len());
    }
    Ok(())
}

fn table(r: &SuiteReport) -> String {
    let mut out = String::new();
    let w = r
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:<w$}  {:>27}  {:>13}  {:>7}  {:<4}  {:<14}",
        "check", "estimate ± stderr", "theory", "z", "pass", "kind"
    );
    for c in &r.checks {
        let _ = writeln!(
            out,
            "{:<w$}  {:>27}  {:>13}  {:>7}  {:<4}  {:<14}",
            c.name,
            format!("{} ± {}", num(c.estimate), num(c.stderr)),
            num(c.theory),
            if c.kind == Kind::Bound.name() {
                // A bound passes on its accepted range (the rule); z is only informational.
                format!("({:.1})", c.z)
            } else {
                format!("{:.2}", c.z)
            },
            if c.pass { "ok" } else { "FAIL" },
            c.kind
        );
    }
    if r.checks.iter().any(|c| c.kind == Kind::Bound.name()) {
        let _ = writeln!(
            out,
            "(z) of a bound check is (estimate − theory)/stderr for information only: it passes on its range ({})",
            r.checks
                .iter()
                .find(|c| c.kind == Kind::Bound.name())
                .map(|c| c.rule.as_str())
                .unwrap_or("")
        );
    }
    let _ = writeln!(
        out,
        "randnet {} verify --{}: {} checks, {} passed, {} failed, {:.1} s",
        r.version,
        r.suite,
        r.checks.len(),
        r.passed,
        r.failed,
        r.seconds
    );
    out
}

fn csv(r: &SuiteReport) -> String {
    let mut out = String::from("check,estimate,stderr,theory,z,pass,kind,rule\n");
    for c in &r.checks {
        let _ = writeln!(
            out,
            "\"{}\",{},{},{},{},{},{},\"{}\"",
            c.name, c.estimate, c.stderr, c.theory, c.z, c.pass, c.kind, c.rule
        );
    }
    out
}

fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        format!("{v:.5}")
    } else {
        format!("{v:.4e}")
    }
}

// ---------------------------------------------------------------------------------------------
// Networks and runs

/// A network description with the suite's defaults (n0 = 8, n_out = 1, relu, critical C_W, zero
/// bias, NTK parameterization, Gaussian weights).
#[derive(Debug, Clone)]
struct Net {
    act: &'static str,
    n0: usize,
    n_out: usize,
    hidden: Vec<usize>,
    cw: Option<f64>,
    cb: f64,
    param: &'static str,
    residual: Option<&'static str>,
    weights: &'static str,
}

fn net(act: &'static str, width: usize, depth: usize) -> Net {
    Net {
        act,
        n0: 8,
        n_out: 1,
        hidden: vec![width; depth],
        cw: None,
        cb: 0.0,
        param: "ntk",
        residual: None,
        weights: "gaussian",
    }
}

impl Net {
    fn cw(mut self, cw: f64) -> Self {
        self.cw = Some(cw);
        self
    }
    fn cb(mut self, cb: f64) -> Self {
        self.cb = cb;
        self
    }
    fn standard(mut self) -> Self {
        self.param = "standard";
        self
    }
    fn residual(mut self, r: &'static str) -> Self {
        self.residual = Some(r);
        self
    }
    fn weights(mut self, w: &'static str) -> Self {
        self.weights = w;
        self
    }
    fn n0(mut self, n0: usize) -> Self {
        self.n0 = n0;
        self
    }
    fn n_out(mut self, n_out: usize) -> Self {
        self.n_out = n_out;
        self
    }

    fn spec(&self) -> Result<NetworkSpec> {
        Ok(NetworkSpec::new(
            self.n0,
            self.hidden.clone(),
            self.n_out,
            self.act.parse()?,
            self.cw,
            self.cb,
            self.param.parse()?,
            self.residual.map(str::parse).transpose()?,
            self.weights.parse()?,
        )?)
    }

    fn label(&self) -> String {
        let mut s = String::from(self.act);
        let w = self.hidden.first().copied().unwrap_or(0);
        if self.hidden.is_empty() {
            s.push_str(" L=0");
        } else if self.hidden.iter().all(|&v| v == w) {
            let _ = write!(s, " n={w} L={}", self.hidden.len());
        } else {
            let _ = write!(s, " widths={:?}", self.hidden);
        }
        if let Some(cw) = self.cw {
            let _ = write!(s, " Cw={cw}");
        }
        if self.cb > 0.0 {
            let _ = write!(s, " Cb={}", self.cb);
        }
        if self.param != "ntk" {
            let _ = write!(s, " {}", self.param);
        }
        if let Some(r) = self.residual {
            let _ = write!(s, " res={r}");
        }
        if self.weights != "gaussian" {
            let _ = write!(s, " {}", self.weights);
        }
        if self.n_out != 1 {
            let _ = write!(s, " n0={} n_out={}", self.n0, self.n_out);
        }
        s
    }
}

/// Draws `networks` networks of `net` on one CPU engine; returns the problem and accumulator.
fn sample(
    net: &Net,
    k: usize,
    observe: &str,
    method: Method,
    networks: u64,
    seed: u64,
) -> Result<(Problem, Accumulator)> {
    let spec = net.spec()?;
    let input_spec = if k == 2 {
        InputSpec::Angle { theta: 1.1 }
    } else {
        InputSpec::Random { count: k }
    };
    let inputs = resolve_inputs(&input_spec, spec.input_dim, seed);
    let problem = Problem {
        spec,
        inputs,
        observe: Observe::parse_list(observe)?,
        seed,
    };
    let mut chosen = make_sampler(&problem, Backend::Cpu, method, None)?;
    let drawn = draw(&problem, &mut chosen.sampler, 0..networks, None, None)?;
    if drawn.diverged > 0 {
        bail!(
            "{}: {} of {networks} networks diverged",
            net.label(),
            drawn.diverged
        );
    }
    Ok((problem, drawn.acc))
}

fn estimate(problem: &Problem, acc: &Accumulator, obs: &str, stat: &str) -> Result<Estimate> {
    let names = problem.names();
    let Some(i) = names.iter().position(|n| n == obs) else {
        bail!("verify suite: no observable {obs}");
    };
    let Some(s) = Statistic::from_name(stat) else {
        bail!("verify suite: no statistic {stat}");
    };
    Ok(acc.estimate(i, s))
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Dense => "dense",
        Method::MatrixFree => "matrix-free",
        Method::Auto => "auto",
    }
}

fn z_check(name: String, e: Estimate, theory: f64, kind: Kind, rule: &str) -> Check {
    let z = (e.estimate - theory) / e.stderr;
    Check {
        name,
        estimate: e.estimate,
        stderr: e.stderr,
        theory,
        z,
        pass: z.is_finite() && z.abs() <= Z_MAX,
        kind: kind.name(),
        rule: rule.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// One unit of work: a run (or a set of runs) and the checks made on it.
struct Job {
    label: String,
    kind: JobKind,
}

enum JobKind {
    /// One run; each (observable, statistic) against its exact prediction.
    Exact {
        net: Net,
        k: usize,
        observe: &'static str,
        method: Method,
        networks: u64,
        seed: u64,
        stats: Vec<(&'static str, &'static str)>,
    },
    /// ReLU NTK: slope of log(E[Θ²]/E[Θ]²) in β at fixed depth over several widths.
    NtkSlope {
        depth: usize,
        widths: Vec<usize>,
        method: Method,
        networks: u64,
        seed: u64,
    },
    /// Excess kurtosis of the output fitted as a/n + b/n² across widths; a against PDLT.
    KurtosisCoefficient {
        net: Net,
        widths: Vec<usize>,
        method: Method,
        networks: u64,
        seed: u64,
    },
    /// A mean-type statistic fitted as c0 + c1/n + c2/n² across widths; c0 against infinite width.
    InfiniteWidth {
        net: Net,
        obs: &'static str,
        stat: &'static str,
        widths: Vec<usize>,
        method: Method,
        networks: u64,
        seed: u64,
    },
}

fn exact(
    net: Net,
    k: usize,
    observe: &'static str,
    method: Method,
    networks: u64,
    stats: &[(&'static str, &'static str)],
) -> Job {
    let label = format!("{} {}", net.label(), method_name(method));
    Job {
        label,
        kind: JobKind::Exact {
            net,
            k,
            observe,
            method,
            networks,
            seed: 1,
            stats: stats.to_vec(),
        },
    }
}

fn with_width(net: &Net, n: usize) -> Net {
    let mut m = net.clone();
    let depth = m.hidden.len();
    m.hidden = vec![n; depth];
    m
}

impl Job {
    fn run(self) -> Result<Vec<Check>> {
        let label = self.label;
        match self.kind {
            JobKind::Exact {
                net,
                k,
                observe,
                method,
                networks,
                seed,
                stats,
            } => {
                let (problem, acc) = sample(&net, k, observe, method, networks, seed)?;
                let mut out = Vec::new();
                for (obs, stat) in stats {
                    let e = estimate(&problem, &acc, obs, stat)?;
                    let name = format!("{label}: {obs} {stat}");
                    let typed: randnet_problem::Observable = obs.parse()?;
                    match predict(
                        &problem.spec,
                        &problem.inputs,
                        problem.observe.curve,
                        &typed,
                        stat,
                    )
                    .ok()
                    {
                        Some(p) if p.kind == Kind::Exact => {
                            out.push(z_check(name, e, p.value, p.kind, "|z| <= 4"))
                        }
                        other => bail!("verify suite: {name} has no exact prediction ({other:?})"),
                    }
                }
                Ok(out)
            }
            JobKind::NtkSlope {
                depth,
                widths,
                method,
                networks,
                seed,
            } => {
                // (β, y = log(1 + k2/mean²), se(y)) per width.
                let mut pts = Vec::new();
                for &n in &widths {
                    let net = net("relu", n, depth);
                    let (problem, acc) = sample(&net, 1, "ntk", method, networks, seed)?;
                    let m = estimate(&problem, &acc, "ntk[0,0]", "mean")?;
                    let v = estimate(&problem, &acc, "ntk[0,0]", "variance")?;
                    let r = v.estimate / (m.estimate * m.estimate);
                    // Delta method; |.| + |.| bounds the unknown covariance of mean and variance.
                    let dr = v.stderr / (m.estimate * m.estimate)
                        + 2.0 * r * m.stderr / m.estimate.abs();
                    pts.push((problem.spec.beta(), (1.0 + r).ln(), dr / (1.0 + r)));
                }
                // Weighted least squares through the origin (Θ is deterministic at β = 0).
                let (sxy, sxx) = pts.iter().fold((0.0, 0.0), |(a, b), &(x, y, s)| {
                    (a + x * y / (s * s), b + x * x / (s * s))
                });
                let slope = sxy / sxx;
                let se = 1.0 / sxx.sqrt();
                let theory = randnet_theory::NTK_FLUCTUATION_EXPONENT;
                let (lo, hi) = SLOPE_RANGE;
                let name = format!(
                    "{label}: d log(E[Θ²]/E[Θ]²)/dβ, β in [{:.3}, {:.3}]",
                    pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
                    pts.iter().map(|p| p.0).fold(0.0, f64::max)
                );
                Ok(vec![Check {
                    name,
                    estimate: slope,
                    stderr: se,
                    theory,
                    z: (slope - theory) / se,
                    pass: slope >= lo && slope <= hi && slope > Z_MAX * se,
                    kind: Kind::Bound.name(),
                    rule: format!(
                        "slope in [{lo}, {hi}] and > 4 stderr (Hanin & Nica: exp(5β) up to constants)"
                    ),
                }])
            }
            JobKind::KurtosisCoefficient {
                net,
                widths,
                method,
                networks,
                seed,
            } => {
                let mut rows = Vec::new();
                let mut coef = Vec::new();
                for &n in &widths {
                    let m = with_width(&net, n);
                    let (problem, acc) = sample(&m, 1, "output", method, networks, seed)?;
                    let e = estimate(&problem, &acc, "output[0]", "excess_kurtosis")?;
                    let Some((_, ek)) = randnet_theory::leading_order_output_kurtosis(
                        &problem.spec,
                        &problem.inputs[0],
                    ) else {
                        bail!("verify suite: no leading-order kurtosis for {label}");
                    };
                    coef.push(ek * n as f64);
                    let x = 1.0 / n as f64;
                    rows.push((vec![x, x * x], e.estimate, e.stderr));
                }
                let (beta, cov) = wls(&rows)?;
                // Equal widths: v^{(L+1)} is exactly proportional to 1/n, so n·(leading order)
                // is the same at every width.
                let theory = coef[0];
                let e = Estimate {
                    estimate: beta[0],
                    stderr: cov[0][0].sqrt(),
                };
                Ok(vec![z_check(
                    format!("{label}: n·excess_kurtosis as n→∞ (fit a/n + b/n², n in {widths:?})"),
                    e,
                    theory,
                    Kind::LeadingOrder,
                    "|z| <= 4 for the fitted 1/n coefficient vs PDLT's",
                )])
            }
            JobKind::InfiniteWidth {
                net,
                obs,
                stat,
                widths,
                method,
                networks,
                seed,
            } => {
                let mut rows = Vec::new();
                let mut theory = f64::NAN;
                for &n in &widths {
                    let m = with_width(&net, n);
                    let observe = obs.split('[').next().unwrap_or(obs);
                    let (problem, acc) = sample(&m, 2, observe, method, networks, seed)?;
                    let e = estimate(&problem, &acc, obs, stat)?;
                    let Ok(p) = predict(
                        &problem.spec,
                        &problem.inputs,
                        problem.observe.curve,
                        &obs.parse()?,
                        stat,
                    ) else {
                        bail!("verify suite: no prediction for {label} {obs} {stat}");
                    };
                    theory = p.value;
                    let x = 1.0 / n as f64;
                    rows.push((vec![1.0, x, x * x], e.estimate, e.stderr));
                }
                let (beta, cov) = wls(&rows)?;
                let e = Estimate {
                    estimate: beta[0],
                    stderr: cov[0][0].sqrt(),
                };
                Ok(vec![z_check(
                    format!(
                        "{label}: {obs} {stat} as n→∞ (fit c0 + c1/n + c2/n², n in {widths:?})"
                    ),
                    e,
                    theory,
                    Kind::InfiniteWidth,
                    "|z| <= 4 for the extrapolated intercept vs the infinite-width kernel",
                )])
            }
        }
    }
}

/// Weighted least squares (randnet_stats::fit::weighted_least_squares).
fn wls(rows: &[(Vec<f64>, f64, f64)]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    randnet_stats::fit::weighted_least_squares(rows).context("verify suite: singular fit")
}

// ---------------------------------------------------------------------------------------------
// The suites

use Method::{Dense as D, MatrixFree as MF};

const OUT_VAR: (&str, &str) = ("output[0]", "variance");
const OUT_EK: (&str, &str) = ("output[0]", "excess_kurtosis");
const NTK00: (&str, &str) = ("ntk[0,0]", "mean");
const NTK01: (&str, &str) = ("ntk[0,1]", "mean");
const JAC_MEAN: (&str, &str) = ("jacobian_norm[0]", "mean");
const JAC_VAR: (&str, &str) = ("jacobian_norm[0]", "variance");

/// The quick suite: every kind of check once, both engines, L/n up to 1.
fn quick_suite() -> Vec<Job> {
    vec![
        // Zero-bias ReLU: the exact product laws (output, squared norms, Jacobian) and the
        // Hanin–Nica NTK mean.
        exact(
            net("relu", 16, 4),
            2,
            "output,ntk,sqnorm,jacobian",
            D,
            80_000,
            &[
                OUT_VAR,
                OUT_EK,
                ("output[1]", "kappa4"),
                NTK00,
                ("sqnorm[3,0]", "variance"),
                JAC_MEAN,
                JAC_VAR,
            ],
        ),
        exact(
            net("relu", 8, 8),
            1,
            "output,ntk,sqnorm,jacobian",
            MF,
            160_000,
            &[OUT_VAR, NTK00, ("sqnorm[8,0]", "mean"), JAC_MEAN],
        ),
        exact(
            net("relu", 16, 4).standard(),
            1,
            "output,ntk",
            MF,
            80_000,
            &[NTK00, OUT_EK],
        ),
        exact(
            net("leaky-relu:0.2", 24, 6),
            1,
            "output,sqnorm",
            MF,
            160_000,
            &[OUT_EK, ("sqnorm[4,0]", "kappa3")],
        ),
        exact(
            net("shaped-relu:1", 16, 16),
            1,
            "output,sqnorm",
            MF,
            80_000,
            &[OUT_VAR, ("sqnorm[16,0]", "mean")],
        ),
        // Linear nets: the kernel recursion is exact for any bias, parameterization, weight law
        // and residual branch.
        exact(
            net("linear", 10, 5).cw(1.2).cb(0.3).standard(),
            2,
            "output,ntk",
            D,
            80_000,
            &[("output[1]", "variance"), NTK01, ("ntk[1,1]", "mean")],
        ),
        exact(
            net("linear", 8, 3).weights("rademacher"),
            2,
            "output,ntk",
            D,
            80_000,
            &[OUT_VAR, NTK01],
        ),
        exact(
            net("linear", 12, 4).cb(0.1).residual("0.5"),
            2,
            "output,ntk",
            D,
            80_000,
            &[OUT_VAR, NTK01],
        ),
        // One hidden layer: z^1 is exactly Gaussian, so K^2 and Θ^2 are exact for any σ.
        exact(
            net("tanh", 16, 1).cb(0.2),
            2,
            "output,ntk,sqnorm",
            MF,
            80_000,
            &[
                OUT_VAR,
                NTK01,
                ("sqnorm[1,0]", "kappa4"),
                ("sqnorm[2,1]", "mean"),
            ],
        ),
        exact(
            net("erf", 12, 1).cw(1.7).cb(0.1).standard(),
            2,
            "output,ntk",
            D,
            80_000,
            &[NTK00, ("output[1]", "variance")],
        ),
        exact(
            net("gelu", 16, 3).cb(0.3),
            1,
            "sqnorm",
            MF,
            80_000,
            &[("sqnorm[2,0]", "mean"), ("sqnorm[1,0]", "variance")],
        ),
        // Exact finite-width laws beyond the Gaussian product law (docs/theory.md §4,
        // docs/derivations/): a non-Gaussian weight law's fourth moment at 1/n, the
        // one-hidden-layer NTK's fluctuations, the Jacobian law with biases.
        exact(
            net("linear", 3, 2).n0(4).weights("rademacher"),
            1,
            "output",
            D,
            200_000,
            &[OUT_VAR, ("output[0]", "kappa4"), OUT_EK],
        ),
        exact(
            net("relu", 4, 1).cb(0.5),
            2,
            "ntk",
            D,
            200_000,
            &[
                ("ntk[0,0]", "variance"),
                ("ntk[0,0]", "kappa4"),
                ("ntk[0,1]", "variance"),
            ],
        ),
        exact(
            net("relu", 6, 4).n0(6).cb(0.2),
            1,
            "lyapunov:3",
            D,
            60_000,
            &[
                ("lyapunov[1]", "mean"),
                ("lyapunov[2]", "variance"),
                ("lyapunov[3]", "mean"),
            ],
        ),
        exact(
            net("relu", 6, 4).cb(0.5),
            1,
            "jacobian,log_jacobian",
            D,
            100_000,
            &[
                JAC_MEAN,
                ("log_jacobian_norm[0]", "mean"),
                ("log_jacobian_norm[0]", "variance"),
            ],
        ),
        // The singular values of J = W^1 at L = 0: the real Wishart law (docs/theory.md §2.6).
        exact(
            net("relu", 0, 0).n0(3).n_out(2),
            1,
            "singular_values:2",
            D,
            100_000,
            &[
                ("singular_value[0,1]", "mean"),
                ("singular_value[0,2]", "mean"),
                ("singular_value[0,2]", "variance"),
            ],
        ),
        // Trends.
        Job {
            label: "relu L=6 ntk matrix-free".into(),
            kind: JobKind::NtkSlope {
                depth: 6,
                widths: vec![96, 48, 24],
                method: MF,
                networks: 80_000,
                seed: 2,
            },
        },
        Job {
            label: "tanh L=6 matrix-free".into(),
            kind: JobKind::KurtosisCoefficient {
                net: net("tanh", 16, 6),
                widths: vec![12, 24, 48],
                method: MF,
                networks: 160_000,
                seed: 3,
            },
        },
        Job {
            label: "tanh L=3 Cw=1.5 Cb=0.2 matrix-free".into(),
            kind: JobKind::InfiniteWidth {
                net: net("tanh", 16, 3).cw(1.5).cb(0.2),
                obs: "output[0]",
                stat: "variance",
                widths: vec![8, 16, 32, 64],
                method: MF,
                networks: 80_000,
                seed: 4,
            },
        },
    ]
}

/// The full suite: the quick suite plus both engines on every exact family, more depths and
/// widths (L/n up to 1), more activations, and more trends.
fn full_suite() -> Vec<Job> {
    let mut jobs = quick_suite();
    // The exact laws of docs/derivations/: residual linear nets (any α, biases), linear nets
    // under uniform and Rademacher weights, piecewise-linear second moments under any symmetric
    // law, the one-hidden-layer NTK, ln‖Ju‖ (both engines where they apply).
    for (residual, cb) in [("0.5", 0.0), ("1", 0.3), ("invsqrt-depth", 0.0)] {
        jobs.push(exact(
            net("linear", 4, 4).n0(3).residual(residual).cb(cb),
            1,
            "output",
            D,
            300_000,
            &[OUT_VAR, ("output[0]", "kappa4"), OUT_EK],
        ));
    }
    for weights in ["uniform", "rademacher"] {
        jobs.push(exact(
            net("linear", 3, 3).n0(4).weights(weights).cb(0.2),
            1,
            "output,sqnorm",
            D,
            300_000,
            &[
                OUT_VAR,
                ("output[0]", "kappa4"),
                ("sqnorm[2,0]", "variance"),
            ],
        ));
        for act in ["relu", "leaky-relu:0.3"] {
            jobs.push(exact(
                net(act, 6, 3).weights(weights),
                1,
                "output,sqnorm",
                D,
                150_000,
                &[OUT_VAR, ("sqnorm[3,0]", "mean")],
            ));
        }
    }
    for (act, standard) in [("tanh", false), ("relu", true), ("erf", false)] {
        let n = if standard {
            net(act, 4, 1).cb(0.2).standard()
        } else {
            net(act, 4, 1).cb(0.2)
        };
        jobs.push(exact(
            n,
            2,
            "ntk",
            D,
            200_000,
            &[
                ("ntk[0,0]", "variance"),
                ("ntk[0,1]", "variance"),
                ("ntk[1,1]", "kappa3"),
            ],
        ));
    }
    for method in [D, MF] {
        for (act, cb) in [("relu", 0.1), ("linear", 0.0)] {
            jobs.push(exact(
                net(act, 8, 8).n0(8).cb(cb),
                1,
                "lyapunov:4",
                method,
                80_000,
                &[
                    ("lyapunov[1]", "mean"),
                    ("lyapunov[1]", "variance"),
                    ("lyapunov[2]", "mean"),
                    ("lyapunov[3]", "mean"),
                    ("lyapunov[4]", "mean"),
                    ("lyapunov[4]", "variance"),
                ],
            ));
        }
    }
    for method in [D, MF] {
        jobs.push(exact(
            net("relu", 8, 6),
            1,
            "log_jacobian",
            method,
            150_000,
            &[
                ("log_jacobian_norm[0]", "mean"),
                ("log_jacobian_norm[0]", "variance"),
                ("log_jacobian_norm[0]", "kappa3"),
            ],
        ));
    }
    // The real Wishart law of J = W^1 at L = 0 (docs/theory.md §2.6): square and rectangular,
    // n_out = 2 and 3, the other parameterization and C_W.
    jobs.push(exact(
        net("tanh", 0, 0).n0(2).n_out(3).cw(1.7).standard(),
        2,
        "singular_values:2",
        D,
        200_000,
        &[
            ("singular_value[0,1]", "mean"),
            ("singular_value[0,1]", "variance"),
            ("singular_value[1,2]", "mean"),
            ("singular_value[1,2]", "variance"),
            ("singular_value[1,2]", "kappa3"),
        ],
    ));
    jobs.push(exact(
        net("relu", 0, 0).n0(3).n_out(3),
        1,
        "singular_values:3",
        D,
        200_000,
        &[
            ("singular_value[0,1]", "mean"),
            ("singular_value[0,1]", "variance"),
            ("singular_value[0,2]", "mean"),
            ("singular_value[0,3]", "mean"),
            ("singular_value[0,3]", "variance"),
            ("singular_value[0,3]", "kappa3"),
        ],
    ));
    // Zero-bias ReLU across depth and width, both engines.
    for (n, l, m) in [
        (32usize, 2usize, 120_000u64),
        (16, 8, 120_000),
        (32, 32, 60_000),
    ] {
        for method in [D, MF] {
            jobs.push(exact(
                net("relu", n, l),
                2,
                "output,ntk,jacobian",
                method,
                m,
                &[OUT_VAR, NTK00, JAC_MEAN, ("jacobian_norm[1]", "variance")],
            ));
        }
    }
    jobs.push(exact(
        net("relu", 32, 4),
        1,
        "output,sqnorm",
        MF,
        300_000,
        &[OUT_EK, ("output[0]", "kappa6"), ("sqnorm[2,0]", "kappa4")],
    ));
    jobs.push(exact(
        net("relu", 12, 6).cw(1.5).standard(),
        1,
        "output,ntk,jacobian",
        D,
        120_000,
        &[OUT_VAR, NTK00, JAC_MEAN],
    ));
    jobs.push(exact(
        net("leaky-relu:-0.5", 16, 4),
        1,
        "output,sqnorm",
        D,
        120_000,
        &[OUT_VAR, OUT_EK, ("sqnorm[5,0]", "variance")],
    ));
    jobs.push(exact(
        net("linear", 16, 8),
        1,
        "output,jacobian",
        MF,
        120_000,
        &[OUT_EK, JAC_MEAN, JAC_VAR],
    ));
    jobs.push(exact(
        net("linear", 10, 4).cb(0.2).weights("uniform"),
        2,
        "output,ntk",
        D,
        60_000,
        &[OUT_VAR, NTK00, NTK01],
    ));
    jobs.push(exact(
        net("linear", 12, 6).residual("invsqrt-depth").standard(),
        2,
        "output,ntk",
        MF,
        60_000,
        &[OUT_VAR, NTK01],
    ));
    // One hidden layer, any activation, both engines.
    for (act, method) in [
        ("erf", MF),
        ("gelu", D),
        ("swish", MF),
        ("sin", D),
        ("cubic:0.5", MF),
        ("tanh", D),
    ] {
        jobs.push(exact(
            net(act, 24, 1).cw(1.5).cb(0.1),
            2,
            "output,ntk,sqnorm",
            method,
            60_000,
            &[
                OUT_VAR,
                NTK01,
                ("sqnorm[2,1]", "mean"),
                ("ntk[1,1]", "mean"),
            ],
        ));
    }
    jobs.push(exact(
        net("erf", 16, 4).cw(2.0).cb(0.2),
        2,
        "sqnorm",
        D,
        60_000,
        &[("sqnorm[2,0]", "mean"), ("sqnorm[2,1]", "mean")],
    ));
    // Trends with the other engine and other activations.
    jobs.push(Job {
        label: "relu L=8 ntk dense".into(),
        kind: JobKind::NtkSlope {
            depth: 8,
            widths: vec![128, 64, 32],
            method: D,
            networks: 60_000,
            seed: 5,
        },
    });
    jobs.push(Job {
        label: "erf L=4 Cb=0.1 dense".into(),
        kind: JobKind::KurtosisCoefficient {
            net: net("erf", 16, 4).cb(0.1),
            widths: vec![8, 16, 32],
            method: D,
            networks: 180_000,
            seed: 6,
        },
    });
    jobs.push(Job {
        label: "gelu L=4 Cw=1.8 matrix-free".into(),
        kind: JobKind::KurtosisCoefficient {
            net: net("gelu", 16, 4).cw(1.8),
            widths: vec![12, 24, 48],
            method: MF,
            networks: 180_000,
            seed: 7,
        },
    });
    jobs.push(Job {
        label: "gelu L=3 Cb=0.2 matrix-free".into(),
        kind: JobKind::InfiniteWidth {
            net: net("gelu", 16, 3).cb(0.2).cw(1.7),
            obs: "ntk[0,1]",
            stat: "mean",
            widths: vec![8, 16, 32, 64],
            method: MF,
            networks: 60_000,
            seed: 8,
        },
    });
    jobs.push(Job {
        label: "erf L=4 Cb=0.1 n0=4 dense".into(),
        kind: JobKind::InfiniteWidth {
            net: net("erf", 16, 4).cw(1.7).cb(0.1).n0(4),
            obs: "output[1]",
            stat: "variance",
            widths: vec![8, 16, 32, 64],
            method: D,
            networks: 60_000,
            seed: 9,
        },
    });
    jobs
}
