//! swarmbench target `hyperlane`: a hyperlane 22 hello server.
//!
//! Written as hyperlane's own code does it: a `Server` with a `ServerConfig`
//! and a `RequestConfig`, and a `ServerHook` route whose `handle` builds the
//! response with `ctx.get_mut_response()...build()` and sends it with
//! `stream.try_send`. hyperlane runs the keep-alive loop, HTTP/1.0 and
//! pipelining itself (it keeps the connection when
//! `Request::is_enable_keep_alive()` says so: `Connection: keep-alive`, or
//! HTTP/1.1 without `Connection: close`). The runtime is built by hand with
//! `--threads` workers.

use hyperlane::tokio;
use hyperlane::*;
use sb_common::shutdown::shutdown_signal;

const BODY: &[u8] = b"Hello";

struct RootRoute;

impl ServerHook for RootRoute {
    async fn new(_stream: &mut Stream, _ctx: &mut Context) -> Self {
        Self
    }

    async fn handle(self, stream: &mut Stream, ctx: &mut Context) -> Status {
        // hyperlane closes the connection after this request exactly when
        // `is_enable_keep_alive()` is false, but `Response::build()` writes
        // `connection: keep-alive` unless a Connection header is set, and its
        // default Content-Type is `text/html; charset=utf-8`. So both headers
        // are set here: the response then says what the server does
        // (`close` for `Connection: close` and for plain HTTP/1.0,
        // `keep-alive` otherwise, which ab -k needs on HTTP/1.0).
        let keep_alive: bool = ctx.get_request().is_enable_keep_alive();
        let data: Vec<u8> = ctx
            .get_mut_response()
            .set_status_code(200)
            .set_header(CONTENT_TYPE, TEXT_PLAIN)
            .set_header(CONNECTION, if keep_alive { KEEP_ALIVE } else { CLOSE })
            .set_body(BODY)
            .build();
        if stream.try_send(data).await.is_err() {
            stream.set_closed(true);
            return Status::Reject;
        }
        Status::Continue
    }
}

fn usage(msg: &str) -> ! {
    sb_common::args::usage("sb-hyperlane", msg)
}



fn main() {
    let args = sb_common::args::parse("sb-hyperlane");
    let host: String = if args.host.contains(':') { format!("[{}]", args.host) } else { args.host.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start runtime: {e}")));
    runtime.block_on(async {
        let mut server_config: ServerConfig = ServerConfig::default();
        server_config
            .set_address(Server::format_bind_address(&host, args.port))
            // TCP_NODELAY on, as the other targets (Rocket/hyper, Go) have it;
            // hyperlane writes each pipelined response separately, which
            // Nagle's algorithm would otherwise hold back.
            .set_nodelay(Some(true));
        // As the published server: no read timeout, no size limits.
        let request_config: RequestConfig = RequestConfig::low_security();
        let control: ServerControlHook = Server::default()
            .server_config(server_config)
            .request_config(request_config)
            .route::<RootRoute>("/")
            .run()
            .await
            .unwrap_or_else(|e| usage(&format!("cannot start: {e:?}")));
        tokio::select! {
            _ = control.wait() => {}
            _ = shutdown_signal() => control.shutdown().await,
        }
    });
    // Connections still open are dropped with the runtime; exit status 0.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
}
