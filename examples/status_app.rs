//! A small Qt-style application: a worker object living on its own thread (QThread +
//! moveToThread), a concurrent job with progress (QtConcurrent::run + QFutureWatcher), and
//! a status line that is a property bound to both (Q_PROPERTY + QProperty bindings), its
//! slots bound to the application object (no `Rc::downgrade` anywhere).
//!
//!     cargo run --example status_app

use std::rc::Rc;

use cute::{
    CoreApplication, FutureWatcher, ObjectHandle, Property, PropertyUpdateGroup, Signal, Thread, concurrent,
};

/// Lives on the worker thread: built there, used there, dropped there.
struct Counter;

impl Counter {
    /// Primes below `limit` (a slow way, on purpose).
    fn primes_below(&self, limit: u64) -> u64 {
        (2..limit).filter(|&n| (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0)).count() as u64
    }
}

/// The application object (PyQt's `class App(QObject)`).
struct App {
    /// Blocks the worker has counted, and the primes found so far.
    blocks_done: Property<u64>,
    primes: Property<u64>,
    /// The concurrent job's progress, in percent.
    job_percent: Property<u64>,
    /// Bound to the three above: recomputed when any of them changes.
    status: Property<String>,
    worker: ObjectHandle<Counter>,
    /// The worker's answers: (block, primes in it).
    block_counted: Signal<(u64, u64)>,
    _thread: Thread,
    job: FutureWatcher<u64>,
}

const BLOCKS: u64 = 8;
const BLOCK: u64 = 20_000;

impl App {
    fn new() -> Rc<App> {
        let (thread, worker) = Thread::start_with_object(|| Counter).expect("start the worker thread");
        let (blocks_done, primes, job_percent) = (Property::new(0), Property::new(0), Property::new(0));
        let status = {
            let (blocks_done, primes, job_percent) =
                (blocks_done.clone(), primes.clone(), job_percent.clone());
            Property::computed(move || {
                format!(
                    "worker: {}/{BLOCKS} blocks, {} primes | job: {}%",
                    blocks_done.get(),
                    primes.get(),
                    job_percent.get()
                )
            })
        };
        // The concurrent job: a sum of squares in steps, reporting progress.
        let job = concurrent::run_with_promise(|promise| {
            let mut sum = 0u64;
            for step in 1..=10u64 {
                sum = (1..=step * 200_000u64).fold(sum, |s, n| s.wrapping_add(n * n % 1_000_003));
                promise.report_progress(step, 10);
            }
            sum
        });
        let block_counted = Signal::new();
        let app = Rc::new(App {
            blocks_done,
            primes,
            job_percent,
            status,
            worker,
            block_counted,
            _thread: thread,
            job,
        });
        // self.status.changed.connect(self.show_status), and the like: bound to `app`.
        app.status.changed().connect_to(&app, App::show_status);
        app.job.progress().connect_to(&app, |app, &(done, total)| app.job_percent.set(done * 100 / total));
        app.job.finished().connect_to(&app, |app, ()| app.job_finished());
        app.block_counted.connect_to(&app, App::block_counted);
        app.count_block(0);
        app
    }

    /// Asks the worker for one block; its answer comes back as `block_counted`, on the main
    /// thread (QMetaObject::invokeMethod with a queued signal for the result).
    fn count_block(&self, block: u64) {
        let answer = self.block_counted.emitter();
        self.worker
            .invoke(move |counter| {
                let found = counter.primes_below((block + 1) * BLOCK) - counter.primes_below(block * BLOCK);
                // Fails only if the application is gone: nobody to tell.
                let _ = answer.emit((block, found));
            })
            .unwrap_or_else(|_| eprintln!("the worker thread is gone"));
    }

    fn block_counted(&self, &(block, found): &(u64, u64)) {
        {
            // Both changes, one status update (QScopedPropertyUpdateGroup).
            let _group = PropertyUpdateGroup::begin();
            self.primes.set(self.primes.get() + found);
            self.blocks_done.set(block + 1);
        }
        if block + 1 < BLOCKS {
            self.count_block(block + 1);
        } else {
            self.maybe_quit();
        }
    }

    fn show_status(&self, status: &String) {
        println!("{status}");
    }

    fn job_finished(&self) {
        println!("job result: {}", self.job.result().unwrap_or_default());
        self.maybe_quit();
    }

    fn maybe_quit(&self) {
        if self.blocks_done.get() == BLOCKS && self.job.is_finished() {
            println!("done: {}", self.status.get());
            CoreApplication::quit();
        }
    }
}

fn main() {
    let app = CoreApplication::new();
    let _status_app = App::new();
    std::process::exit(app.exec());
}
