// Workgroup sum reductions, shared by the dense and matrix-free kernels. Needs the constants WG
// (workgroup size, a power of two) and RED (values reduced at once).

var<workgroup> red: array<f32, RED * WG>;

// Tree reduction of red[r * WG + 0 .. WG] for r < nr into red[r * WG]. Must be called in uniform
// control flow; the caller reads red[r * WG] and then calls workgroupBarrier() before reuse.
fn wg_reduce(t: u32, nr: u32) {
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (t < s) {
            for (var r = 0u; r < nr; r = r + 1u) {
                red[r * WG + t] = red[r * WG + t] + red[r * WG + t + s];
            }
        }
        workgroupBarrier();
    }
}
