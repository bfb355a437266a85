//! End-to-end: networks beyond 2^32 have streams of their own (docs/rng.md, "Networks beyond
//! 2^32"). With `--networks 8589934592` (2^33) and `--shard I/8388608`, shard 0 draws networks
//! 0..1024 and shard 4194304 draws networks 2^32..2^32 + 1024. Before networks got a 64-bit
//! stream (the network index was held in the 32-bit counter word c0 alone) the two shards were
//! bit-identical; now every network differs, and each shard is still the same whatever the
//! thread count.

use std::path::Path;
use std::process::Command;

/// 2^33 networks in all; shards of 1024 networks.
const TOTAL: &str = "8589934592";
const SHARDS: u64 = 8_388_608;

struct Run {
    /// The JSON report's `observables`.
    observables: serde_json::Value,
    /// The JSON report's `shard`.
    shard: serde_json::Value,
    /// The saved samples: one row of values per network.
    rows: Vec<Vec<f64>>,
}

/// Runs one shard with `threads` rayon threads, saving the samples (npy) next to the JSON.
fn run(dir: &Path, method: &str, shard: u64, threads: usize) -> Run {
    let npy = dir.join(format!("{method}-{shard}-{threads}.npy"));
    let shard_arg = format!("{shard}/{SHARDS}");
    let out = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args([
            "sample",
            "--input-dim",
            "4",
            "--width",
            "8",
            "--depth",
            "2",
            "--inputs",
            "2",
            "--observe",
            "output,ntk",
            "--networks",
            TOTAL,
            "--shard",
            &shard_arg,
            "--seed",
            "7",
            "--backend",
            "cpu",
            "--method",
            method,
            "--format",
            "json",
            "--save-samples",
            npy.to_str().unwrap(),
        ])
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("run randnet");
    assert!(
        out.status.success(),
        "randnet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let bytes = std::fs::read(&npy).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'shape': (1024,)"), "{header}");
    // output[0], output[1], ntk[0,0], ntk[0,1], ntk[1,1].
    let d = 5;
    let body = &bytes[10 + hlen..];
    assert_eq!(body.len(), 1024 * d * 8);
    let vals: Vec<f64> = body
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Run {
        observables: v["observables"].clone(),
        shard: v["shard"].clone(),
        rows: vals.chunks_exact(d).map(|r| r.to_vec()).collect(),
    }
}

fn shards_beyond_2_pow_32_differ(method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let low = run(dir.path(), method, 0, 1);
    let high = run(dir.path(), method, SHARDS / 2, 1);
    assert_eq!(low.shard["first"], 0);
    assert_eq!(low.shard["end"], 1024);
    assert_eq!(high.shard["first"], 1u64 << 32);
    assert_eq!(high.shard["end"], (1u64 << 32) + 1024);
    // Network 2^32 + i is not network i: no row repeats, and the estimates differ.
    let same = (0..1024).filter(|&i| low.rows[i] == high.rows[i]).count();
    assert_eq!(
        same, 0,
        "{method}: {same} of 1024 networks 2^32 + i repeat network i"
    );
    assert_ne!(low.observables, high.observables, "{method}");
    for row in low.rows.iter().chain(&high.rows) {
        assert!(row.iter().all(|v| v.is_finite()), "{method}: {row:?}");
    }
    // Each shard is the same with 1 or 2 threads, bit for bit.
    for (one, shard) in [(&low, 0), (&high, SHARDS / 2)] {
        let two = run(dir.path(), method, shard, 2);
        assert_eq!(one.rows, two.rows, "{method} shard {shard}: samples");
        assert_eq!(
            one.observables, two.observables,
            "{method} shard {shard}: estimates"
        );
    }
}

#[test]
fn dense_shards_beyond_2_pow_32_differ() {
    shards_beyond_2_pow_32_differ("dense");
}

#[test]
fn matrix_free_shards_beyond_2_pow_32_differ() {
    shards_beyond_2_pow_32_differ("matrix-free");
}
