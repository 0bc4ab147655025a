//! One node of a test farm, driven line by line on stdin by the farm test (the one place the
//! nodes' shared test clock is set from). Replies one line per command on stdout.
//!
//! Usage: `keyward-farm-node <repository-uri> <start-time-rfc3339>`, then commands:
//! `TIME t`, `REFRESH`, `PROTECT text`, `UNPROTECT payload`, `REVOKE key-id`, `DEFAULT`, `QUIT`.

use std::io::{BufRead, Write};
use std::sync::Arc;

use keyward::time::format_description::well_known::Rfc3339;
use keyward::time::OffsetDateTime;
use keyward::{Error, KeyRepository, ManualClock, Provider};

fn main() {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args().collect();
    let (Some(uri), Some(start)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: keyward-farm-node <repository-uri> <start-time>");
        std::process::exit(2);
    };
    let Ok(start) = OffsetDateTime::parse(start, &Rfc3339) else {
        eprintln!("bad start time");
        std::process::exit(2);
    };
    let clock = ManualClock::new(start);
    // Any repository URI keyward takes (Redis, PostgreSQL, an Azure blob, a folder).
    let repository: Box<dyn KeyRepository> = match keyward_setup::open_repository(uri, false) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", keyward::error_chain(&e));
            std::process::exit(1);
        }
    };
    let provider = match Provider::builder()
        .application_name("farm")
        .repository(repository)
        .clock(Arc::new(clock.clone()))
        .build()
    {
        Ok(p) => p,
        Err(e) => fail(&e),
    };
    let protector = provider.protector(["farm test"]);
    let mut out = std::io::stdout().lock();
    let default = provider.default_key_at(provider.now());
    reply(
        &mut out,
        &format!(
            "ready {}",
            default.map(|k| k.to_string()).unwrap_or_default()
        ),
    );
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (command, argument) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let answer = match command {
            "TIME" => match OffsetDateTime::parse(argument, &Rfc3339) {
                Ok(at) => {
                    clock.set(at);
                    "ok".to_owned()
                }
                Err(e) => format!("err bad time: {e}"),
            },
            "REFRESH" => provider
                .refresh()
                .map_or_else(|e| format!("err {e}"), |()| "ok".into()),
            "PROTECT" => protector
                .protect_str(argument)
                .map_or_else(|e| format!("err {e}"), |p| format!("payload {p}")),
            "UNPROTECT" => match protector.unprotect_str(argument) {
                Ok(text) => format!("ok {text}"),
                Err(Error::KeyRevoked(_)) => "err revoked".into(),
                Err(e) => format!("err {e}"),
            },
            "REVOKE" => match argument.parse() {
                Ok(id) => provider
                    .revoke_key(id, "farm test")
                    .map_or_else(|e| format!("err {e}"), |()| "ok".into()),
                Err(e) => format!("err {e}"),
            },
            "DEFAULT" => provider
                .default_key_at(provider.now())
                .map_or_else(|| "none".into(), |k| k.to_string()),
            "QUIT" => break,
            other => format!("err unknown command {other}"),
        };
        reply(&mut out, &answer);
    }
}

fn reply(out: &mut impl Write, line: &str) {
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

fn fail(error: &Error) -> ! {
    eprintln!("keyward-farm-node: {error}");
    std::process::exit(1);
}
