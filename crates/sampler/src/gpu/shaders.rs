//! WGSL sources (in `shaders/` at the workspace root) and their assembly into modules.
//!
//! Each kernel file is compiled together with the shared snippets it needs (Philox, the weight
//! laws, the activations), after the generated prelude of constants shared with the Rust code
//! ([`super::wgsl_constants::prelude`]) and a header of the module's own compile-time constants.
//! Every assembled module starts with [`module_source`]'s prelude, exactly once.

pub(crate) const PHILOX: &str = include_str!("../../../../shaders/philox.wgsl");
pub(crate) const NORMAL: &str = include_str!("../../../../shaders/normal.wgsl");
pub(crate) const ACTIVATION: &str = include_str!("../../../../shaders/activation.wgsl");
pub(crate) const REDUCE: &str = include_str!("../../../../shaders/reduce.wgsl");
pub(crate) const DENSE: &str = include_str!("../../../../shaders/dense.wgsl");
pub(crate) const MATRIX_FREE: &str = include_str!("../../../../shaders/matrix_free.wgsl");
pub(crate) const STEP: &str = include_str!("../../../../shaders/step.wgsl");
pub(crate) const GEOMETRY: &str = include_str!("../../../../shaders/geometry.wgsl");
pub(crate) const PHILOX_PROBE: &str = include_str!("../../../../shaders/philox_probe.wgsl");
pub(crate) const ACTIVATION_PROBE: &str = include_str!("../../../../shaders/activation_probe.wgsl");

/// A module's full source: the generated prelude, then `parts`, each followed by a newline.
pub(crate) fn module_source(parts: &[&str]) -> String {
    let mut s = super::wgsl_constants::prelude();
    for p in parts {
        s += p;
        s.push('\n');
    }
    s
}

/// Compile-time constants of the dense kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DenseConsts {
    /// Workgroup size (a power of two).
    pub wg: u32,
    /// Column tile of the forward pass (private accumulators per thread); each forward weight
    /// is generated once per tile, so once per network when cols <= ct.
    pub ct: u32,
    /// Column tile of the backward pass (vec4 accumulators per thread); each backward weight
    /// is generated once per tile, so once per network when K <= kt.
    pub kt: u32,
    /// Values reduced at once in workgroup memory (even).
    pub red: u32,
}

pub(crate) fn dense_source(c: DenseConsts) -> String {
    // The innermost loops over a column tile, written out (see the header of dense.wgsl).
    let mut fwd = String::new();
    for e in 0..4 {
        let ind = if e > 0 { "    " } else { "" };
        if e > 0 {
            fwd += &format!("                    if (ne > {e}u) {{\n");
        }
        fwd += &format!("{ind}                    let x{e} = xb + {e}u * cols;\n");
        for col in 0..c.ct {
            let line = format!("acc[{col}] = acc[{col}] + w[{e}] * scratch[x{e} + {col}u];");
            if col == 0 {
                fwd += &format!("{ind}                    {line}\n");
            } else {
                fwd += &format!("{ind}                    if (nc > {col}u) {{ {line} }}\n");
            }
        }
        if e > 0 {
            fwd += "                    }\n";
        }
    }
    let mut load = String::new();
    let mut nonzero = Vec::new();
    let mut accum = String::new();
    for col in 0..c.kt {
        load += &format!(
            "                    if (nk > {col}u) {{ dv[{col}] = scratch[di + {col}u]; }}\n"
        );
        nonzero.push(format!("dv[{col}] != 0.0"));
        accum += &format!("                    acc[{col}] = acc[{col}] + w * dv[{col}];\n");
    }
    load += &format!(
        "                    let nonzero = {};\n",
        nonzero.join(" || ")
    );
    // The stores of a tile's accumulators, written out too: indexing `acc` by a loop variable
    // could make a compiler keep the array in (slow) local memory instead of registers.
    let mut fwd_store = String::new();
    for col in 0..c.ct {
        let call = format!(
            "fwd_store(ly, zcur, zprev, zrow + {col}u, ct + {col}u < k, bias, acc[{col}]);"
        );
        if col == 0 {
            fwd_store += &format!("                {call}\n");
        } else {
            fwd_store += &format!("                if (nc > {col}u) {{ {call} }}\n");
        }
    }
    let mut bwd_store = String::new();
    for col in 0..c.kt {
        bwd_store += &format!("                if (nk > {col}u) {{\n");
        for (e, lane) in ["x", "y", "z", "w"].iter().enumerate() {
            bwd_store += &format!(
                "                    bwd_store(ly, 4u * jb + {e}u, kt + {col}u, acc[{col}].{lane}, \
                 dact_prev, dcur, dnext);\n"
            );
        }
        bwd_store += "                }\n";
    }
    let dense = DENSE
        .replace("//@FWD_ACCUMULATE\n", &fwd)
        .replace("//@FWD_STORE\n", &fwd_store)
        .replace("//@BWD_LOAD\n", &load)
        .replace("//@BWD_ACCUMULATE\n", &accum)
        .replace("//@BWD_STORE\n", &bwd_store);
    let header = format!(
        "const WG: u32 = {}u;\nconst CT: u32 = {}u;\nconst KT: u32 = {}u;\nconst RED: u32 = {}u;",
        c.wg, c.ct, c.kt, c.red
    );
    module_source(&[&header, PHILOX, NORMAL, ACTIVATION, REDUCE, &dense])
}

/// The step kernel (shaders/step.wgsl) for workgroup size `wg` and reduction width `red`.
pub(crate) fn step_source(wg: u32, red: u32) -> String {
    let header = format!("const WG: u32 = {wg}u;\nconst RED: u32 = {red}u;");
    module_source(&[&header, PHILOX, NORMAL, ACTIVATION, REDUCE, STEP])
}

/// The geometry kernel (shaders/geometry.wgsl): workgroup sizes `wg` (weights, forward) and
/// `wgc` (counting), `nb` vec4s of pre-activations per point, the hash constants of
/// [`crate::geometry::HASH_KEY`] and [`crate::geometry::HASH_INIT`].
pub(crate) fn geometry_source(wg: u32, wgc: u32, nb: u32, lrec: u32) -> String {
    use crate::geometry::{HASH_INIT, HASH_KEY};
    let header = format!(
        "const WG: u32 = {wg}u;\nconst WGC: u32 = {wgc}u;\nconst NB: u32 = {nb}u;\n\
         const LREC: u32 = {lrec}u;\nconst HASH_K0: u32 = {}u;\nconst HASH_K1: u32 = {}u;\n\
         const HASH_I0: u32 = {}u;\nconst HASH_I1: u32 = {}u;",
        HASH_KEY[0], HASH_KEY[1], HASH_INIT[0], HASH_INIT[1]
    );
    module_source(&[&header, PHILOX, NORMAL, GEOMETRY])
}

pub(crate) fn philox_probe_source() -> String {
    module_source(&[PHILOX, NORMAL, PHILOX_PROBE])
}

pub(crate) fn activation_probe_source() -> String {
    module_source(&[ACTIVATION, ACTIVATION_PROBE])
}
