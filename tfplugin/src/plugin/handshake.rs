//! go-plugin's side of starting up: the environment Terraform hands a plugin (magic cookie,
//! protocol versions, port range, socket folder, client certificate) and the one handshake line
//! the plugin answers on stdout.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's core protocol version, the first field of the handshake line.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The tfplugin major version this provider speaks.
pub const PROTOCOL_VERSION: u32 = 6;

/// What go-plugin prints when its binary is run by hand.
pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
Please execute the program that consumes these plugins, which will\n\
load any plugins automatically";

/// The start-up settings Terraform passes in the environment.
#[derive(Debug, PartialEq, Eq)]
pub struct PluginEnv {
    pub client_cert_pem: Option<String>,
    pub socket_dir: Option<PathBuf>,
    pub ports: RangeInclusive<u16>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StartError {
    NotLaunchedByTerraform,
    NoCommonProtocol(String),
    BadPortRange(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotLaunchedByTerraform => f.write_str(NOT_A_PLUGIN_MESSAGE),
            StartError::NoCommonProtocol(offered) => write!(
                f,
                "Incompatible plugin protocol: this provider speaks protocol version {PROTOCOL_VERSION} \
                 (Terraform 1.0 and later), but the client offered PLUGIN_PROTOCOL_VERSIONS={offered:?}. \
                 Use Terraform 1.0 or later."
            ),
            StartError::BadPortRange(reason) => {
                write!(f, "invalid PLUGIN_MIN_PORT/PLUGIN_MAX_PORT: {reason}")
            }
        }
    }
}

impl std::error::Error for StartError {}

/// Reads and checks the environment through `var`, so tests need not touch the process's own.
pub fn read_env(var: impl Fn(&str) -> Option<String>) -> Result<PluginEnv, StartError> {
    if var(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(StartError::NotLaunchedByTerraform);
    }
    if let Some(offered) = var("PLUGIN_PROTOCOL_VERSIONS").filter(|v| !v.trim().is_empty()) {
        let speaks_ours = offered.split(',').any(|v| v.trim().parse::<u32>() == Ok(PROTOCOL_VERSION));
        if !speaks_ours {
            return Err(StartError::NoCommonProtocol(offered));
        }
    }
    let port = |name: &str, default: u16| -> Result<u16, StartError> {
        match var(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(text) => {
                text.trim().parse().map_err(|_| StartError::BadPortRange(format!("{name}={text:?}")))
            }
        }
    };
    let (min, max) = (port("PLUGIN_MIN_PORT", 10000)?, port("PLUGIN_MAX_PORT", 25000)?);
    if min > max {
        return Err(StartError::BadPortRange(format!("{min} is above {max}")));
    }
    Ok(PluginEnv {
        client_cert_pem: var("PLUGIN_CLIENT_CERT").filter(|pem| !pem.trim().is_empty()),
        socket_dir: var("PLUGIN_UNIX_SOCKET_DIR").filter(|d| !d.is_empty()).map(PathBuf::from),
        ports: min..=max,
    })
}

/// Debug mode's settings: plaintext on a unix socket in the temp folder.
pub fn debug_env() -> PluginEnv {
    PluginEnv { client_cert_pem: None, socket_dir: None, ports: 10000..=25000 }
}

/// Where the plugin listens, as the handshake line names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    Unix(PathBuf),
    Tcp(std::net::SocketAddr),
}

/// `CORE|PROTOCOL|NETWORK|ADDRESS|grpc|CERT`, CERT being the server certificate's DER in base64
/// without padding, or empty when the connection is plaintext.
pub fn handshake_line(address: &ListenAddress, server_cert_der: Option<&[u8]>) -> String {
    let (network, address) = match address {
        ListenAddress::Unix(path) => ("unix", path.display().to_string()),
        ListenAddress::Tcp(socket) => ("tcp", socket.to_string()),
    };
    let cert = server_cert_der.map(|der| STANDARD_NO_PAD.encode(der)).unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{network}|{address}|grpc|{cert}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn refuses_without_the_cookie() {
        assert_eq!(read_env(env(&[])), Err(StartError::NotLaunchedByTerraform));
        assert_eq!(read_env(env(&[(MAGIC_COOKIE_KEY, "wrong")])), Err(StartError::NotLaunchedByTerraform));
        assert!(StartError::NotLaunchedByTerraform.to_string().starts_with("This binary is a plugin."));
    }

    #[test]
    fn needs_protocol_six_when_versions_are_offered() {
        let only_five =
            read_env(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), ("PLUGIN_PROTOCOL_VERSIONS", "5")]));
        assert_eq!(only_five, Err(StartError::NoCommonProtocol("5".into())));
        let both =
            read_env(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), ("PLUGIN_PROTOCOL_VERSIONS", "6, 5")]));
        assert!(both.is_ok());
    }

    #[test]
    fn reads_terraform_settings() {
        let settings = read_env(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_MIN_PORT", "2000"),
            ("PLUGIN_MAX_PORT", "2010"),
            ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
            ("PLUGIN_UNIX_SOCKET_DIR", "/run/x"),
        ]))
        .unwrap();
        assert_eq!(settings.ports, 2000..=2010);
        assert_eq!(settings.socket_dir, Some(PathBuf::from("/run/x")));
        assert!(settings.client_cert_pem.is_some());
        let reversed = read_env(env(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            ("PLUGIN_MIN_PORT", "3"),
            ("PLUGIN_MAX_PORT", "2"),
        ]));
        assert!(matches!(reversed, Err(StartError::BadPortRange(_))));
    }

    #[test]
    fn handshake_line_format() {
        let unix = ListenAddress::Unix(PathBuf::from("/tmp/plugin42"));
        assert_eq!(handshake_line(&unix, None), "1|6|unix|/tmp/plugin42|grpc|");
        // Base64 without padding: two bytes would pad to "AAE=".
        assert_eq!(handshake_line(&unix, Some(&[0, 1])), "1|6|unix|/tmp/plugin42|grpc|AAE");
        let tcp = ListenAddress::Tcp("127.0.0.1:10001".parse().unwrap());
        assert_eq!(handshake_line(&tcp, Some(&[0xff; 3])), "1|6|tcp|127.0.0.1:10001|grpc|////");
    }
}
