//! A one-second clock: a repeating `Timer` prints the time, a single-shot timer quits.
//! Shows QTimer's two forms (an object with a `timeout` signal, and the static single shot)
//! and `CoreApplication::quit` from a slot.
//!
//!     cargo run --example clock            # ticks 5 times
//!     cargo run --example clock -- 3       # ticks 3 times

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cute::{CoreApplication, Timer};

fn main() {
    let ticks: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let app = CoreApplication::new();

    let clock = Timer::new();
    clock.set_interval(Duration::from_secs(1));
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    clock.timeout().connect(move |_| {
        c.set(c.get() + 1);
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
        println!("tick {}: {h:02}:{m:02}:{s:02} UTC", c.get());
    });
    clock.start();

    // Quit half a second after the last tick.
    Timer::single_shot(Duration::from_millis(ticks * 1000 + 500), CoreApplication::quit);
    let code = app.exec();
    println!("done after {} ticks", count.get());
    std::process::exit(code);
}
