//! The provider binary as Terraform starts it: the magic cookie and protocol checks, the handshake
//! line as the only stdout, AutoMTLS pinned to the client certificate Terraform announced (P-521,
//! marked as a CA as go-plugin makes it), health, Unimplemented for services not offered, SIGINT
//! ignored, prompt exit on Shutdown, and exit when the process that started it is gone (not in
//! debug mode).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use terraform_provider_ncloud::plugin::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use terraform_provider_ncloud::protocol::proto::plugin::Empty;
use terraform_provider_ncloud::protocol::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_ncloud::protocol::proto::tfplugin6::get_provider_schema;
use terraform_provider_ncloud::protocol::proto::tfplugin6::provider_client::ProviderClient;
use tonic::transport::{Channel, Endpoint};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-ncloud");

/// A client certificate as go-plugin makes Terraform's: ECDSA P-521 with SHA-512, CA:TRUE.
struct ClientCert {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn client_cert() -> ClientCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).unwrap();
    ClientCert {
        pem: cert.pem(),
        der: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

struct Plugin {
    child: Child,
    handshake: Vec<String>,
    socket_dir: tempfile::TempDir,
}

impl Plugin {
    fn start(client_cert_pem: Option<&str>) -> Plugin {
        let socket_dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(pem) = client_cert_pem {
            command.env("PLUGIN_CLIENT_CERT", pem);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let handshake = line.trim_end().split('|').map(str::to_string).collect();
        Plugin { child, handshake, socket_dir }
    }

    fn socket(&self) -> PathBuf {
        PathBuf::from(&self.handshake[3])
    }

    fn server_cert(&self) -> CertificateDer<'static> {
        use base64::Engine as _;
        CertificateDer::from(
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(&self.handshake[5]).unwrap(),
        )
    }

    async fn plaintext_channel(&self) -> Result<Channel, tonic::transport::Error> {
        let socket = self.socket();
        Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_| {
                let socket = socket.clone();
                async move { tokio::net::UnixStream::connect(socket).await.map(TokioIo::new) }
            }))
            .await
    }

    async fn tls_channel(&self, client: &ClientCert) -> Result<Channel, tonic::transport::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.server_cert()).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client.der.clone()], PrivateKeyDer::Pkcs8(client.key.clone_key()))
        .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let socket = self.socket();
        Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_| {
                let (socket, connector) = (socket.clone(), connector.clone());
                async move {
                    let stream = tokio::net::UnixStream::connect(socket).await?;
                    let tls = connector.connect(ServerName::try_from("localhost").unwrap(), stream).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await
    }

    /// Waits for the process to end; returns how long that took and what it wrote afterwards.
    fn wait_exit(&mut self, limit: Duration) -> (Duration, String) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.child.try_wait().unwrap().is_some() {
                let mut rest = String::new();
                self.child.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
                return (started.elapsed(), rest);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.kill().unwrap();
        panic!("the plugin did not exit within {limit:?}");
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn schema_call(channel: Channel) -> Result<get_provider_schema::Response, tonic::Status> {
    let mut client = ProviderClient::new(channel);
    client.get_provider_schema(get_provider_schema::Request {}).await.map(tonic::Response::into_inner)
}

async fn shutdown(channel: Channel) {
    GrpcControllerClient::new(channel).shutdown(Empty {}).await.unwrap();
}

#[test]
fn refuses_to_run_by_hand() {
    let output = Command::new(BINARY).env_clear().output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("This binary is a plugin."));
}

#[test]
fn refuses_a_client_without_protocol_6() {
    let output = Command::new(BINARY)
        .env_clear()
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("protocol version 6") && stderr.contains("\"4,5\""), "{stderr}");
}

#[tokio::test]
async fn plaintext_without_client_cert_serves_health_and_shuts_down() {
    let mut plugin = Plugin::start(None);
    assert_eq!(&plugin.handshake[..3], ["1", "6", "unix"]);
    assert_eq!(plugin.handshake[4], "grpc");
    assert_eq!(plugin.handshake[5], "", "no certificate without PLUGIN_CLIENT_CERT");
    assert!(plugin.socket().starts_with(plugin.socket_dir.path()));

    let channel = plugin.plaintext_channel().await.unwrap();
    let health = tonic_health::pb::health_client::HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest { service: "plugin".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    assert!(schema_call(channel.clone()).await.unwrap().provider.is_some());
    // A service the plugin does not offer (go-plugin's broker) answers Unimplemented.
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/plugin.GRPCBroker/StartStream");
    let codec = tonic_prost::ProstCodec::<Empty, Empty>::default();
    let refused = grpc.unary(tonic::Request::new(Empty {}), path, codec).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented, "{refused:?}");

    shutdown(channel).await;
    let (took, rest_of_stdout) = plugin.wait_exit(Duration::from_secs(2));
    assert!(took < Duration::from_secs(1), "Shutdown took {took:?}");
    assert_eq!(rest_of_stdout, "", "stdout belongs to the handshake line alone");
    assert!(!plugin.socket().exists(), "the socket is removed on exit");
}

#[tokio::test]
async fn mutual_tls_accepts_only_the_announced_client_certificate() {
    let terraform = client_cert();
    let stranger = client_cert();
    let mut plugin = Plugin::start(Some(&terraform.pem));
    assert!(!plugin.handshake[5].is_empty(), "the server certificate is announced");

    let schema = schema_call(plugin.tls_channel(&terraform).await.unwrap()).await.unwrap();
    assert!(schema.resource_schemas.contains_key("ncloud_dataforest_aiapp_kill"));

    // Another P-521 certificate, or none at all, gets no gRPC service.
    let refused = match plugin.tls_channel(&stranger).await {
        Err(_) => true,
        Ok(channel) => schema_call(channel).await.is_err(),
    };
    assert!(refused, "a client with another certificate must be refused");
    match plugin.plaintext_channel().await {
        Err(_) => {}
        Ok(channel) => assert!(schema_call(channel).await.is_err(), "plaintext must be refused under mTLS"),
    }

    // The announced client still works after the refusals.
    let channel = plugin.tls_channel(&terraform).await.unwrap();
    schema_call(channel.clone()).await.unwrap();
    shutdown(channel).await;
    plugin.wait_exit(Duration::from_secs(2));
}

#[tokio::test]
async fn sigint_is_ignored_as_go_plugin_does() {
    let mut plugin = Plugin::start(None);
    let pid = libc::pid_t::try_from(plugin.child.id()).unwrap();
    // SAFETY: kill(2) on a child this test spawned and still owns; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    // A sleep, since it proves a negative: the process is still there a while after the signal.
    std::thread::sleep(Duration::from_millis(300));
    assert!(plugin.child.try_wait().unwrap().is_none(), "SIGINT must not end the provider");
    let channel = plugin.plaintext_channel().await.unwrap();
    schema_call(channel.clone()).await.unwrap();
    shutdown(channel).await;
    plugin.wait_exit(Duration::from_secs(2));
}

/// Whether process `pid` is still running (an exited one may linger as a zombie until reaped).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Starts the provider through a shell that stays its parent, and answers the shell and the
/// provider's process id, once the provider is serving (it printed `ready`, a line of its stdout).
fn started_through_a_shell(args: &[&str], ready: &str) -> (Child, u32) {
    let socket_dir = std::env::temp_dir();
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$@" & echo "provider=$!"; wait"#)
        .arg(BINARY)
        .args(args)
        .env_clear()
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_UNIX_SOCKET_DIR", &socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(shell.stdout.take().unwrap()).lines();
    let (mut pid, mut serving) = (None, false);
    while pid.is_none() || !serving {
        let line = lines.next().expect("the shell's output ended").unwrap();
        if let Some(id) = line.strip_prefix("provider=") {
            pid = id.parse().ok();
        }
        serving |= line.contains(ready);
    }
    // Keep reading, so that the provider never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (shell, pid.unwrap())
}

#[test]
fn the_provider_exits_within_two_seconds_of_the_process_that_started_it_but_not_in_debug_mode() {
    let (mut shell, provider) = started_through_a_shell(&[], "|grpc|");
    assert!(running(provider));
    // The parent dies without a word, as Terraform does when it crashes or is killed.
    shell.kill().unwrap();
    shell.wait().unwrap();
    let killed = Instant::now();
    while running(provider) {
        assert!(killed.elapsed() < Duration::from_secs(2), "the provider outlived its parent by 2 s");
        std::thread::sleep(Duration::from_millis(20));
    }

    // In debug mode the user started it, and stops it.
    let (mut shell, provider) = started_through_a_shell(&["--debug"], "TF_REATTACH_PROVIDERS");
    shell.kill().unwrap();
    shell.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let still_running = running(provider);
    // SAFETY: kill(2) of the provider this test started; no memory is involved.
    unsafe { libc::kill(libc::pid_t::try_from(provider).unwrap(), libc::SIGTERM) };
    assert!(still_running, "a debug provider must not stop when the shell that started it exits");
}
