//! Plugin plumbing, as go-plugin does it for Terraform: check the environment, listen, announce
//! the handshake line on stdout, serve the provider over gRPC (with AutoMTLS when Terraform asks
//! for it) beside the health, controller and stdio services, and end on `Shutdown`.

pub mod handshake;
pub mod listener;
pub mod routes;
pub mod tls;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tonic::{Request, Response, Status};

use crate::protocol::proto::plugin as go_plugin;
use crate::protocol::proto::tfplugin6::{
    self,
    provider_server::{Provider, ProviderServer},
};
use crate::protocol::service;
use handshake::{PluginEnv, handshake_line};
use listener::Listener;

/// Terraform may send messages far beyond tonic's 4 MiB default; go providers accept 256 MiB.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

#[derive(Debug)]
pub enum ServeError {
    Listen(std::io::Error),
    Tls(tls::TlsError),
    Stdout(std::io::Error),
    Grpc(tonic::transport::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Listen(e) => write!(f, "cannot listen: {e}"),
            ServeError::Tls(e) => e.fmt(f),
            ServeError::Stdout(e) => write!(f, "cannot write the handshake to stdout: {e}"),
            ServeError::Grpc(e) => write!(f, "gRPC server failed: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// How the process was started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Started by Terraform: announce the handshake line, end on `Shutdown` or SIGTERM, ignore
    /// SIGINT as go-plugin does (Terraform forwards Ctrl-C as `StopProvider`).
    Plugin,
    /// Started by a person (`--debug`) for Terraform to attach to: plaintext, announce
    /// `TF_REATTACH_PROVIDERS` for the provider `address`, serve every run until SIGINT or SIGTERM.
    Debug { address: String },
}

/// Serves `provider` as `mode` says.
pub async fn serve<P: Provider>(env: PluginEnv, mode: Mode, provider: P) -> Result<(), ServeError> {
    // Taken first, before anything that takes time, so that a parent already gone is noticed.
    let orphaned = parent_exited();
    let provider = Arc::new(provider);
    let tls = match &env.client_cert_pem {
        Some(pem) => Some(tls::server_tls(pem).map_err(ServeError::Tls)?),
        None => None,
    };
    let listener = Listener::bind(&env).await.map_err(ServeError::Listen)?;
    let address = listener.address().map_err(ServeError::Listen)?;
    let line = match &mode {
        Mode::Plugin => handshake_line(&address, tls.as_ref().map(|t| t.certificate.as_ref())),
        Mode::Debug { address: provider_address } => reattach_instructions(provider_address, &address),
    };
    let acceptor = tls.map(|t| TlsAcceptor::from(t.config));

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;
    let shutdown = Arc::new(Notify::new());
    let routes = routes::Routes {
        health,
        controller: go_plugin::grpc_controller_server::GrpcControllerServer::new(Controller {
            shutdown: Arc::clone(&shutdown),
        }),
        stdio: go_plugin::grpc_stdio_server::GrpcStdioServer::new(Stdio),
        provider: ProviderServer::from_arc(Arc::clone(&provider))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    };

    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let server = tonic::transport::Server::builder().serve_with_incoming(routes, listener.incoming(acceptor));

    // One write, so a reader that stops at the line it wants cannot break the pipe half-way.
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ServeError::Stdout)?;
    drop(stdout);
    tracing::debug!(address = ?address, "plugin serving");

    tokio::pin!(server);
    tokio::pin!(orphaned);
    loop {
        tokio::select! {
            result = &mut server => return result.map_err(ServeError::Grpc),
            // Terraform died without a Shutdown (a crash, `kill -9`): nobody will stop this
            // process, so it stops itself. In debug mode the user started it, and stops it.
            () = &mut orphaned, if mode == Mode::Plugin => {
                tracing::debug!("the process that started the provider exited");
                wind_up(provider.as_ref(), &mut terminate, &mut hangup).await;
                return Ok(());
            }
            () = shutdown.notified(), if mode == Mode::Plugin => {
                // Work still running (Terraform gave up on it: a second Ctrl-C) stops and reports.
                wind_up(provider.as_ref(), &mut terminate, &mut hangup).await;
                // Give the Shutdown answer a moment to reach Terraform before connections drop.
                tokio::time::sleep(Duration::from_millis(20)).await;
                tracing::debug!("shut down by Terraform");
                return Ok(());
            }
            // A CI job cancelled signals the whole process group: the provider winds up as when
            // Terraform goes away, rather than dropping the work in flight unrecorded.
            _ = terminate.recv() => {
                tracing::debug!("terminated by SIGTERM");
                wind_up(provider.as_ref(), &mut terminate, &mut hangup).await;
                return Ok(());
            }
            _ = hangup.recv() => {
                tracing::debug!("hung up (SIGHUP)");
                wind_up(provider.as_ref(), &mut terminate, &mut hangup).await;
                return Ok(());
            }
            _ = interrupt.recv() => match mode {
                Mode::Plugin => tracing::debug!("ignoring SIGINT: Terraform stops the provider itself"),
                Mode::Debug { .. } => return Ok(()),
            },
        }
    }
}

/// How often the provider checks that the process that started it is still there.
const PARENT_CHECK: Duration = Duration::from_millis(250);
/// The longest a provider that is going (Terraform ended, Shutdown, or a signal) gives the work
/// it stopped to wind up: to record what became of its kills.
const WIND_UP: Duration = Duration::from_secs(1);

/// Stops the work in flight, as Terraform's Ctrl-C would, and waits until it has ended (and
/// reported, to its audit log, say), at most [`WIND_UP`]; a second SIGTERM or SIGHUP cuts that
/// short.
async fn wind_up<P: Provider>(
    provider: &P,
    terminate: &mut tokio::signal::unix::Signal,
    hangup: &mut tokio::signal::unix::Signal,
) {
    let stop = tfplugin6::stop_provider::Request {};
    let stopped = tokio::time::timeout(WIND_UP, provider.stop_provider(Request::new(stop)));
    tokio::select! {
        () = async { let _ = stopped.await; service::settled(WIND_UP).await } => {}
        _ = terminate.recv() => tracing::debug!("a second SIGTERM: exiting at once"),
        _ = hangup.recv() => tracing::debug!("a second SIGHUP: exiting at once"),
    }
}

/// Ends once the process that started this one (the parent when this is called) has exited: the
/// parent changes when the process is handed to another (init, or a subreaper).
fn parent_exited() -> impl std::future::Future<Output = ()> {
    let parent = std::os::unix::process::parent_id();
    async move {
        let mut every = tokio::time::interval(PARENT_CHECK);
        loop {
            every.tick().await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    }
}

/// What `--debug` prints: the `TF_REATTACH_PROVIDERS` value that points Terraform at this
/// process, as a shell line to copy.
pub fn reattach_instructions(provider_address: &str, listen: &handshake::ListenAddress) -> String {
    let (network, address) = match listen {
        handshake::ListenAddress::Unix(path) => ("unix", path.display().to_string()),
        handshake::ListenAddress::Tcp(socket) => ("tcp", socket.to_string()),
    };
    let reattach = serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": handshake::PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": network, "String": address },
        }
    });
    format!(
        "Provider started. To attach Terraform, set TF_REATTACH_PROVIDERS in the shell that runs it:\n\n\
         \tTF_REATTACH_PROVIDERS='{reattach}'\n\nCtrl-C stops the provider."
    )
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, ServeError> {
    tokio::signal::unix::signal(kind).map_err(ServeError::Listen)
}

/// `plugin.GRPCController`: Terraform's request to end the process.
struct Controller {
    shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl go_plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<go_plugin::Empty>) -> Result<Response<go_plugin::Empty>, Status> {
        self.shutdown.notify_one();
        Ok(Response::new(go_plugin::Empty {}))
    }
}

/// `plugin.GRPCStdio`: the provider writes nothing to stdout or stderr that needs forwarding, so
/// the stream stays open and silent, as go-plugin's does when nothing is redirected.
struct Stdio;

#[tonic::async_trait]
impl go_plugin::grpc_stdio_server::GrpcStdio for Stdio {
    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<tonic::codegen::BoxStream<go_plugin::StdioData>>, Status> {
        Ok(Response::new(Box::pin(tokio_stream::pending())))
    }
}
