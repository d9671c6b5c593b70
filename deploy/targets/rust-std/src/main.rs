//! swarmbench target `rust-std`: a hello server on `std::net` only.
//!
//! As in the published benchmark, every accepted connection gets its own
//! `std::thread::spawn` (no pool), and requests are not parsed by an HTTP
//! library: the read buffer is scanned for complete request heads. Unlike the
//! published server, each head is inspected for its HTTP version and its
//! `Connection` header so that keep-alive and close follow the contract
//! (HTTP/1.1 keeps unless `Connection: close`; HTTP/1.0 closes unless
//! `Connection: keep-alive`). Responses for all complete requests in a read
//! are written with one `write_all`. `--threads` is accepted and ignored.

mod scan;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

const READ_CHUNK: usize = 4096;
/// A request head larger than this closes the connection.
const MAX_PENDING: usize = 64 * 1024;

fn usage(msg: &str) -> ! {
    eprintln!("sb-rust-std: {msg}\nusage: sb-rust-std [--host H] [--port P] [--threads N (ignored)]");
    std::process::exit(2);
}

fn parse_args() -> (String, u16) {
    let mut host = String::from("127.0.0.1");
    let mut port: u16 = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match name.as_str() {
            "--host" => host = value(),
            "--port" => port = value().parse().unwrap_or_else(|_| usage("bad --port")),
            "--threads" => {
                let _ = value(); // one thread per connection, as published
            }
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    (host, port)
}

fn handle(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; READ_CHUNK];
    let mut searched = 0usize;
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        out.clear();
        let scanned = scan::respond(&buf, searched, &mut out);
        if !out.is_empty() && stream.write_all(&out).is_err() {
            return;
        }
        if scanned.close {
            lingering_close(stream);
            return;
        }
        buf.drain(..scanned.consumed);
        searched = scanned.next_search;
        if buf.len() > MAX_PENDING {
            return;
        }
    }
}

/// Send FIN at once, then drain what the client still sends (briefly) so the
/// kernel does not answer unread data with a RST that could destroy the
/// response in flight.
fn lingering_close(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut total = 0usize;
    while total < 1 << 20 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

fn main() {
    let (host, port) = parse_args();
    let listener = TcpListener::bind((host.as_str(), port))
        .unwrap_or_else(|e| usage(&format!("cannot listen on {host}:{port}: {e}")));
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                std::thread::spawn(move || handle(stream));
            }
            // e.g. EMFILE under a connection storm: back off briefly.
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}
