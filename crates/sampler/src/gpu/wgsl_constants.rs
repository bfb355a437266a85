//! The constants that the host code and the WGSL kernels must agree on, written once in Rust and
//! generated into a WGSL prelude ([`prelude`]) that the host prepends to every shader module it
//! compiles (crates/sampler/src/gpu/shaders.rs, matrix_free.rs, bench.rs). No `shaders/*.wgsl`
//! file declares any of these names (a test below checks it), so a change on the Rust side can
//! no longer leave a stale copy in WGSL.
//!
//! Generated (WGSL name: Rust source):
//! - `PHILOX_M0`, `PHILOX_M1`, `PHILOX_W0`, `PHILOX_W1`: [`crate::philox`]'s `M0`, `M1`, `W0`,
//!   `W1` (round multipliers and key increments of Philox4x32-10);
//! - `PURPOSE_WEIGHT`, `PURPOSE_BIAS`, `PURPOSE_JACOBIAN_DIRECTION`, `PURPOSE_INPUT`,
//!   `PURPOSE_MF_FORWARD`, `PURPOSE_MF_BACKWARD`: [`crate::stream::Purpose`] as u32;
//! - `ACT_SLOPES`, `ACT_TANH`, `ACT_ERF`, `ACT_GELU`, `ACT_SWISH`, `ACT_SIN`, `ACT_CUBIC`: the
//!   activation codes below, which the host sends for each [`LayerActivation`] (`act_code`);
//! - `LAW_GAUSSIAN`, `LAW_UNIFORM`, `LAW_RADEMACHER`: the weight-law codes below ([`law_code`]);
//! - `NONE`: the "no offset" marker of the matrix-free kernel's layer table;
//! - `MAX_SWEEPS_F32`: the f32 Jacobi sweep cap, `MAX_SWEEPS_F32` of gpu/matrix_free.rs (where
//!   a comment says why it is 16 and the CPU's is 64).
//!
//! Per-module constants (`WG`, `CT`, `KT`, `RED`, `RANK_RTOL_F32`) are still written by the code
//! that assembles each module, as they depend on the device or the problem.

use crate::activation::LayerActivation;
use crate::philox;
use crate::stream::Purpose;
use randnet_problem::WeightLaw;

/// Activation codes of activation.wgsl's `act_eval` (`kind`).
pub const ACT_SLOPES: u32 = 0;
pub const ACT_TANH: u32 = 1;
pub const ACT_ERF: u32 = 2;
pub const ACT_GELU: u32 = 3;
pub const ACT_SWISH: u32 = 4;
pub const ACT_SIN: u32 = 5;
pub const ACT_CUBIC: u32 = 6;

/// Weight-law codes of normal.wgsl's `values4` (`law`).
pub const LAW_GAUSSIAN: u32 = 0;
pub const LAW_UNIFORM: u32 = 1;
pub const LAW_RADEMACHER: u32 = 2;

/// "Not kept" marker in the matrix-free kernel's per-layer offsets.
pub const NONE: u32 = u32::MAX;

/// The code of a weight law in the kernels' parameters.
pub fn law_code(law: WeightLaw) -> u32 {
    match law {
        WeightLaw::Gaussian => LAW_GAUSSIAN,
        WeightLaw::Uniform => LAW_UNIFORM,
        WeightLaw::Rademacher => LAW_RADEMACHER,
    }
}

/// The code of an activation in the kernels' parameters (its constants travel beside it).
pub fn act_kind(act: LayerActivation) -> u32 {
    match act {
        LayerActivation::Slopes(..) => ACT_SLOPES,
        LayerActivation::Tanh => ACT_TANH,
        LayerActivation::Erf => ACT_ERF,
        LayerActivation::Gelu => ACT_GELU,
        LayerActivation::Swish => ACT_SWISH,
        LayerActivation::Sin => ACT_SIN,
        LayerActivation::Cubic(..) => ACT_CUBIC,
    }
}

/// The WGSL name of a stream purpose (`PURPOSE_*`).
fn purpose_name(p: Purpose) -> &'static str {
    // Exhaustive: a new purpose does not compile until it is named here (and listed below).
    match p {
        Purpose::Weight => "PURPOSE_WEIGHT",
        Purpose::Bias => "PURPOSE_BIAS",
        Purpose::JacobianDirection => "PURPOSE_JACOBIAN_DIRECTION",
        Purpose::Input => "PURPOSE_INPUT",
        Purpose::MatrixFreeForward => "PURPOSE_MF_FORWARD",
        Purpose::MatrixFreeBackward => "PURPOSE_MF_BACKWARD",
        Purpose::LyapunovFrame => "PURPOSE_LYAPUNOV_FRAME",
    }
}

const PURPOSES: [Purpose; 7] = [
    Purpose::Weight,
    Purpose::Bias,
    Purpose::JacobianDirection,
    Purpose::Input,
    Purpose::MatrixFreeForward,
    Purpose::MatrixFreeBackward,
    Purpose::LyapunovFrame,
];

/// Every generated constant: (WGSL name, value), in prelude order.
pub fn constants() -> Vec<(&'static str, u32)> {
    let mut c = vec![
        ("PHILOX_M0", philox::M0),
        ("PHILOX_M1", philox::M1),
        ("PHILOX_W0", philox::W0),
        ("PHILOX_W1", philox::W1),
    ];
    c.extend(PURPOSES.iter().map(|&p| (purpose_name(p), p as u32)));
    c.extend([
        ("ACT_SLOPES", ACT_SLOPES),
        ("ACT_TANH", ACT_TANH),
        ("ACT_ERF", ACT_ERF),
        ("ACT_GELU", ACT_GELU),
        ("ACT_SWISH", ACT_SWISH),
        ("ACT_SIN", ACT_SIN),
        ("ACT_CUBIC", ACT_CUBIC),
        ("LAW_GAUSSIAN", LAW_GAUSSIAN),
        ("LAW_UNIFORM", LAW_UNIFORM),
        ("LAW_RADEMACHER", LAW_RADEMACHER),
        ("NONE", NONE),
        ("MAX_SWEEPS_F32", super::matrix_free::MAX_SWEEPS_F32),
    ]);
    c
}

/// The WGSL prelude: one `const NAME: u32 = VALUEu;` line per [`constants`] entry.
pub fn prelude() -> String {
    let mut s = String::from(
        "// Generated from the Rust definitions (crates/sampler/src/gpu/wgsl_constants.rs).\n",
    );
    for (name, value) in constants() {
        s += &format!("const {name}: u32 = {value}u;\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::dense::act_code;
    use std::collections::HashMap;

    /// The prelude's declarations, parsed back: name -> value.
    fn parsed() -> HashMap<String, u32> {
        let mut m = HashMap::new();
        for line in prelude().lines().filter(|l| !l.starts_with("//")) {
            let rest = line.strip_prefix("const ").expect(line);
            let (name, rest) = rest.split_once(": u32 = ").expect(line);
            let v: u32 = rest.strip_suffix("u;").expect(line).parse().expect(line);
            assert!(m.insert(name.to_string(), v).is_none(), "{name} twice");
        }
        m
    }

    #[test]
    fn prelude_holds_the_rust_values() {
        let m = parsed();
        let expect: Vec<(&str, u32)> = vec![
            ("PHILOX_M0", philox::M0),
            ("PHILOX_M1", philox::M1),
            ("PHILOX_W0", philox::W0),
            ("PHILOX_W1", philox::W1),
            ("PURPOSE_WEIGHT", Purpose::Weight as u32),
            ("PURPOSE_BIAS", Purpose::Bias as u32),
            (
                "PURPOSE_JACOBIAN_DIRECTION",
                Purpose::JacobianDirection as u32,
            ),
            ("PURPOSE_INPUT", Purpose::Input as u32),
            ("PURPOSE_MF_FORWARD", Purpose::MatrixFreeForward as u32),
            ("PURPOSE_MF_BACKWARD", Purpose::MatrixFreeBackward as u32),
            ("PURPOSE_LYAPUNOV_FRAME", Purpose::LyapunovFrame as u32),
            // What the host sends for each activation is what the kernel switches on.
            ("ACT_SLOPES", act_code(LayerActivation::Slopes(1.0, 0.0)).0),
            ("ACT_TANH", act_code(LayerActivation::Tanh).0),
            ("ACT_ERF", act_code(LayerActivation::Erf).0),
            ("ACT_GELU", act_code(LayerActivation::Gelu).0),
            ("ACT_SWISH", act_code(LayerActivation::Swish).0),
            ("ACT_SIN", act_code(LayerActivation::Sin).0),
            ("ACT_CUBIC", act_code(LayerActivation::Cubic(0.1)).0),
            ("LAW_GAUSSIAN", law_code(WeightLaw::Gaussian)),
            ("LAW_UNIFORM", law_code(WeightLaw::Uniform)),
            ("LAW_RADEMACHER", law_code(WeightLaw::Rademacher)),
            ("NONE", u32::MAX),
            ("MAX_SWEEPS_F32", super::super::matrix_free::MAX_SWEEPS_F32),
        ];
        for (name, v) in &expect {
            assert_eq!(m.get(*name), Some(v), "{name}");
        }
        assert_eq!(m.len(), constants().len());
        assert_eq!(
            m.len(),
            expect.len(),
            "a generated constant without a check here"
        );
        // Codes are distinct within each family (the kernels switch on them).
        for family in ["PURPOSE_", "ACT_", "LAW_"] {
            let mut v: Vec<u32> = m
                .iter()
                .filter(|(k, _)| k.starts_with(family))
                .map(|(_, &v)| v)
                .collect();
            let n = v.len();
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), n, "{family} codes collide");
        }
    }

    /// Identifiers declared at module scope or locally (`const`, `override`, `var`, `let`, `fn`,
    /// `struct`, `alias`) in a WGSL source, comments stripped.
    fn declared(src: &str) -> Vec<String> {
        let code: String = src
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '<'))
            .filter(|w| !w.is_empty())
            .collect();
        let mut out = Vec::new();
        for w in words.windows(2) {
            let kw = w[0].split('<').next().unwrap_or("");
            if matches!(
                kw,
                "const" | "override" | "var" | "let" | "fn" | "struct" | "alias"
            ) {
                out.push(w[1].split('<').next().unwrap_or("").to_string());
            }
        }
        out
    }

    #[test]
    fn no_shader_redeclares_a_generated_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
        let mut names: Vec<&str> = constants().iter().map(|&(n, _)| n).collect();
        // Written per module by the host code.
        names.extend(["WG", "CT", "KT", "RED", "RANK_RTOL_F32"]);
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).expect("shaders/") {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
                continue;
            }
            files += 1;
            let src = std::fs::read_to_string(&path).unwrap();
            for d in declared(&src) {
                assert!(
                    !names.contains(&d.as_str()),
                    "{} declares {d}, which the host generates",
                    path.display()
                );
            }
        }
        assert!(
            files >= 10,
            "only {files} .wgsl files found in {}",
            dir.display()
        );
        // The scanner does see declarations.
        assert_eq!(
            declared("const NONE: u32 = 1u; // x\nvar<workgroup> red: f32;"),
            ["NONE", "red"]
        );
    }

    /// Every module the host assembles parses and validates (naga, no device needed): a
    /// duplicate or missing constant would fail here.
    #[test]
    fn assembled_modules_validate() {
        use crate::gpu::matrix_free::MfConsts;
        use crate::gpu::shaders;
        use wgpu::naga;
        let mut sources = vec![
            ("philox_probe", shaders::philox_probe_source()),
            ("activation_probe", shaders::activation_probe_source()),
            (
                "bench_philox",
                crate::gpu::bench::bench_source(crate::gpu::bench::CeilingKind::Normals),
            ),
            (
                "bench_fma",
                crate::gpu::bench::bench_source(crate::gpu::bench::CeilingKind::Fma),
            ),
            (
                "matrix_free",
                crate::gpu::matrix_free::mf_source(MfConsts {
                    wg: 64,
                    red: 18,
                    z_off: NONE,
                    alpha: 1.0,
                    cols: 3,
                    off_jac: NONE,
                    off_sq: NONE,
                }),
            ),
            (
                "matrix_free residual jacobian",
                crate::gpu::matrix_free::mf_source(MfConsts {
                    wg: 64,
                    red: 24,
                    z_off: 1000,
                    alpha: 0.57735026,
                    cols: 6,
                    off_jac: 21,
                    off_sq: 9,
                }),
            ),
        ];
        for (ct, kt) in [(1, 1), (4, 4), (8, 2), (16, 8)] {
            sources.push((
                "dense",
                shaders::dense_source(shaders::DenseConsts {
                    wg: 64,
                    ct,
                    kt,
                    red: 8,
                }),
            ));
        }
        for (label, src) in sources {
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(&src)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{label}: {e:?}"));
        }
    }
}
