//! The options of every command, as clap argument groups. Every flag is defined once, in the
//! group it belongs to; the binary flattens the groups into its subcommands, and other front
//! ends fill the same structs.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use randnet_problem::{
    Activation, InputSpec, NetworkSpec, Observe, Parameterization, Residual, WeightLaw,
};
use std::path::PathBuf;

/// `--observe`'s help: every registered family's token (randnet_problem::families).
fn observe_help(what: &str) -> String {
    format!(
        "{what}: {} (comma-separated)",
        randnet_problem::families::tokens()
    )
}

/// The network: architecture and initialization (conventions: docs/theory.md).
#[derive(Debug, Clone, Args)]
pub struct SpecArgs {
    /// Input dimension n0 (default 16; taken from the file with --input-file).
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(usize))]
    pub input_dim: Option<usize>,
    /// Hidden width n (every hidden layer), with --depth.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = clap::value_parser!(usize))]
    pub width: usize,
    /// Number of hidden layers L.
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = clap::value_parser!(usize))]
    pub depth: usize,
    /// Explicit hidden widths N1,N2,... (overrides --width and --depth).
    #[arg(long, value_name = "N1,N2,..")]
    pub widths: Option<String>,
    /// Readout width.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = clap::value_parser!(usize))]
    pub output_dim: usize,
    /// relu, leaky-relu:S, linear, tanh, erf, gelu, swish, sin, shaped-relu:C, cubic:PSI.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Weight variance C_W (default: the activation's critical value).
    #[arg(long, allow_negative_numbers = true)]
    pub cw: Option<f64>,
    /// Bias variance C_b.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub cb: f64,
    /// ntk, standard, mup, depth-mup or completep (docs/training.md, "Parameters and the step").
    /// depth-mup needs --residual invsqrt-depth, completep --residual inv-depth. sweep also takes
    /// a list (mup,depth-mup,completep): one sweep per name on the same networks and seed, a
    /// parameterization column in the CSV and JSON, the exponents side by side; in a list
    /// depth-mup and completep take their residual rule when --residual is not given, each
    /// keeps its own checkpoint, and --plot and --shard are refused (docs/training.md,
    /// "Coordinate checks").
    #[arg(long, default_value = "ntk")]
    pub parameterization: String,
    /// Residual branch scale: a number ALPHA, invsqrt-depth (1/√L) or inv-depth (1/L).
    #[arg(
        long,
        value_name = "ALPHA|invsqrt-depth|inv-depth",
        allow_negative_numbers = true
    )]
    pub residual: Option<String>,
    /// Law of the standardized weights: gaussian, uniform or rademacher (variance 1 each).
    #[arg(long, default_value = "gaussian")]
    pub weights: String,
    /// Take full-batch gradient steps with learning rate ETA on ½ Σ_a (f(x_a) − y_a)² after
    /// drawing each network (for delta_output, delta_ntk, feature_change, feature_alignment;
    /// docs/training.md).
    #[arg(long, value_name = "ETA", allow_negative_numbers = true)]
    pub step_lr: Option<f64>,
    /// Number of gradient steps (with --step-lr).
    #[arg(long, value_name = "T", default_value_t = 1, allow_negative_numbers = true, value_parser = clap::value_parser!(usize))]
    pub steps: usize,
    /// The targets y_a of the steps: zero, or a CSV file with one number per input (per row).
    #[arg(long, value_name = "zero|FILE.csv", default_value = "zero")]
    pub targets: String,
}

/// Where the K inputs come from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// K inputs drawn from the seed, each scaled to ||x||^2 = n0 (default 2).
    #[arg(long, value_name = "K", conflicts_with_all = ["angle", "input_file"], allow_negative_numbers = true, value_parser = clap::value_parser!(usize))]
    pub inputs: Option<usize>,
    /// Two inputs at angle THETA (radians), each with ||x||^2 = n0.
    #[arg(
        long,
        value_name = "THETA",
        allow_negative_numbers = true,
        conflicts_with = "input_file"
    )]
    pub angle: Option<f64>,
    /// One input per CSV row; n0 is taken from the file.
    #[arg(long, value_name = "FILE.csv")]
    pub input_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Auto,
    Cpu,
    Gpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    Auto,
    Dense,
    MatrixFree,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// How the networks are drawn and where results go.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Number of networks M.
    #[arg(long, default_value_t = 10_000, allow_negative_numbers = true, value_parser = clap::value_parser!(u64))]
    pub networks: u64,
    /// Seed of the random stream (the Philox key).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub method: Method,
    /// Use the GPU adapter whose name contains SUBSTRING (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the result here (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Draw only shard I of N (0-based): networks floor(M I/N)..floor(M (I+1)/N) of the same
    /// stream; `randnet merge` combines the shards' JSON outputs.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Networks per batch (does not change any estimate; default: sized to the network).
    #[arg(long, allow_negative_numbers = true, value_parser = positive_batch)]
    pub batch: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Observables (comma-separated; the list comes from the registry of observable families).
    #[arg(long, default_value = "output,ntk", help = observe_help("Observables"))]
    pub observe: String,
    /// The curve for length_distortion and regions: segment (x0 -> x1) or circle (centred at
    /// the origin, through x0, in the plane of x0 and x1).
    #[arg(long, default_value = "segment")]
    pub curve: String,
    #[command(flatten)]
    pub run: RunArgs,
    /// Save every network's values as a structured numpy array (one field per observable).
    #[arg(long, value_name = "FILE.npy")]
    pub save_samples: Option<PathBuf>,
    /// Pooled histograms of each observable family's values over all networks (e.g. the
    /// singular-value or Lyapunov spectrum): tidy CSV, or a plot for FILE.png / FILE.svg.
    #[arg(long, value_name = "FILE.csv|png|svg")]
    pub histogram: Option<PathBuf>,
    /// Equal-width bins of --histogram over the values' range (default 50).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub histogram_bins: Option<u32>,
}

impl SpecArgs {
    /// The validated network spec; `file_n0` is the input dimension of an input file, if any.
    pub fn to_spec(&self, file_n0: Option<usize>) -> Result<NetworkSpec> {
        let input_dim = match (self.input_dim, file_n0) {
            (Some(d), Some(f)) if d != f => {
                bail!("the input file has {f} columns but --input-dim is {d}")
            }
            (Some(d), _) => d,
            (None, Some(f)) => f,
            (None, None) => 16,
        };
        let hidden = match &self.widths {
            Some(list) => parse_widths(list)?,
            None => {
                if self.width == 0 {
                    bail!("--width must be a positive integer, got 0");
                }
                // Checked before the layer list is allocated (a huge depth aborted there).
                if self.depth > MAX_DEPTH {
                    bail!(
                        "--depth {} is too large: the random stream's counters hold at most {MAX_DEPTH} hidden layers",
                        self.depth
                    );
                }
                vec![self.width; self.depth]
            }
        };
        let activation: Activation = self.activation.parse()?;
        let parameterization: Parameterization = self.parameterization.parse()?;
        let weights: WeightLaw = self.weights.parse()?;
        let residual = self
            .residual
            .as_deref()
            .map(str::parse::<Residual>)
            .transpose()?;
        let mut spec = NetworkSpec::new(
            input_dim,
            hidden,
            self.output_dim,
            activation,
            self.cw,
            self.cb,
            parameterization,
            residual,
            weights,
        )?;
        spec.step = self.step()?;
        if spec.step.is_some() {
            spec.validate()?;
        }
        Ok(spec)
    }

    /// The gradient steps of `--step-lr`, `--steps`, `--targets`.
    fn step(&self) -> Result<Option<randnet_problem::Step>> {
        let Some(lr) = self.step_lr else {
            if self.steps != 1 {
                bail!("--steps needs --step-lr ETA");
            }
            if self.targets != "zero" {
                bail!("--targets needs --step-lr ETA");
            }
            return Ok(None);
        };
        let targets = if self.targets == "zero" {
            Vec::new()
        } else {
            let path = std::path::Path::new(&self.targets);
            let rows = crate::input_file::read_csv(path)?;
            if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != 1) {
                bail!(
                    "{}: line {} has {} values; --targets takes one target per row",
                    path.display(),
                    i + 1,
                    r.len()
                );
            }
            rows.into_iter().map(|r| r[0]).collect()
        };
        Ok(Some(randnet_problem::Step {
            lr,
            steps: self.steps,
            targets,
        }))
    }
}

/// A number of networks per batch >= 1 (`--batch 0` would draw nothing per batch).
pub fn positive_batch(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(format!(
            "expected a whole number of networks >= 1, got '{text}'"
        )),
    }
}

/// A finite number of seconds > 0 (`bench --seconds`: no time gives no rate).
pub fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!(
            "expected a finite number of seconds > 0, got '{text}'"
        )),
    }
}

/// A finite number of seconds >= 0 (`--checkpoint-seconds 0`: a checkpoint after every batch).
pub fn nonnegative_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!(
            "expected a finite number of seconds >= 0, got '{text}'"
        )),
    }
}

/// The most hidden layers the random stream's counters address (`Problem::validate`: L + 1 < 2^24).
pub const MAX_DEPTH: usize = (1 << 24) - 2;

fn parse_widths(list: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for tok in list.split(',').map(str::trim) {
        let n: i64 = tok
            .parse()
            .with_context(|| format!("--widths: '{tok}' is not an integer"))?;
        if n <= 0 {
            bail!("--widths: every width must be a positive integer, got {n}");
        }
        out.push(n as usize);
    }
    Ok(out)
}

impl InputArgs {
    /// The input description and, for an input file, its dimension.
    pub fn to_inputs(&self) -> Result<(InputSpec, Option<usize>)> {
        if let Some(path) = &self.input_file {
            let rows = crate::input_file::read_csv(path)?;
            let n0 = rows[0].len();
            return Ok((InputSpec::Explicit { rows }, Some(n0)));
        }
        if let Some(theta) = self.angle {
            return Ok((InputSpec::Angle { theta }, None));
        }
        let count = self.inputs.unwrap_or(2);
        Ok((InputSpec::Random { count }, None))
    }
}

impl SampleArgs {
    pub fn observe(&self) -> Result<Observe> {
        let mut o = Observe::parse_list(&self.observe)?;
        o.curve = self.curve.parse()?;
        Ok(o)
    }
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// A (ReLU n=256 L=32 K=2, output+ntk), B (n=1024 L=64 K=1, output), C, or all.
    #[arg(long, default_value = "A")]
    pub config: String,
    /// Seconds of timed work per engine.
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true, value_parser = positive_seconds)]
    pub seconds: f64,
    /// Also time the GPU dense engine on any adapter, lavapipe included.
    #[arg(long)]
    pub gpu: bool,
    /// Directory of the peer scripts (mc_numpy.py, mc_jax.py).
    #[arg(long, default_value = "benches/peers")]
    pub peers: String,
    /// Python interpreter for the peers (needs numpy; JAX + neural-tangents for mc_jax.py).
    #[arg(long, default_value = "python3", env = "RANDNET_PEER_PYTHON")]
    pub python: String,
    /// Networks each peer draws.
    #[arg(long, default_value_t = 256)]
    pub peer_networks: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A parsed `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The networks of this shard out of `total`.
    pub fn range(&self, total: u64) -> std::ops::Range<u64> {
        let at = |i: u64| ((total as u128 * i as u128) / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }
}

impl RunArgs {
    pub fn shard_range(&self) -> Result<Shard> {
        let Some(text) = &self.shard else {
            return Ok(Shard { index: 0, count: 1 });
        };
        let parsed = text.split_once('/').and_then(|(i, n)| {
            Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((index, count)) if count > 0 && index < count => Ok(Shard { index, count }),
            _ => bail!("--shard must be I/N with 0 <= I < N (0-based), got '{text}'"),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct TheoryArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Observables to predict (comma-separated; the list comes from the registry).
    #[arg(long, default_value = "output,ntk,sqnorm,jacobian", help = observe_help("Observables to predict"))]
    pub observe: String,
    /// Seed of drawn inputs (--inputs K): `sample --seed S` draws the same inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also give, for exact predictions, the standard error of each estimate over M networks
    /// (`stderr_at_networks`; docs/statistics.md "Exact standard errors from the law").
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    pub networks: Option<u64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The quick suite (the default): >= 20 checks in well under 2 minutes on 2 cores.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The full suite: >= 50 checks, several minutes.
    #[arg(long)]
    pub full: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Run only the checks whose name contains SUBSTRING.
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// The network, inputs, observables and run flags of `sample`; here `--widths LIST` lists
    /// the widths to sweep (every hidden layer of a point has that width).
    #[command(flatten)]
    pub sample: SampleArgs,
    /// Depths L to sweep at every width.
    #[arg(long, value_name = "L1,L2,..")]
    pub depths: Option<String>,
    /// Depth-to-width ratios: L = round(ratio * width) at every width.
    #[arg(long, value_name = "R1,R2,..")]
    pub ratios: Option<String>,
    /// Plot the statistics against L/n (one series per width) to FILE.png or FILE.svg
    /// (docs/plots.md).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    // The help lists the statistics from crate::plot::plot_statistics (one list).
    #[arg(long, value_name = "OBS:STAT", help = crate::plot::plot_stat_help())]
    pub plot_stat: Vec<String>,
    /// Horizontal axis of the plot.
    #[arg(long, value_enum, default_value_t = crate::plot::XAxis::Ratio)]
    pub plot_x: crate::plot::XAxis,
    /// Vertical axis scale of the plot (a diagonal NTK's relative_variance of a zero-bias ReLU
    /// net also gets the fitted Hanin–Nica curve C·(exp(5β)−1)).
    #[arg(long, value_enum, default_value_t = crate::plot::YScale::Auto)]
    pub plot_y_scale: crate::plot::YScale,
    /// At each depth (or ratio), fit a + b/n over the widths for every statistic and add rows
    /// with width `inf`: a with its joint-jackknife error beside the infinite-width theory, b
    /// beside the theory's 1/n coefficient (docs/statistics.md; needs 2+ distinct widths).
    #[arg(long)]
    pub extrapolate: bool,
    /// Fit the log-log slope of every observable's mean against the width (at each depth or
    /// ratio) and against the depth (at each width), with joint-jackknife errors, 95 % intervals
    /// and a verdict per observable: a coordinate check (docs/training.md).
    #[arg(long)]
    pub fit_exponents: bool,
    /// Continue a killed or interrupted sweep from its checkpoint, or start fresh when there is
    /// none (safe to requeue; docs/cluster.md). Without it an existing checkpoint is refused.
    #[arg(long)]
    pub resume: bool,
    /// Checkpoint file (default: .OUTPUT.randnet-checkpoint beside --output, or
    /// .randnet-sweep-HASH.randnet-checkpoint named from the sweep's arguments).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Seconds between checkpoints.
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true, value_parser = nonnegative_seconds)]
    pub checkpoint_seconds: f64,
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// JSON outputs of `sample --shard I/N --format json` (or of sweeps).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

#[derive(Debug, Clone, Args)]
pub struct RunFileArgs {
    /// The batch file (TOML; see docs/batch.md).
    pub file: PathBuf,
}
