//! `cute-bench`: the shared benchmark workloads of `../shared/WORKLOADS.md`.
//!
//! ```text
//! cargo run --release -p cute-bench -- W1 W2 W3 W4 W5 idle   # or: all
//! cargo run --release -p cute-bench -- --runs 1 W3
//! ```
//!
//! Every workload runs `--runs` times (default 3) and prints one line per figure with the
//! median: `<workload> <implementation> <value> <unit>`. The raw Rust floor of each
//! workload runs in the same process, so ratios compare like with like. Each workload
//! checks its own result (sums, counts, order) and aborts on a wrong one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

mod core_workloads;

/// Counts allocations so the idle check can report allocations per wake.
#[derive(Debug)]
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

#[allow(unsafe_code)] // reason: GlobalAlloc's methods are unsafe by signature; we only delegate
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub(crate) fn alloc_count() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

/// One printed figure.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    workload: String,
    implementation: String,
    value: f64,
    unit: String,
}

impl Figure {
    pub(crate) fn new(workload: &str, implementation: &str, value: f64, unit: &str) -> Self {
        Figure { workload: workload.into(), implementation: implementation.into(), value, unit: unit.into() }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn run(name: &str, runs: usize) -> Result<(), String> {
    let workload: fn() -> Vec<Figure> = match name {
        "W1" => || core_workloads::emit(1),
        "W2" => || core_workloads::emit(10),
        "W3" => core_workloads::queued_xthread,
        "W4" => core_workloads::pingpong,
        "W5" => core_workloads::zero_timer,
        "idle" => core_workloads::idle,
        other => return Err(format!("unknown workload `{other}` (try W1..W5, idle, all)")),
    };
    let mut samples: Vec<Vec<Figure>> = Vec::new();
    for _ in 0..runs {
        samples.push(workload());
    }
    for (i, first) in samples[0].iter().enumerate() {
        let values: Vec<f64> = samples.iter().map(|s| s[i].value).collect();
        let all: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
        eprintln!("# {} {} runs: {}", first.workload, first.implementation, all.join(" "));
        println!("{} {} {:.3} {}", first.workload, first.implementation, median(values), first.unit);
    }
    Ok(())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 3;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args.get(i + 1).and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or_else(|| {
            eprintln!("--runs needs a positive number");
            std::process::exit(2);
        });
        args.drain(i..=i + 1);
    }
    if args.is_empty() || args.iter().any(|a| a == "all") {
        args = ["W1", "W2", "W3", "W4", "W5", "idle"].map(String::from).to_vec();
    }
    for name in &args {
        if let Err(e) = run(name, runs) {
            eprintln!("cute-bench: {e}");
            std::process::exit(2);
        }
    }
}
