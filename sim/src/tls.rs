//! HTTPS for the simulator: a certificate authority made afresh at each start, a server
//! certificate it signs for one host name, and an accept loop that serves the simulator's routes
//! over TLS and counts the connections it accepts and those whose handshake succeeds (so tests
//! and benchmarks can check that a client reuses its connections, or gave up on a certificate).

use std::future::Future;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::Simulator;

/// The simulator's TLS identity: the server configuration, and the PEM of the CA that signed its
/// certificate, for clients to trust.
#[derive(Clone)]
pub struct SimTls {
    pub config: Arc<rustls::ServerConfig>,
    pub ca_pem: String,
}

impl SimTls {
    /// A new CA and a certificate for `host_name` (a DNS name, or an IP address) signed by it.
    pub fn generate(host_name: &str) -> Result<SimTls, String> {
        let failed = |e: rcgen::Error| format!("cannot make the test certificates: {e}");
        let ca_key = KeyPair::generate().map_err(failed)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca.distinguished_name.push(DnType::CommonName, "dataforest-sim test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_certificate = ca.self_signed(&ca_key).map_err(failed)?;
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().map_err(failed)?;
        let mut server = CertificateParams::new(vec![host_name.to_string()]).map_err(failed)?;
        server.distinguished_name.push(DnType::CommonName, host_name);
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_certificate = server.signed_by(&server_key, &issuer).map_err(failed)?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![server_certificate.der().clone()];
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(SimTls { config: Arc::new(config), ca_pem: ca_certificate.pem() })
    }
}

impl Simulator {
    /// Serves on `listener` over TLS until `shutdown` completes. A connection counts once its
    /// TLS handshake succeeds; a client that refuses the certificate is not counted.
    pub async fn serve_tls(
        &self,
        listener: tokio::net::TcpListener,
        tls: &SimTls,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let acceptor = TlsAcceptor::from(Arc::clone(&tls.config));
        let router = self.router();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: the server lives on, and tries again shortly.
                    eprintln!("dataforest-sim: cannot accept a connection: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            self.count_connection();
            let (acceptor, router, simulator) = (acceptor.clone(), router.clone(), self.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else { return };
                simulator.count_tls_connection();
                let service = TowerToHyperService::new(router);
                // A connection that ends badly ends only itself.
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// Binds `address` and serves over TLS in the background on the current tokio runtime.
    pub async fn spawn_tls(
        &self,
        address: std::net::SocketAddr,
        tls: &SimTls,
    ) -> std::io::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let bound = listener.local_addr()?;
        let (simulator, tls) = (self.clone(), tls.clone());
        tokio::spawn(async move { simulator.serve_tls(listener, &tls, std::future::pending()).await });
        Ok(bound)
    }
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::ServerName;
    use rustls::pki_types::pem::PemObject as _;

    use super::*;

    /// Whether a client that trusts only the simulator's CA completes a handshake with its
    /// certificate when it connects to `server_name`.
    fn handshake(tls: &SimTls, server_name: &str) -> Result<(), rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(tls.ca_pem.as_bytes()).unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(server_name.to_string()).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(config), name)?;
        let mut server = rustls::ServerConnection::new(Arc::clone(&tls.config))?;
        // In memory: each side's records go straight to the other, a few rounds at most.
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
            let mut records = Vec::new();
            client.write_tls(&mut records).unwrap();
            if !records.is_empty() {
                server.read_tls(&mut records.as_slice()).unwrap();
                server.process_new_packets()?;
            }
            records.clear();
            server.write_tls(&mut records).unwrap();
            if !records.is_empty() {
                client.read_tls(&mut records.as_slice()).unwrap();
                client.process_new_packets()?;
            }
        }
        panic!("the handshake with {server_name} did not finish");
    }

    #[test]
    fn an_ip_address_is_certified_as_one() {
        for address in ["::1", "127.0.0.1"] {
            let tls = SimTls::generate(address).unwrap();
            handshake(&tls, address).unwrap_or_else(|e| panic!("{address}: {e}"));
            assert!(
                handshake(&tls, "localhost").is_err(),
                "a certificate for {address} is not for localhost"
            );
        }
        let tls = SimTls::generate("localhost").unwrap();
        handshake(&tls, "localhost").unwrap();
        assert!(handshake(&tls, "::1").is_err(), "a certificate for localhost is not for ::1");
    }
}
