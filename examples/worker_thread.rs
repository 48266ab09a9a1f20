//! A worker `Thread` reporting progress through a signal's emitter: Qt's QThread + worker
//! object + queued signals, the Rust way (the work runs on the thread's own event loop, the
//! progress slot runs on the main thread).
//!
//!     cargo run --example worker_thread

use std::time::Duration;

use cute::{CoreApplication, Signal, Thread, Timer};

fn main() {
    let app = CoreApplication::new();

    // Signals live on the main thread; their emitters can be sent to the worker.
    let progress = Signal::<u32>::new();
    let done = Signal::<u64>::new();
    progress.connect(|percent| println!("progress: {percent:3}%"));
    done.connect(|sum| {
        println!("result: {sum}");
        CoreApplication::quit();
    });
    let (progress_emitter, done_emitter) = (progress.emitter(), done.emitter());

    let mut worker = Thread::start_named("worker", || {}).expect("spawn the worker thread");
    worker
        .post(move || {
            // Runs on the worker's loop: a long computation in steps.
            let mut sum = 0u64;
            for step in 1..=10u64 {
                sum += (1..=step * 100_000).sum::<u64>() % 1_000_003;
                progress_emitter.emit((step * 10) as u32).expect("the main loop is alive");
            }
            done_emitter.emit(sum).expect("the main loop is alive");
        })
        .expect("the worker is running");

    Timer::single_shot(Duration::from_secs(30), || CoreApplication::exit(1)); // a watchdog
    let code = app.exec();
    worker.quit();
    let worker_code = worker.wait().expect("the worker did not panic");
    println!("worker exited with {worker_code}");
    std::process::exit(code);
}
