//! `dataforest-sim`: runs the local DataForest API simulator until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;

use dataforest_sim::tls::SimTls;
use dataforest_sim::{App, Fault, ListQuirks, Simulator};

const USAGE: &str =
    "usage: dataforest-sim [--listen ADDR] [--access-key KEY] [--secret-key KEY] [--app ID]... [--apps FILE]

Serves a local DataForest AI Apps API (kill, getList, getDetail, accounts/getList) with signature v2.
  --listen ADDR       address to listen on (default 127.0.0.1:8787; port 0 picks a free one)
  --access-key KEY    accepted access key (default: $NCLOUD_ACCESS_KEY, else sim-access-key)
  --secret-key KEY    its secret key (default: $NCLOUD_SECRET_KEY, else sim-secret-key)
  --app ID            seed a RUNNING app with this id (repeatable)
  --apps FILE         seed apps from a JSON array of objects (id, name, accountId, state, ...)
  --generate N        seed N apps in account df-account (ids Gen00000 on), spread over names,
                      queues, states and start times in the last two days
  --latency DUR       delay every API answer this long (default 0s)
  --kill-takes DUR    a killed app stays RUNNING this long before it is KILLED (default 0s)
  --fault ID=F[,F...] fail the next kills of app ID, one fault per call: an HTTP status (400-599),
                      retry-after=N, success-false, garbage, delay=DURATION, hang or reset
  --detail-fault ID=F[,F...]
                      the same for the next getDetail calls of app ID
  --rate R[,BURST]    the API Gateway's rate limit: R requests per second, BURST at once (default
                      R): past it, HTTP 429 with error code 420 (Rate Limited)
  --rate-retry-after  with --rate, answer 429 with `Retry-After: 1`
  --quota N           the key's quota: after N calls, HTTP 429 with error code 400 (Quota Exceeded)
  --list-quirk Q      make getList misbehave (repeatable): ignore-account (every account's apps),
                      strip=FIELD (leave FIELD out of every entry, e.g. accountName), repeat (list
                      every app twice), hidden=N (totalCount N more than the entries), no-contents
                      (success without contents), extra=JSON (list this entry after the apps)
  --tls               serve HTTPS, with a certificate from a CA made at start
  --tls-name NAME     the host name or IP address the certificate is for (default localhost); an
                      IPv6 address may come in brackets ([::1]); needs --tls
  --ca-out PATH       write the CA's PEM there (without it, the PEM follows the endpoint line);
                      needs --tls
Prints `endpoint=http://ADDR` (with --tls, `endpoint=https://NAME:PORT`) on stdout once listening.";

struct Options {
    listen: SocketAddr,
    access_key: String,
    secret_key: String,
    apps: Vec<App>,
    faults: Vec<(String, Vec<Fault>)>,
    detail_faults: Vec<(String, Vec<Fault>)>,
    list_quirks: ListQuirks,
    kill_takes: std::time::Duration,
    latency: std::time::Duration,
    tls: bool,
    /// The API Gateway's rate limit: requests per second, and the burst.
    rate: Option<(f64, f64)>,
    rate_retry_after: bool,
    quota: Option<u64>,
    generate: usize,
    tls_name: String,
    ca_out: Option<std::path::PathBuf>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let env_or = |name: &str, default: &str| {
        std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or(default.into())
    };
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
        access_key: env_or("NCLOUD_ACCESS_KEY", "sim-access-key"),
        secret_key: env_or("NCLOUD_SECRET_KEY", "sim-secret-key"),
        apps: Vec::new(),
        faults: Vec::new(),
        detail_faults: Vec::new(),
        list_quirks: ListQuirks::default(),
        kill_takes: std::time::Duration::ZERO,
        latency: std::time::Duration::ZERO,
        tls: false,
        rate: None,
        rate_retry_after: false,
        quota: None,
        generate: 0,
        tls_name: "localhost".to_string(),
        ca_out: None,
    };
    let mut tls_name_given = false;
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => options.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--access-key" => options.access_key = value()?,
            "--secret-key" => options.secret_key = value()?,
            "--app" => options.apps.push(App::running(&value()?)),
            "--apps" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("--apps {path}: {e}"))?;
                let apps: Vec<App> =
                    serde_json::from_str(&text).map_err(|e| format!("--apps {path}: {e}"))?;
                options.apps.extend(apps);
            }
            "--kill-takes" => options.kill_takes = duration(&flag, &value()?)?,
            "--latency" => options.latency = duration(&flag, &value()?)?,
            "--fault" => options.faults.push(faults(&flag, &value()?)?),
            "--detail-fault" => options.detail_faults.push(faults(&flag, &value()?)?),
            "--list-quirk" => options.list_quirks.add(&value()?)?,
            "--rate" => {
                let text = value()?;
                let number = |part: &str| {
                    part.parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n > 0.0)
                        .ok_or(format!("--rate {text:?}: expected R[,BURST], positive numbers"))
                };
                options.rate = Some(match text.split_once(',') {
                    Some((rate, burst)) => (number(rate)?, number(burst)?),
                    None => (number(&text)?, number(&text)?),
                });
            }
            "--rate-retry-after" => options.rate_retry_after = true,
            "--quota" => options.quota = Some(value()?.parse().map_err(|e| format!("--quota: {e}"))?),
            "--tls" => options.tls = true,
            "--generate" => options.generate = value()?.parse().map_err(|e| format!("--generate: {e}"))?,
            "--tls-name" => {
                let name = value()?;
                // An IPv6 address may come as it appears in a URL, in brackets; an IP address
                // (bracketed or not) is certified as an IP address, anything else as a DNS name.
                options.tls_name = match name.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')) {
                    Some(inner) if inner.parse::<std::net::Ipv6Addr>().is_ok() => inner.to_string(),
                    Some(_) => {
                        return Err(format!("--tls-name {name:?}: only an IPv6 address goes in brackets"));
                    }
                    None => name,
                };
                tls_name_given = true;
            }
            "--ca-out" => options.ca_out = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    if !options.tls && (tls_name_given || options.ca_out.is_some()) {
        return Err("--tls-name and --ca-out only apply with --tls".to_string());
    }
    if options.rate_retry_after && options.rate.is_none() {
        return Err("--rate-retry-after only applies with --rate".to_string());
    }
    Ok(options)
}

/// `ID=FAULT[,FAULT...]`.
fn faults(flag: &str, text: &str) -> Result<(String, Vec<Fault>), String> {
    let (id, specs) = text.split_once('=').ok_or(format!("{flag} {text:?}: expected ID=FAULT[,FAULT...]"))?;
    let faults = specs.split(',').map(Fault::parse).collect::<Result<Vec<_>, _>>()?;
    Ok((id.to_string(), faults))
}

fn duration(flag: &str, text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{flag} {text:?}: {e}"))
}

/// A host name as a URL writes it: an IPv6 address in brackets.
fn url_host(name: &str) -> String {
    if name.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{name}]") } else { name.to_string() }
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let simulator = Simulator::new(&options.access_key, &options.secret_key);
    for app in options.apps {
        simulator.put_app(app);
    }
    simulator.generate(options.generate);
    simulator.set_kill_duration(options.kill_takes);
    simulator.set_latency(options.latency);
    if let Some((rate, burst)) = options.rate {
        simulator.set_rate(rate, burst, options.rate_retry_after);
    }
    if let Some(quota) = options.quota {
        simulator.set_quota(quota);
    }
    for (id, faults) in options.faults {
        simulator.fail_kills(&id, faults);
    }
    for (id, faults) in options.detail_faults {
        simulator.fail_details(&id, faults);
    }
    simulator.set_list_quirks(options.list_quirks);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let tls = match options.tls.then(|| SimTls::generate(&options.tls_name)).transpose() {
        Ok(tls) => tls,
        Err(message) => {
            eprintln!("dataforest-sim: {message}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let address = listener.local_addr()?;
        let ctrl_c = async { tokio::signal::ctrl_c().await.unwrap_or(()) };
        match tls {
            None => {
                println!("endpoint=http://{address}");
                eprintln!("dataforest-sim: serving; Ctrl-C stops");
                simulator.serve(listener, ctrl_c).await
            }
            Some(tls) => {
                println!("endpoint=https://{}:{}", url_host(&options.tls_name), address.port());
                match &options.ca_out {
                    Some(path) => {
                        std::fs::write(path, &tls.ca_pem)?;
                        println!("ca={}", path.display());
                    }
                    None => print!("{}", tls.ca_pem),
                }
                eprintln!("dataforest-sim: serving HTTPS on {address}; Ctrl-C stops");
                simulator.serve_tls(listener, &tls, ctrl_c).await
            }
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dataforest-sim: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Options, String> {
        parse(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn tls_flags_need_tls() {
        for args in [&["--tls-name", "df.test"][..], &["--ca-out", "ca.pem"]] {
            let error = parsed(args).err().unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(error.contains("only apply with --tls"), "{error}");
        }
        let options = parsed(&["--tls", "--tls-name", "df.test", "--ca-out", "ca.pem"]).unwrap();
        assert_eq!((options.tls_name.as_str(), options.ca_out.is_some()), ("df.test", true));
    }

    #[test]
    fn list_quirks_add_up() {
        let options = parsed(&[
            "--list-quirk",
            "ignore-account",
            "--list-quirk",
            "strip=accountName",
            "--list-quirk",
            "hidden=20",
            "--list-quirk",
            r#"extra={"id":"~~~"}"#,
        ])
        .unwrap();
        let quirks = options.list_quirks;
        assert!(quirks.ignore_account && !quirks.repeat && !quirks.no_contents);
        assert_eq!((quirks.strip, quirks.hidden), (vec!["accountName".to_string()], Some(20)));
        assert_eq!(quirks.extra, [serde_json::json!({"id": "~~~"})]);
        for bad in ["hidden=x", "extra={", "sideways"] {
            assert!(parsed(&["--list-quirk", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn gateway_limits_are_a_rate_with_its_burst_and_a_quota() {
        let options = parsed(&["--rate", "25", "--rate-retry-after", "--quota", "100"]).unwrap();
        assert_eq!(
            (options.rate, options.rate_retry_after, options.quota),
            (Some((25.0, 25.0)), true, Some(100))
        );
        assert_eq!(parsed(&["--rate", "25,50"]).unwrap().rate, Some((25.0, 50.0)));
        for bad in ["0", "-1", "x", "25,", "25,0"] {
            assert!(parsed(&["--rate", bad]).is_err(), "{bad}");
        }
        assert!(parsed(&["--rate-retry-after"]).is_err());
    }

    #[test]
    fn an_ipv6_name_may_come_in_brackets() {
        let options = parsed(&["--tls", "--tls-name", "[::1]"]).unwrap();
        assert_eq!(options.tls_name, "::1");
        assert_eq!(parsed(&["--tls", "--tls-name", "::1"]).unwrap().tls_name, "::1");
        let error = parsed(&["--tls", "--tls-name", "[df.test]"]).err().expect("[df.test] was accepted");
        assert!(error.contains("only an IPv6 address goes in brackets"), "{error}");
        assert_eq!(url_host(&options.tls_name), "[::1]");
        assert_eq!(url_host("127.0.0.1"), "127.0.0.1");
        SimTls::generate(&options.tls_name).expect("an IP address certificate");
    }
}
