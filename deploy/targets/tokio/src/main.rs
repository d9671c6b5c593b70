//! swarmbench target `tokio`: a raw Tokio hello server, no HTTP library.
//!
//! Like the published server it scans the read buffer for complete request
//! heads (`\r\n\r\n`) and writes a fixed, pre-built response, looping on the
//! connection (so pipelined requests are answered). Unlike it, each head is
//! inspected for its HTTP version and `Connection` header so that keep-alive
//! and close follow the contract (HTTP/1.1 keeps unless `Connection: close`;
//! HTTP/1.0 closes unless `Connection: keep-alive`), and the responses to all
//! complete requests in one read go out in one write. The runtime is built by
//! hand with `--threads` worker threads.

use sb_common::scan;
use sb_common::shutdown::shutdown_signal;

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const READ_CHUNK: usize = 4096;
/// A request head larger than this closes the connection.
const MAX_PENDING: usize = 64 * 1024;

fn usage(msg: &str) -> ! {
    sb_common::args::usage("sb-tokio", msg)
}



async fn handle(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let mut searched = 0usize;
    loop {
        buf.reserve(READ_CHUNK);
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        out.clear();
        let scanned = scan::respond(&buf, searched, &mut out);
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            return;
        }
        if scanned.close {
            lingering_close(stream).await;
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
async fn lingering_close(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < 1 << 20 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
}

async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(handle(stream));
            }
            // e.g. EMFILE under a connection storm: back off briefly.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

fn main() {
    let args = sb_common::args::parse("sb-tokio");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_io()
        .enable_time()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start runtime: {e}")));
    runtime.block_on(async {
        let listener = TcpListener::bind((args.host.as_str(), args.port))
            .await
            .unwrap_or_else(|e| usage(&format!("cannot listen on {}:{}: {e}", args.host, args.port)));
        tokio::select! {
            _ = serve(listener) => {}
            _ = shutdown_signal() => {}
        }
    });
    // Open connections are dropped with the runtime; exit status 0.
    runtime.shutdown_timeout(Duration::from_millis(100));
}
