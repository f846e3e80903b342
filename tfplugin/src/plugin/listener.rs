//! The plugin's listening socket and the connections it accepts: a unix socket in
//! `PLUGIN_UNIX_SOCKET_DIR` (or the temp folder), removed when dropped, else TCP on 127.0.0.1
//! within Terraform's port range; each connection through TLS when AutoMTLS is on. A connection
//! whose TLS handshake fails (say, a client with another certificate) never reaches gRPC.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::handshake::{ListenAddress, PluginEnv};

pub enum Listener {
    Unix { listener: UnixListener, path: PathBuf },
    Tcp(TcpListener),
}

impl Listener {
    /// Binds a unix socket, falling back to TCP where one cannot be made (for instance a socket
    /// folder whose path is too long for a socket address).
    pub async fn bind(env: &PluginEnv) -> io::Result<Listener> {
        let dir = env.socket_dir.clone().unwrap_or_else(std::env::temp_dir);
        match bind_unix(&dir) {
            Ok(listener) => Ok(listener),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "cannot listen on a unix socket; using TCP");
                bind_tcp(env).await
            }
        }
    }

    pub fn address(&self) -> io::Result<ListenAddress> {
        Ok(match self {
            Listener::Unix { path, .. } => ListenAddress::Unix(path.clone()),
            Listener::Tcp(listener) => ListenAddress::Tcp(listener.local_addr()?),
        })
    }

    async fn accept(&self) -> io::Result<Connection> {
        Ok(match self {
            Listener::Unix { listener, .. } => Connection(Box::new(listener.accept().await?.0)),
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Connection(Box::new(stream))
            }
        })
    }

    /// Accepts connections until the returned stream is dropped, completing TLS handshakes (when
    /// `tls` is set) off the accept loop so one slow or hostile client holds up no other.
    pub fn incoming(self, tls: Option<TlsAcceptor>) -> ReceiverStream<io::Result<Connection>> {
        let (sender, receiver) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                let connection = tokio::select! {
                    accepted = self.accept() => accepted,
                    () = sender.closed() => return,
                };
                let connection = match connection {
                    Ok(connection) => connection,
                    Err(error) => {
                        // Say, out of file descriptors: pause rather than spin on the error.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let sender = sender.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let ready = match tls {
                        None => connection,
                        Some(acceptor) => match acceptor.accept(connection).await {
                            Ok(stream) => Connection(Box::new(stream)),
                            Err(error) => {
                                tracing::warn!(%error, "refused a connection: TLS handshake failed");
                                return;
                            }
                        },
                    };
                    let _ = sender.send(Ok(ready)).await;
                });
            }
        });
        ReceiverStream::new(receiver)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn bind_unix(dir: &Path) -> io::Result<Listener> {
    let mut last_error = None;
    for attempt in 0..8u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!("plugin{}{:08x}", std::process::id(), nanos.wrapping_add(attempt)));
        match UnixListener::bind(&path) {
            Ok(listener) => return Ok(Listener::Unix { listener, path }),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free socket name")))
}

async fn bind_tcp(env: &PluginEnv) -> io::Result<Listener> {
    for port in env.ports.clone() {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return Ok(Listener::Tcp(listener));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!("no free port in {}..={}", env.ports.start(), env.ports.end()),
    ))
}

/// Any accepted byte stream, plain or TLS, as tonic takes it.
pub struct Connection(Box<dyn Stream>);

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

impl tonic::transport::server::Connected for Connection {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(socket_dir: Option<PathBuf>) -> PluginEnv {
        PluginEnv { client_cert_pem: None, socket_dir, ports: 10000..=25000 }
    }

    #[tokio::test]
    async fn unix_socket_in_the_given_folder_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let listener = Listener::bind(&env(Some(dir.path().to_path_buf()))).await.unwrap();
        let ListenAddress::Unix(path) = listener.address().unwrap() else { panic!("expected a unix socket") };
        assert!(path.starts_with(dir.path()) && path.exists());
        drop(listener);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn falls_back_to_tcp_in_the_port_range_without_a_usable_socket_folder() {
        let missing = PathBuf::from("/nonexistent-folder-for-plugin-sockets");
        let listener = Listener::bind(&env(Some(missing))).await.unwrap();
        let ListenAddress::Tcp(address) = listener.address().unwrap() else { panic!("expected TCP") };
        assert!(address.ip().is_loopback());
        assert!((10000..=25000).contains(&address.port()));
    }
}
