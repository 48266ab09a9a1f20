//! `cute-bench`: the benchmark workloads W1–W6, C10K and N1–N8 (defined in
//! docs/BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p cute-bench -- W1 W2 W3 W4 W5 W6 C10K idle   # or: core
//! cargo run --release -p cute-bench -- N1 N2 N3 N4 N5 N6 N7 N8   # or: net
//! cargo run --release -p cute-bench -- --base-url http://127.0.0.1:18080 net
//! cargo run --release -p cute-bench -- --runs 1 W3            # all: everything
//! ```
//!
//! Every workload runs `--runs` times (default 3) and prints one line per figure with the
//! median: `<workload> <implementation> <value> <unit>`. The raw Rust floor of each
//! workload (raw ureq for N1–N5) runs in the same process against the same server, so
//! ratios compare like with like. Each workload checks its own result (sums, counts,
//! order, sizes) and aborts on a wrong one.
//!
//! The network workloads use the server at `--base-url` (which must serve `/index.html`
//! and a 1 GiB `/big.bin`, as the shared nginx set-up does), or by default a cute-httpbin
//! started in a child process (so its threads and memory do not count as ours). N7 always
//! starts its own: cute-httpbin over https behind a relay adding 10 ms each way.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

mod core_workloads;
mod latency;
mod net_workloads;
mod socket_workloads;

/// Counts allocations so the idle check can report allocations per wake.
#[derive(Debug)]
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

/// Bytes allocated and not freed (for memory per connection).
static LIVE: AtomicU64 = AtomicU64::new(0);

#[allow(unsafe_code)] // reason: GlobalAlloc's methods are unsafe by signature; we only delegate
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes in use now.
pub(crate) fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

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

fn run(
    name: &str,
    runs: usize,
    target: &mut Option<net_workloads::Target>,
    base_url: Option<&str>,
) -> Result<(), String> {
    type Net = fn(&net_workloads::Target) -> Vec<Figure>;
    let net: Option<Net> = match name {
        "N1" => Some(net_workloads::seq_get),
        "N2" => Some(net_workloads::burst_get),
        "N3" => Some(net_workloads::big_buffered),
        "N4" => Some(net_workloads::big_streamed),
        "N5" => Some(net_workloads::startup),
        "N6" => Some(net_workloads::queued_10k),
        "N8" => Some(net_workloads::big_upload),
        _ => None,
    };
    if name == "N7" {
        // Its own server: https through the latency relay, in a child process.
        let samples: Vec<Vec<Figure>> = (0..runs).map(|_| latency::latency()).collect();
        report(&samples);
        return Ok(());
    }
    let mut samples: Vec<Vec<Figure>> = Vec::new();
    if let Some(workload) = net {
        if target.is_none() {
            let base = match base_url {
                Some(url) => url.to_owned(),
                None => {
                    let server = net_workloads::ServerProcess::start()
                        .map_err(|e| format!("starting httpbin: {e}"))?;
                    let base = server.base.clone();
                    SERVER.with(|s| *s.borrow_mut() = Some(server));
                    base
                }
            };
            eprintln!("# network workloads against {base}");
            *target = Some(net_workloads::Target { base });
        }
        let target = target.as_ref().ok_or("no server")?;
        for _ in 0..runs {
            samples.push(workload(target));
        }
    } else {
        let workload: fn() -> Vec<Figure> = match name {
            "W1" => || core_workloads::emit(1),
            "W2" => || core_workloads::emit(10),
            "W1r" => || core_workloads::emit_bound(1),
            "W2r" => || core_workloads::emit_bound(10),
            "W3" => core_workloads::queued_xthread,
            "W4" => core_workloads::pingpong,
            "W5" => core_workloads::zero_timer,
            "W6" => socket_workloads::echo,
            "C10K" => socket_workloads::c10k,
            "idle" => core_workloads::idle,
            other => {
                return Err(format!(
                    "unknown workload `{other}` (try W1..W6, W1r, W2r, C10K, idle, N1..N8, core, net, all)"
                ));
            }
        };
        for _ in 0..runs {
            samples.push(workload());
        }
    }
    report(&samples);
    Ok(())
}

/// Prints each figure's median over the runs (and every run's value on stderr).
fn report(samples: &[Vec<Figure>]) {
    for (i, first) in samples[0].iter().enumerate() {
        let values: Vec<f64> = samples.iter().map(|s| s[i].value).collect();
        let all: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
        eprintln!("# {} {} {} runs: {}", first.workload, first.implementation, first.unit, all.join(" "));
        println!("{} {} {:.3} {}", first.workload, first.implementation, median(values), first.unit);
    }
}

thread_local! {
    /// The child httpbin process, alive until main returns.
    static SERVER: std::cell::RefCell<Option<net_workloads::ServerProcess>> = const { std::cell::RefCell::new(None) };
}

fn take_value(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    let value = args.get(i + 1).cloned();
    args.drain(i..(i + 2).min(args.len()));
    if value.is_none() {
        eprintln!("{flag} needs a value");
        std::process::exit(2);
    }
    value
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Helper processes of the network workloads.
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("serve"), _) => std::process::exit(net_workloads::serve()),
        (Some("serve-n7"), _) => std::process::exit(latency::serve()),
        (Some("n5-child"), Some(url)) => std::process::exit(net_workloads::startup_child(url)),
        (Some("n5-raw-child"), Some(url)) => std::process::exit(net_workloads::startup_raw_child(url)),
        (Some("c10k-child"), Some(port)) => {
            let n = args.get(2).cloned().unwrap_or_default();
            std::process::exit(socket_workloads::c10k_child(port, &n))
        }
        _ => {}
    }
    let runs = take_value(&mut args, "--runs").map_or(3, |v| {
        v.parse().ok().filter(|&n: &usize| n > 0).unwrap_or_else(|| {
            eprintln!("--runs needs a positive number");
            std::process::exit(2);
        })
    });
    let base_url = take_value(&mut args, "--base-url");
    const CORE: [&str; 8] = ["W1", "W2", "W3", "W4", "W5", "W6", "C10K", "idle"];
    const NET: [&str; 8] = ["N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"];
    let mut names: Vec<String> = Vec::new();
    for arg in if args.is_empty() { vec!["all".to_owned()] } else { args } {
        match arg.as_str() {
            "core" => names.extend(CORE.map(String::from)),
            "net" => names.extend(NET.map(String::from)),
            "all" => names.extend(CORE.iter().chain(NET.iter()).map(|s| s.to_string())),
            _ => names.push(arg),
        }
    }
    let mut target = None;
    for name in &names {
        if let Err(e) = run(name, runs, &mut target, base_url.as_deref()) {
            eprintln!("cute-bench: {e}");
            std::process::exit(2);
        }
    }
    SERVER.with(|s| s.borrow_mut().take());
}
