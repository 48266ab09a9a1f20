//! `cute-httpbin --port PORT [--host HOST] [--tls]`: serves httpbin on a loopback address
//! until killed.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: cute-httpbin --port PORT [--host HOST] [--tls]\n\
    \n\
    Serves an httpbin-compatible server (HTTP/1.1, and HTTP/2 by prior knowledge) until killed.\n\
    \x20 --port PORT   the port to listen on (0 picks a free one)\n\
    \x20 --host HOST   a loopback address to listen on (default 127.0.0.1)\n\
    \x20 --tls         also serve https (HTTP/2 and HTTP/1.1 by ALPN) on a free port, with a\n\
    \x20               self-signed certificate printed at start-up";

/// The parsed command line.
#[derive(Debug, PartialEq)]
struct Args {
    host: IpAddr,
    port: u16,
    tls: bool,
}

/// Parses the arguments (without the program name); `Ok(None)` asks for the usage text.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut host = IpAddr::from([127, 0, 0, 1]);
    let mut port = None;
    let mut tls = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).ok_or(format!("{name} needs a value"));
        match name.as_str() {
            "--help" | "-h" => return Ok(None),
            "--tls" => tls = true,
            "--port" | "-p" => {
                let text = value()?;
                port = Some(text.parse().map_err(|_| format!("invalid port: {text}"))?);
            }
            "--host" => {
                let text = value()?;
                let ip: IpAddr = match text.as_str() {
                    "localhost" => IpAddr::from([127, 0, 0, 1]),
                    other => other.parse().map_err(|_| format!("invalid host: {text}"))?,
                };
                if !ip.is_loopback() {
                    return Err(format!("{ip} is not a loopback address"));
                }
                host = ip;
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    Ok(Some(Args { host, port, tls }))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("cute-httpbin: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match cute_httpbin::Httpbin::builder().tls(args.tls).start_on((args.host, args.port)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cute-httpbin: cannot listen on {}:{}: {e}", args.host, args.port);
            return ExitCode::FAILURE;
        }
    };
    println!("cute-httpbin listening on {}", server.base_url());
    if let (Some(url), Some(pem)) = (server.tls_base_url(), server.certificate_pem()) {
        println!("cute-httpbin listening on {url} with this certificate:\n{pem}");
    }
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::{Args, parse};
    use std::net::IpAddr;

    fn run(args: &[&str]) -> Result<Option<Args>, String> {
        parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn port_and_host_are_parsed() {
        let localhost = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(run(&["--port", "8080"]), Ok(Some(Args { host: localhost, port: 8080, tls: false })));
        assert_eq!(
            run(&["--port=0", "--host", "::1"]),
            Ok(Some(Args { host: "::1".parse().unwrap(), port: 0, tls: false }))
        );
        assert_eq!(
            run(&["--host", "localhost", "-p", "1", "--tls"]),
            Ok(Some(Args { host: localhost, port: 1, tls: true }))
        );
    }

    #[test]
    fn help_is_recognised() {
        assert_eq!(run(&["--help"]), Ok(None));
        assert_eq!(run(&["--port", "1", "-h"]), Ok(None));
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(run(&[]).is_err());
        assert!(run(&["--port"]).is_err());
        assert!(run(&["--port", "70000"]).is_err());
        assert!(run(&["--port", "1", "--host", "10.0.0.1"]).is_err());
        assert!(run(&["--port", "1", "--verbose"]).is_err());
    }
}
