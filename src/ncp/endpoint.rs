//! Where DataForest lives: the NCP site (public, gov, fin) and the base URL the client calls.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

/// The DataForest API host of NCP's public site; the only one NCP documents.
pub const PUBLIC_ENDPOINT: &str = "https://df.apigw.ntruss.com";

/// An NCP site: the public cloud, or the separate government and financial clouds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    Public,
    Gov,
    Fin,
}

impl Site {
    pub fn parse(name: &str) -> Option<Site> {
        match name {
            "public" => Some(Site::Public),
            "gov" => Some(Site::Gov),
            "fin" => Some(Site::Fin),
            _ => None,
        }
    }

    /// The published DataForest endpoint of this site, if NCP publishes one.
    pub fn default_endpoint(self) -> Option<Endpoint> {
        match self {
            Site::Public => Some(Endpoint(Url::parse(PUBLIC_ENDPOINT).expect("constant URL is valid"))),
            Site::Gov | Site::Fin => None,
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Site::Public => "public",
            Site::Gov => "gov",
            Site::Fin => "fin",
        })
    }
}

/// A validated DataForest base URL: `https://`, or plain `http://` to a loopback host only, so
/// credentials and kills never cross a network unencrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(Url);

#[derive(Debug, PartialEq, Eq)]
pub enum EndpointError {
    NotAUrl(String),
    UnsupportedScheme(String),
    PlainHttpToRemoteHost(String),
    QueryOrFragment,
    Credentials,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::NotAUrl(reason) => write!(f, "not an absolute URL ({reason})"),
            EndpointError::UnsupportedScheme(scheme) => {
                write!(f, "scheme {scheme:?} is not supported; use https://")
            }
            EndpointError::PlainHttpToRemoteHost(host) => write!(
                f,
                "plain http:// is only allowed to a loopback host (localhost, 127.0.0.0/8, ::1), not {host:?}; use https://"
            ),
            EndpointError::QueryOrFragment => f.write_str("a base URL cannot carry a query or a fragment"),
            EndpointError::Credentials => f.write_str("a base URL cannot carry a user name or password"),
        }
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, EndpointError> {
        let url = Url::parse(text.trim()).map_err(|e| EndpointError::NotAUrl(e.to_string()))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(EndpointError::QueryOrFragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Credentials);
        }
        let host = url.host_str().ok_or_else(|| EndpointError::NotAUrl("no host".into()))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return Err(EndpointError::PlainHttpToRemoteHost(host.to_string())),
            other => return Err(EndpointError::UnsupportedScheme(other.to_string())),
        }
        Ok(Endpoint(url))
    }

    /// Whether it is reached over TLS.
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The full URL of an API path such as `/api/v2/aiapps/kill`, keeping any base path prefix
    /// (a private gateway may mount DataForest below one).
    pub fn url_for(&self, api_path: &str) -> Url {
        let mut url = self.0.clone();
        let joined = format!("{}{}", url.path().trim_end_matches('/'), api_path);
        url.set_path(&joined);
        url
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_site_has_the_documented_host_and_others_have_none() {
        assert_eq!(Site::Public.default_endpoint().unwrap().to_string(), PUBLIC_ENDPOINT);
        assert_eq!(Site::Gov.default_endpoint(), None);
        assert_eq!(Site::Fin.default_endpoint(), None);
    }

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        assert!(Endpoint::parse("https://df.example.com").is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:8080").is_ok());
        assert!(Endpoint::parse("http://127.3.2.1:8080").is_ok());
        assert!(Endpoint::parse("http://localhost:1").is_ok());
        assert!(Endpoint::parse("http://[::1]:1").is_ok());
        assert_eq!(
            Endpoint::parse("http://10.0.0.1"),
            Err(EndpointError::PlainHttpToRemoteHost("10.0.0.1".into()))
        );
        assert_eq!(
            Endpoint::parse("http://localhost.example.com"),
            Err(EndpointError::PlainHttpToRemoteHost("localhost.example.com".into()))
        );
        assert_eq!(Endpoint::parse("ftp://x"), Err(EndpointError::UnsupportedScheme("ftp".into())));
        assert!(matches!(Endpoint::parse("df.apigw.ntruss.com"), Err(EndpointError::NotAUrl(_))));
        assert_eq!(Endpoint::parse("https://h/?a=1"), Err(EndpointError::QueryOrFragment));
        assert_eq!(Endpoint::parse("https://u:p@h/"), Err(EndpointError::Credentials));
    }

    #[test]
    fn url_for_keeps_a_base_path() {
        let plain = Endpoint::parse("https://h").unwrap();
        assert_eq!(plain.url_for("/api/v2/aiapps/kill").as_str(), "https://h/api/v2/aiapps/kill");
        let prefixed = Endpoint::parse("https://h/gw/df/").unwrap();
        assert_eq!(prefixed.url_for("/api/v2/aiapps/kill").path(), "/gw/df/api/v2/aiapps/kill");
    }
}
