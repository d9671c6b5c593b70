//! `--host H --port P --threads N`, parsed by hand to keep the servers' dependencies down.

pub struct Args {
    pub host: String,
    pub port: u16,
    pub threads: usize,
}

/// Print a one-line error and the usage, exit 2.
pub fn usage(program: &str, msg: &str) -> ! {
    eprintln!("{program}: {msg}\nusage: {program} [--host H] [--port P] [--threads N]");
    std::process::exit(2);
}

pub fn parse(program: &str) -> Args {
    let mut a = Args {
        host: String::from("127.0.0.1"),
        port: 8080,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage(program, &format!("{name} needs a value")))
        };
        match name.as_str() {
            "--host" => a.host = value(),
            "--port" => a.port = value().parse().unwrap_or_else(|_| usage(program, "bad --port")),
            "--threads" => match value().parse() {
                Ok(n) if n > 0 => a.threads = n,
                _ => usage(program, "bad --threads"),
            },
            "-h" | "--help" => usage(program, "help"),
            other => usage(program, &format!("unknown argument {other}")),
        }
    }
    a
}
