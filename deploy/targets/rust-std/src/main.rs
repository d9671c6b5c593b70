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

use sb_common::scan;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

const READ_CHUNK: usize = 4096;
/// A request head larger than this closes the connection.
const MAX_PENDING: usize = 64 * 1024;

fn usage(msg: &str) -> ! {
    sb_common::args::usage("sb-rust-std", msg)
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
    let sb_common::args::Args { host, port, .. } = sb_common::args::parse("sb-rust-std");
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
