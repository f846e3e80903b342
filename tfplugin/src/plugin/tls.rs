//! AutoMTLS as go-plugin does it: a fresh self-signed server certificate (SAN `localhost`) for
//! every start, and a client certificate that is required and must be exactly the one Terraform
//! put in `PLUGIN_CLIENT_CERT`. Terraform's is ECDSA P-521 signed with SHA-512 and marked as a
//! CA, which rustls's stock verifier refuses as an end entity, so the pin is checked here and
//! only the handshake signature is left to the aws-lc-rs algorithms.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

#[derive(Debug)]
pub enum TlsError {
    ClientCertificate(String),
    ServerCertificate(String),
    Config(rustls::Error),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::ClientCertificate(e) => {
                write!(f, "PLUGIN_CLIENT_CERT holds no usable certificate: {e}")
            }
            TlsError::ServerCertificate(e) => write!(f, "cannot make the server certificate: {e}"),
            TlsError::Config(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The TLS side of the plugin's listener.
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    /// The server certificate, announced in the handshake line.
    pub certificate: CertificateDer<'static>,
}

/// Builds the server TLS configuration that accepts only the client certificate in `client_pem`.
pub fn server_tls(client_pem: &str) -> Result<ServerTls, TlsError> {
    let client_certificate = CertificateDer::from_pem_slice(client_pem.as_bytes())
        .map_err(|e| TlsError::ClientCertificate(e.to_string()))?;
    let (certificate, key) = self_signed_localhost()?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedClientCertificate {
        pinned: client_certificate,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![certificate.clone()], key)
        .map_err(TlsError::Config)?;
    // Terraform 1.14 and later insist on HTTP/2 being negotiated.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(ServerTls { config: Arc::new(config), certificate })
}

/// A P-256 key: the quickest to make, and Terraform's Go client verifies it.
fn self_signed_localhost() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let failed = |e: rcgen::Error| TlsError::ServerCertificate(e.to_string());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(failed)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Terraform plugin");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.self_signed(&key).map_err(failed)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((certificate.der().clone(), key))
}

#[derive(Debug)]
struct PinnedClientCertificate {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() && intermediates.is_empty() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General("client certificate is not the one Terraform announced".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_lc_rs_verifies_terraform_client_signatures() {
        let schemes = rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn refuses_pem_without_certificate() {
        assert!(matches!(server_tls("not a pem"), Err(TlsError::ClientCertificate(_))));
    }

    #[test]
    fn builds_with_h2_alpn_and_a_fresh_certificate_each_time() {
        let (client, _) = self_signed_localhost().unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, client.as_ref())
        );
        let first = server_tls(&pem).unwrap();
        let second = server_tls(&pem).unwrap();
        assert_eq!(first.config.alpn_protocols, vec![b"h2".to_vec()]);
        assert_ne!(first.certificate, second.certificate);
    }
}
