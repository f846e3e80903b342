//! How the client finds its way through the network it runs in, by the rules Go's net/http
//! follows on Linux, so that a runner set up for NCP's official provider (a Go program) works
//! unchanged: the proxy from `HTTPS_PROXY` and `NO_PROXY`, and the CAs to trust from
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` or the system's usual files and folders.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use reqwest::Url;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The CA bundles Go tries on Linux, in order; the first that can be read is used.
const CERT_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];
/// The folders of CA certificates Go reads on Linux, all of them.
const CERT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// The environment variables that decide the proxy and the trusted CAs, read once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NetworkEnv {
    /// `HTTPS_PROXY`, else `https_proxy`. It may hold a password, so it is never shown.
    https_proxy: Option<String>,
    /// `NO_PROXY`, else `no_proxy`.
    no_proxy: Option<String>,
    /// `SSL_CERT_FILE`: the one CA bundle to read instead of the system's.
    cert_file: Option<String>,
    /// `SSL_CERT_DIR`: folders, separated by `:`, to read instead of the system's.
    cert_dirs: Option<String>,
}

impl NetworkEnv {
    /// Reads the variables through `var`; an empty one counts as unset, as in Go. Only
    /// `HTTPS_PROXY` matters: plain `http://` endpoints are loopback ones, which Go never proxies.
    pub fn read(var: impl Fn(&str) -> Option<String>) -> NetworkEnv {
        let first =
            |names: &[&str]| names.iter().find_map(|name| var(name).filter(|value| !value.is_empty()));
        NetworkEnv {
            https_proxy: first(&["HTTPS_PROXY", "https_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"]),
            cert_file: first(&["SSL_CERT_FILE"]),
            cert_dirs: first(&["SSL_CERT_DIR"]),
        }
    }
}

impl fmt::Debug for NetworkEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkEnv")
            .field("https_proxy", &self.https_proxy.as_ref().map(|_| "(set)"))
            .field("no_proxy", &self.no_proxy)
            .field("cert_file", &self.cert_file)
            .field("cert_dirs", &self.cert_dirs)
            .finish()
    }
}

/// Why the network settings cannot be used. Never quotes the proxy URL, which may hold a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkError {
    InvalidProxy { reason: String },
    NoTrustedCas { detail: String },
}

impl std::error::Error for NetworkError {}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::InvalidProxy { reason } => {
                write!(f, "HTTPS_PROXY is not a usable proxy URL: {reason}")
            }
            NetworkError::NoTrustedCas { detail } => write!(
                f,
                "no trusted CA certificates were found ({detail}); install the system's CA bundle, or point \
                 SSL_CERT_FILE at a PEM file or SSL_CERT_DIR at a folder of them"
            ),
        }
    }
}

/// Which requests go through which proxy.
#[derive(Clone)]
pub struct ProxyRules {
    https: Url,
    no_proxy: NoProxy,
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The proxy's host only: its URL may hold a password.
        f.debug_struct("ProxyRules")
            .field("https", &self.https.host_str())
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyRules {
    /// The rules the environment sets, or `None` when no proxy is set.
    pub fn from_env(env: &NetworkEnv) -> Result<Option<ProxyRules>, NetworkError> {
        let Some(text) = &env.https_proxy else { return Ok(None) };
        let https = parse_proxy(text)?;
        Ok(Some(ProxyRules { https, no_proxy: NoProxy::parse(env.no_proxy.as_deref().unwrap_or_default()) }))
    }

    /// The proxy's URL without its credentials, for logs.
    pub fn describe(&self) -> String {
        let url = &self.https;
        match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            _ => format!("{}://(unreadable host)", url.scheme()),
        }
    }

    /// The proxy for a request to `url`, if it goes through one.
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        (url.scheme() == "https" && self.no_proxy.proxies(url)).then(|| self.https.clone())
    }
}

/// Reads a proxy URL as Go does: one without a scheme (`proxy.corp:3128`) means `http://`.
fn parse_proxy(text: &str) -> Result<Url, NetworkError> {
    let url = match Url::parse(text) {
        Ok(url) if url.has_host() => url,
        Err(error) if text.contains("://") => {
            return Err(NetworkError::InvalidProxy { reason: error.to_string() });
        }
        _ => Url::parse(&format!("http://{text}"))
            .map_err(|error| NetworkError::InvalidProxy { reason: error.to_string() })?,
    };
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|host| !host.is_empty()) => Ok(url),
        "http" | "https" => Err(NetworkError::InvalidProxy { reason: "it names no host".into() }),
        other => Err(NetworkError::InvalidProxy {
            reason: format!("the scheme {other:?} is not supported; use http:// or https://"),
        }),
    }
}

/// `NO_PROXY`: comma-separated hosts, domains (`example.com` also covers its subdomains,
/// `.example.com` and `*.example.com` only them), IP addresses and CIDR ranges, each optionally
/// with `:port`; `*` alone means no proxy at all.
#[derive(Clone, Debug, Default)]
struct NoProxy {
    everything: bool,
    ips: Vec<IpRule>,
    domains: Vec<DomainRule>,
}

#[derive(Clone, Debug)]
enum IpRule {
    Range { network: IpAddr, prefix: u8 },
    Address { ip: IpAddr, port: Option<String> },
}

#[derive(Clone, Debug)]
struct DomainRule {
    /// Starts with a dot.
    suffix: String,
    port: Option<String>,
    /// Whether the domain itself matches too, not only its subdomains.
    itself: bool,
}

impl NoProxy {
    fn parse(text: &str) -> NoProxy {
        let mut rules = NoProxy::default();
        for entry in text.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return NoProxy { everything: true, ..NoProxy::default() };
            }
            if let Some((network, prefix)) = parse_cidr(&entry) {
                rules.ips.push(IpRule::Range { network, prefix });
                continue;
            }
            let (host, port) = match split_host_port(&entry) {
                Some(("", _)) => continue,
                Some((host, port)) => (host, (!port.is_empty()).then(|| port.to_string())),
                None => (entry.as_str(), None),
            };
            if let Ok(ip) = host.parse::<IpAddr>() {
                rules.ips.push(IpRule::Address { ip: ip.to_canonical(), port });
                continue;
            }
            let host = host.strip_prefix('*').filter(|rest| rest.starts_with('.')).unwrap_or(host);
            if host.is_empty() {
                continue;
            }
            let itself = !host.starts_with('.');
            let name = host.trim_start_matches('.');
            // Request hosts come in their ASCII (punycode) form; so must the rules.
            let name = idna::domain_to_ascii(name).unwrap_or_else(|_| name.to_string());
            let suffix = format!(".{name}");
            rules.domains.push(DomainRule { suffix, port, itself });
        }
        rules
    }

    /// Whether a request to `url` goes through the proxy. `localhost` and loopback addresses never do.
    fn proxies(&self, url: &Url) -> bool {
        let port = url.port_or_known_default().map(|port| port.to_string()).unwrap_or_default();
        let Some(host) = url.host_str() else { return false };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) || self.everything {
            return false;
        }
        let port_matches = |rule_port: &Option<String>| rule_port.as_ref().is_none_or(|p| *p == port);
        if let Some(ip) = ip {
            for rule in &self.ips {
                let matched = match rule {
                    IpRule::Range { network, prefix } => in_range(ip, *network, *prefix),
                    IpRule::Address { ip: address, port } => *address == ip && port_matches(port),
                };
                if matched {
                    return false;
                }
            }
        }
        // Domain rules match names only, never an IP address (as Go does since CVE-2025-22870).
        ip.is_some()
            || !self.domains.iter().any(|rule| {
                (host.ends_with(&rule.suffix) || (rule.itself && host == rule.suffix[1..]))
                    && port_matches(&rule.port)
            })
    }
}

/// `host:port` or `[v6]:port` split as Go's `net.SplitHostPort` does; `None` if it is neither.
fn split_host_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')?));
    }
    let (host, port) = text.rsplit_once(':')?;
    (!host.contains(':')).then_some((host, port))
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let network: IpAddr = address.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let bits = if network.is_ipv4() { 32 } else { 128 };
    (prefix <= bits).then_some((network, prefix))
}

fn in_range(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let masked = |value: u128, bits: u32| {
        let shift = bits - u32::from(prefix);
        value.checked_shr(shift).unwrap_or(0)
    };
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            masked(u32::from(ip).into(), 32) == masked(u32::from(network).into(), 32)
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            masked(u128::from(ip), 128) == masked(u128::from(network), 128)
        }
        _ => false,
    }
}

/// The CAs to trust, found as Go finds them on Linux: the first CA bundle that can be read
/// (`SSL_CERT_FILE`, else the system's usual ones) and every certificate in the folders
/// (`SSL_CERT_DIR`, else the system's usual ones). An error when there is none.
pub fn trusted_cas(env: &NetworkEnv) -> Result<RootCertStore, NetworkError> {
    let mut problems = Vec::new();
    let mut certificates: Vec<CertificateDer<'static>> = Vec::new();
    let (files, dirs) = ca_sources(env);
    for file in &files {
        match std::fs::read(file) {
            Ok(pem) => {
                certificates.extend(certificates_in(&pem));
                break;
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => problems.push(format!("{file}: {error}")),
        }
    }
    for dir in &dirs {
        match certificate_files(Path::new(dir)) {
            Ok(paths) => {
                for path in paths {
                    if let Ok(pem) = std::fs::read(&path) {
                        certificates.extend(certificates_in(&pem));
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => problems.push(format!("{dir}: {error}")),
        }
    }
    let mut seen = HashSet::new();
    certificates.retain(|certificate| seen.insert(certificate.as_ref().to_vec()));
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(certificates);
    if store.is_empty() {
        let looked_in = format!(
            "looked in {} and {}",
            files.join(", "),
            dirs.iter().map(|dir| format!("{dir}/")).collect::<Vec<_>>().join(", ")
        );
        let detail =
            if problems.is_empty() { looked_in } else { format!("{looked_in}; {}", problems.join("; ")) };
        return Err(NetworkError::NoTrustedCas { detail });
    }
    Ok(store)
}

/// The CA bundles to try and the folders to read. Each variable replaces only its own default:
/// with `SSL_CERT_FILE` alone, the system's folders are still read.
fn ca_sources(env: &NetworkEnv) -> (Vec<&str>, Vec<&str>) {
    let files = match &env.cert_file {
        Some(file) => vec![file.as_str()],
        None => CERT_FILES.to_vec(),
    };
    let dirs = match &env.cert_dirs {
        Some(dirs) => dirs.split(':').filter(|dir| !dir.is_empty()).collect(),
        None => CERT_DIRS.to_vec(),
    };
    (files, dirs)
}

fn certificates_in(pem: &[u8]) -> impl Iterator<Item = CertificateDer<'static>> + '_ {
    // A block that cannot be read is skipped, and the rest still count, as in Go.
    CertificateDer::pem_slice_iter(pem).filter_map(Result::ok)
}

/// The files of a CA folder, leaving out symbolic links to files in the same folder (such as
/// OpenSSL's hash links), which would only repeat them.
fn certificate_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_symlink()
            && std::fs::read_link(&path).is_ok_and(|target| target.components().count() == 1)
        {
            continue;
        }
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(proxy: &str, no_proxy: &str) -> ProxyRules {
        let env = NetworkEnv {
            https_proxy: Some(proxy.to_string()),
            no_proxy: Some(no_proxy.to_string()),
            ..NetworkEnv::default()
        };
        ProxyRules::from_env(&env).unwrap().unwrap()
    }

    fn proxied(no_proxy: &str, url: &str) -> bool {
        rules("http://proxy.corp:3128", no_proxy).proxy_for(&Url::parse(url).unwrap()).is_some()
    }

    #[test]
    fn the_variables_are_read_upper_case_first_and_empty_ones_are_unset() {
        let vars = [("HTTPS_PROXY", ""), ("https_proxy", "http://lower:1"), ("no_proxy", "a.test")];
        let env = NetworkEnv::read(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()));
        assert_eq!(env.https_proxy.as_deref(), Some("http://lower:1"));
        assert_eq!(env.no_proxy.as_deref(), Some("a.test"));
        let both = [("HTTPS_PROXY", "http://upper:1"), ("https_proxy", "http://lower:1")];
        let env = NetworkEnv::read(|name| both.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()));
        assert_eq!(env.https_proxy.as_deref(), Some("http://upper:1"));
        assert!(!format!("{env:?}").contains("upper"), "the proxy URL is never shown");
    }

    #[test]
    fn no_proxy_follows_go() {
        let url = "https://df.apigw.ntruss.com";
        assert!(proxied("", url));
        assert!(!proxied("*", url));
        assert!(!proxied("ntruss.com", url), "a domain covers its subdomains");
        assert!(!proxied("df.apigw.ntruss.com", url), "and itself");
        assert!(!proxied(".ntruss.com", url));
        assert!(!proxied("*.ntruss.com", url));
        assert!(proxied(".df.apigw.ntruss.com", url), "a leading dot leaves the domain itself out");
        assert!(proxied("truss.com", url), "only whole labels match");
        assert!(!proxied(" other.test , NTRUSS.COM ", url), "entries are trimmed and any case");
        assert!(!proxied("ntruss.com:443", url), "the scheme's port counts");
        assert!(proxied("ntruss.com:8443", url));
        assert!(!proxied("ntruss.com:8443", "https://df.apigw.ntruss.com:8443"));
        assert!(!proxied("10.1.2.3", "https://10.1.2.3:9000"));
        assert!(!proxied("10.1.2.3:9000", "https://10.1.2.3:9000"));
        assert!(proxied("10.1.2.3:9001", "https://10.1.2.3:9000"));
        assert!(!proxied("10.0.0.0/8", "https://10.1.2.3"));
        assert!(proxied("10.0.0.0/16", "https://10.1.2.3"));
        assert!(!proxied("fd00::/8", "https://[fd00::1]"));
        assert!(!proxied("[fd00::1]:443", "https://[fd00::1]"));
        assert!(proxied(":443", url), "an entry without a host is ignored");
        assert!(proxied("2.3.4", "https://1.2.3.4"), "domain rules never match an IP address");
        assert!(!proxied("10.0.0.0/8", "https://[::ffff:10.1.2.3]"), "an IPv4-mapped address is its IPv4");
        assert!(proxied("10.0.0.0/+8", "https://10.1.2.3"), "a prefix is digits only");
        assert!(
            !proxied("BÜCHER.example", "https://www.bücher.example"),
            "names compare in their ASCII form"
        );
        assert!(!proxied("", "https://[::ffff:127.0.0.1]"), "an IPv4-mapped loopback is loopback");
    }

    #[test]
    fn localhost_and_loopback_are_never_proxied() {
        for url in ["https://localhost:8443", "https://127.0.0.1", "https://127.9.9.9:1", "https://[::1]:1"] {
            assert!(!proxied("", url), "{url}");
        }
        assert!(proxied("", "https://localhost.corp"));
    }

    #[test]
    fn only_https_requests_are_proxied() {
        assert!(!proxied("", "http://df.apigw.ntruss.com"));
    }

    #[test]
    fn proxy_urls_are_read_as_go_reads_them() {
        let url = |text: &str| {
            ProxyRules::from_env(&NetworkEnv { https_proxy: Some(text.into()), ..NetworkEnv::default() })
        };
        assert_eq!(url("proxy.corp:3128").unwrap().unwrap().https.as_str(), "http://proxy.corp:3128/");
        assert_eq!(url("10.0.0.1:3128").unwrap().unwrap().https.as_str(), "http://10.0.0.1:3128/");
        assert_eq!(url("https://proxy.corp").unwrap().unwrap().describe(), "https://proxy.corp:443");
        let with_password = url("http://ops:s3cret@proxy.corp:3128").unwrap().unwrap();
        assert_eq!(with_password.https.password(), Some("s3cret"));
        assert_eq!(with_password.describe(), "http://proxy.corp:3128");
        let socks = url("socks5://ops:s3cret@proxy.corp:1080").unwrap_err();
        assert!(socks.to_string().contains("\"socks5\"") && !socks.to_string().contains("s3cret"), "{socks}");
        let bad = url("http://ops:s3cret@proxy.corp:99999").unwrap_err();
        assert!(!bad.to_string().contains("s3cret"), "{bad}");
        assert_eq!(ProxyRules::from_env(&NetworkEnv::default()).unwrap().map(|r| r.https), None);
    }

    fn ca_pem() -> String {
        dataforest_sim::tls::SimTls::generate("localhost").unwrap().ca_pem
    }

    fn cas(file: Option<&Path>, dirs: &[&Path]) -> Result<RootCertStore, NetworkError> {
        let joined = dirs.iter().map(|dir| dir.display().to_string()).collect::<Vec<_>>().join(":");
        trusted_cas(&NetworkEnv {
            cert_file: file.map(|file| file.display().to_string()),
            cert_dirs: Some(joined),
            ..NetworkEnv::default()
        })
    }

    #[test]
    fn trusted_cas_come_from_the_file_and_every_folder() {
        let temp = tempfile::tempdir().unwrap();
        let (empty, a, b) = (temp.path().join("empty"), temp.path().join("a"), temp.path().join("b"));
        for dir in [&empty, &a, &b] {
            std::fs::create_dir(dir).unwrap();
        }
        let bundle = temp.path().join("bundle.pem");
        std::fs::write(&bundle, format!("{}{}", ca_pem(), ca_pem())).unwrap();
        assert_eq!(cas(Some(&bundle), &[&empty]).unwrap().len(), 2, "every certificate of the bundle");

        std::fs::write(a.join("one.pem"), ca_pem()).unwrap();
        std::os::unix::fs::symlink("one.pem", a.join("0a1b2c3d.0")).unwrap();
        std::fs::write(a.join("README"), "not a certificate").unwrap();
        std::fs::write(b.join("two.crt"), ca_pem()).unwrap();
        let missing = temp.path().join("missing.pem");
        assert_eq!(
            cas(Some(&missing), &[&a, &b]).unwrap().len(),
            2,
            "both folders; a hash link adds nothing"
        );
        assert_eq!(cas(Some(&bundle), &[&a]).unwrap().len(), 3, "the file and the folder");
        let damaged = temp.path().join("damaged.pem");
        let unreadable = "-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n";
        std::fs::write(&damaged, format!("{unreadable}{}", ca_pem())).unwrap();
        assert_eq!(cas(Some(&damaged), &[&empty]).unwrap().len(), 1, "a damaged block leaves the rest");

        assert_eq!(cas(Some(&missing), &[&a]).unwrap().len(), 1, "a missing file is no error");
        let none = cas(Some(&missing), &[&empty]).unwrap_err();
        assert!(none.to_string().contains("no trusted CA certificates"), "{none}");
        assert!(none.to_string().contains("missing.pem"), "{none}");
    }

    #[test]
    fn each_variable_replaces_only_its_own_default() {
        let only_file = NetworkEnv { cert_file: Some("/ca.pem".into()), ..NetworkEnv::default() };
        assert_eq!(ca_sources(&only_file), (vec!["/ca.pem"], CERT_DIRS.to_vec()));
        let only_dirs = NetworkEnv { cert_dirs: Some("/x:/y".into()), ..NetworkEnv::default() };
        assert_eq!(ca_sources(&only_dirs), (CERT_FILES.to_vec(), vec!["/x", "/y"]));
    }

    #[test]
    fn split_host_port_is_go_s() {
        assert_eq!(split_host_port("a.test:80"), Some(("a.test", "80")));
        assert_eq!(split_host_port("[::1]:80"), Some(("::1", "80")));
        assert_eq!(split_host_port("a.test"), None);
        assert_eq!(split_host_port("::1"), None);
        assert_eq!(split_host_port("[::1]"), None);
    }
}
