//! A large download streamed to a file with a terminal progress bar driven by
//! `download_progress`; the body is written as it arrives (`ready_read`), so memory stays
//! flat however large the file.
//!
//!     cargo run --release --example download -- http://127.0.0.1:8080/bytes/104857600 out.bin
//!
//! For the 127.0.0.1:8080 URLs, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::rc::Rc;

use cute::CoreApplication;
use cute::network::{NetworkAccessManager, NetworkError, NetworkRequest};
use indicatif::{ProgressBar, ProgressStyle};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: download URL FILE");
        std::process::exit(2);
    };
    let file = match File::create(&path) {
        Ok(file) => Rc::new(RefCell::new(Some(BufWriter::new(file)))),
        Err(e) => {
            eprintln!("cannot create {path}: {e}");
            std::process::exit(1);
        }
    };

    let app = CoreApplication::new();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(url.as_str()));

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    reply.download_progress().connect(move |&(received, total)| {
        if let Some(total) = total {
            b.set_length(total);
        }
        b.set_position(received);
    });

    let write_error = Rc::new(RefCell::new(None));
    let (f, err) = (file.clone(), write_error.clone());
    reply.ready_read().connect(move |reply| {
        let chunk = reply.read_all();
        let written = f.borrow_mut().as_mut().map(|out| out.write_all(&chunk));
        if let Some(Err(e)) = written {
            *err.borrow_mut() = Some(e.to_string());
            reply.abort();
        }
    });

    let (f, err) = (file.clone(), write_error.clone());
    reply.finished().connect(move |reply| {
        bar.finish();
        let rest = reply.read_all();
        let mut out = f.borrow_mut().take();
        let flushed = out.as_mut().map(|o| o.write_all(&rest).and_then(|()| o.flush()));
        if let Some(e) = err.borrow().as_ref() {
            println!("write error: {e}");
            CoreApplication::exit(1);
        } else if reply.error() != NetworkError::NoError {
            println!("Error occurred:  {}", reply.error());
            println!("{}", reply.error_string());
            CoreApplication::exit(1);
        } else if let Some(Err(e)) = flushed {
            println!("write error: {e}");
            CoreApplication::exit(1);
        } else {
            println!("saved {path}");
            CoreApplication::quit();
        }
    });
    std::process::exit(app.exec());
}
