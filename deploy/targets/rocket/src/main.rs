//! swarmbench target `rocket`: a Rocket 0.5 hello server.
//!
//! One `#[get("/")]` route answering `Hello` as `text/plain`. Configured in
//! code only (no Rocket.toml, no ROCKET_* environment): address and port from
//! the command line, logging off, no `Server` header, no Shield headers.
//! Keep-alive, `Connection: close` and HTTP/1.0 handling are hyper's.

use rocket::config::{Config, Ident, LogLevel, Shutdown};
use rocket::http::ContentType;
use rocket::shield::Shield;
use rocket::{get, routes};

#[get("/")]
fn index() -> (ContentType, &'static str) {
    // `&str` alone would be sent as `text/plain; charset=utf-8`; the contract
    // (and the other targets) send exactly `text/plain`.
    (ContentType::new("text", "plain"), "Hello")
}

fn usage(msg: &str) -> ! {
    sb_common::args::usage("sb-rocket", msg)
}



fn main() {
    let args = sb_common::args::parse("sb-rocket");
    let address = args.host.parse().unwrap_or_else(|_| usage("--host must be an IP address"));
    let config = Config {
        address,
        port: args.port,
        // Rocket reads `workers` only when it builds its own runtime
        // (`#[launch]` / `rocket::execute`, from the default figment, i.e.
        // Rocket.toml/ROCKET_WORKERS). We build the runtime below with the
        // same count; the field is set too so the config tells the truth.
        workers: args.threads,
        ident: Ident::none(), // no `Server: Rocket` header
        log_level: LogLevel::Off,
        cli_colors: false,
        // SIGINT/SIGTERM stop Rocket gracefully (its default); keep the
        // grace for open connections short so a stop takes ~2 s at most.
        shutdown: Shutdown { grace: 1, mercy: 1, ..Shutdown::default() },
        ..Config::release_default()
    };
    // `rocket::custom` attaches `Shield::default()` (X-Content-Type-Options,
    // X-Frame-Options, Permissions-Policy). Shield is a singleton fairing, so
    // attaching `Shield::new()`, a shield with no policies, replaces it: this
    // is Rocket's documented way to send no Shield headers.
    let rocket = rocket::custom(config).mount("/", routes![index]).attach(Shield::new());

    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start runtime: {e}")));
    let result = runtime.block_on(rocket.launch());
    if let Err(e) = result {
        // Logging is off, so say why we could not start (e.g. port in use).
        usage(&format!("launch failed: {e}"));
    }
}
