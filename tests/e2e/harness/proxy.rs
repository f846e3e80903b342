//! A small HTTP CONNECT proxy on loopback, as corporate networks put in front of the internet: it
//! records each CONNECT (the target and any `Proxy-Authorization`), reaches only the names it
//! was given (each mapped to a loopback address, so no test asks a DNS server anything), and
//! then relays bytes both ways.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A CONNECT request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub target: String,
    pub authorization: Option<String>,
}

pub struct ConnectProxy {
    pub address: SocketAddr,
    seen: Arc<Mutex<Vec<Connect>>>,
    _runtime: tokio::runtime::Runtime,
}

impl ConnectProxy {
    /// A proxy that maps each `host:port` of `routes` to a loopback address.
    pub fn start(routes: BTreeMap<String, SocketAddr>) -> ConnectProxy {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        let (record, routes) = (Arc::clone(&seen), Arc::new(routes));
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (record, routes) = (Arc::clone(&record), Arc::clone(&routes));
                tokio::spawn(async move {
                    let _ = relay(client, &record, &routes).await;
                });
            }
        });
        ConnectProxy { address, seen, _runtime: runtime }
    }

    pub fn connects(&self) -> Vec<Connect> {
        self.seen.lock().unwrap().clone()
    }
}

async fn relay(
    client: tokio::net::TcpStream,
    record: &Mutex<Vec<Connect>>,
    routes: &BTreeMap<String, SocketAddr>,
) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    let mut request_line = String::new();
    client.read_line(&mut request_line).await?;
    let mut authorization = None;
    loop {
        let mut header = String::new();
        client.read_line(&mut header).await?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("proxy-authorization")
        {
            authorization = Some(value.trim().to_string());
        }
    }
    let target = match request_line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_string(),
        _ => {
            client
                .get_mut()
                .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
    };
    record.lock().unwrap().push(Connect { target: target.clone(), authorization });
    let Some(upstream) = routes.get(&target) else {
        client.get_mut().write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await?;
        return Ok(());
    };
    let mut upstream = tokio::net::TcpStream::connect(upstream).await?;
    client.get_mut().write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
    tokio::io::copy_bidirectional(client.get_mut(), &mut upstream).await?;
    Ok(())
}
