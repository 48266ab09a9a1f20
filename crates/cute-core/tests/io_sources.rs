//! Sources on the loop: `IoWatcher` (edge-triggered, any mio source) and `SocketNotifier`
//! (Qt's level-triggered notifier), with several notifiers on one descriptor, notifiers
//! dropped in their own slots, and 1,000 idle sockets that cost the loop nothing.
#![cfg(unix)]

mod common;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use common::{app_lock, run_until};
use cute_core::mio::Interest;
use cute_core::mio::unix::SourceFd;
use cute_core::{CoreApplication, EventLoop, IoWatcher, SocketNotifier, SocketNotifierType};
use cute_testkit::Watchdog;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Runs `rounds` rounds of the loop that do not wait.
fn spin(rounds: usize) {
    for _ in 0..rounds {
        EventLoop::process_events(Duration::ZERO);
    }
}

#[test]
fn an_io_watcher_hears_each_arrival_once_and_reads_what_another_thread_writes() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _app = app_lock();
    let (ours, mut theirs) = pair();
    let fd = ours.as_raw_fd();
    let received = Rc::new(RefCell::new(Vec::new()));
    let calls = Rc::new(Cell::new(0));
    let (r, c) = (received.clone(), calls.clone());
    let watcher = IoWatcher::new(&mut SourceFd(&fd), Interest::READABLE, move |ready| {
        assert!(ready.readable);
        c.set(c.get() + 1);
        let mut buf = [0u8; 4096];
        loop {
            match (&ours).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => r.borrow_mut().extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .unwrap();
    assert_eq!(IoWatcher::count(), 1);
    let writer = std::thread::spawn(move || {
        for chunk in [&b"one "[..], b"two ", b"three"] {
            theirs.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        theirs
    });
    assert!(run_until(Duration::from_secs(10), || received.borrow().len() == 13));
    // Kept open: its closing would be an event of its own.
    let theirs = writer.join().unwrap();
    assert_eq!(&received.borrow()[..], b"one two three");
    assert!((1..=3).contains(&calls.get()), "once per arrival at most: {}", calls.get());
    let before = calls.get();
    spin(5);
    assert_eq!(calls.get(), before, "edge-triggered: nothing new, no call");
    drop(theirs);
    assert!(run_until(Duration::from_secs(10), || calls.get() == before + 1), "the peer closing is an event");
    drop(watcher);
    assert_eq!(IoWatcher::count(), 0);
}

#[test]
fn a_socket_notifier_is_level_triggered_as_in_qt() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _app = app_lock();
    let (ours, mut theirs) = pair();
    let notifier = SocketNotifier::new(ours.as_raw_fd(), SocketNotifierType::Read).unwrap();
    assert_eq!(
        (notifier.socket(), notifier.kind(), notifier.is_enabled()),
        (ours.as_raw_fd(), SocketNotifierType::Read, true)
    );
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let fd = ours.as_raw_fd();
    notifier.activated().connect(move |&socket| {
        assert_eq!(socket, fd);
        // One byte per activation: the rest is reported again next round.
        let mut byte = [0u8; 1];
        if let Ok(1) = (&ours).read(&mut byte) {
            g.borrow_mut().push(byte[0]);
        }
    });
    theirs.write_all(b"0123456789").unwrap();
    assert!(run_until(Duration::from_secs(10), || got.borrow().len() == 10));
    assert_eq!(&got.borrow()[..], b"0123456789");
    spin(5);
    assert_eq!(got.borrow().len(), 10, "drained: no more activations");

    // Disabled: data waits; enabled again: it is reported at once.
    notifier.set_enabled(false);
    theirs.write_all(b"ab").unwrap();
    spin(5);
    assert_eq!(got.borrow().len(), 10, "disabled");
    notifier.set_enabled(true);
    assert!(run_until(Duration::from_secs(10), || got.borrow().len() == 12));
}

#[test]
fn read_and_write_notifiers_share_a_descriptor_and_may_drop_themselves() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _app = app_lock();
    let (ours, mut theirs) = pair();
    let fd = ours.as_raw_fd();
    let read = SocketNotifier::new(fd, SocketNotifierType::Read).unwrap();
    let write = Rc::new(RefCell::new(Some(SocketNotifier::new(fd, SocketNotifierType::Write).unwrap())));
    let writes = Rc::new(Cell::new(0));
    let (w, slot_writes) = (write.clone(), writes.clone());
    write.borrow().as_ref().unwrap().activated().connect(move |_| {
        slot_writes.set(slot_writes.get() + 1);
        // Writable at once; after three rounds the notifier drops itself in its own slot.
        if slot_writes.get() == 3 {
            w.borrow_mut().take();
        }
    });
    let reads = Rc::new(Cell::new(0));
    let r = reads.clone();
    read.activated().connect(move |_| {
        let mut buf = [0u8; 64];
        while (&ours).read(&mut buf).is_ok_and(|n| n > 0) {}
        r.set(r.get() + 1);
    });
    assert!(run_until(Duration::from_secs(10), || write.borrow().is_none()));
    assert_eq!(writes.get(), 3, "level-triggered writes until dropped");
    assert_eq!(reads.get(), 0, "nothing to read yet");
    theirs.write_all(b"x").unwrap();
    assert!(run_until(Duration::from_secs(10), || reads.get() == 1));
    spin(5);
    assert_eq!((writes.get(), reads.get()), (3, 1), "the dropped notifier is silent; the read one drained");
    drop(read);
    assert_eq!(IoWatcher::count(), 0, "the descriptor left the poller with its last notifier");
    let _ = CoreApplication::instance();
}

#[test]
fn a_thousand_idle_sockets_wake_the_loop_only_for_real_events() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let _app = app_lock();
    let calls = Rc::new(Cell::new(0usize));
    let mut pairs = Vec::new();
    let mut notifiers = Vec::new();
    for _ in 0..500 {
        let (a, b) = pair();
        for end in [&a, &b] {
            let notifier = SocketNotifier::new(end.as_raw_fd(), SocketNotifierType::Read).unwrap();
            let c = calls.clone();
            notifier.activated().connect(move |_| c.set(c.get() + 1));
            notifiers.push(notifier);
        }
        pairs.push((a, b));
    }
    assert_eq!(IoWatcher::count(), 1000);
    // Idle: a quarter of a second of rounds (each waiting for 10 ms) calls no slot.
    for _ in 0..25 {
        EventLoop::process_events(Duration::from_millis(10));
    }
    assert_eq!(calls.get(), 0, "no socket had an event");
    // One real event: one slot.
    (&pairs[250].1).write_all(b"!").unwrap();
    assert!(run_until(Duration::from_secs(10), || calls.get() >= 1));
    let mut byte = [0u8; 1];
    (&pairs[250].0).read_exact(&mut byte).unwrap();
    spin(5);
    assert_eq!(calls.get(), 1, "exactly the socket written to");
    drop(notifiers);
    assert_eq!(IoWatcher::count(), 0);
}
