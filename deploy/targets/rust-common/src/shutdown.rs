//! Waiting for SIGTERM or SIGINT on tokio (feature `tokio`): swarmbench stops a target
//! with SIGTERM and expects it to exit promptly with status 0, and Ctrl-C to do the same.

use tokio::signal::unix::{signal, SignalKind};

/// Resolve on the first SIGTERM or SIGINT. Both handlers are installed on the first
/// poll, before waiting, so call this inside the runtime (it needs the IO driver);
/// the server's `select!` then drops its other branch and lets the process exit.
pub async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
