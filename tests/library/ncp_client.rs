//! The DataForest client on the wire: certificates are always verified, answers are read only up
//! to 1 MiB, each attempt is bounded by the request time-out and signed afresh, and redirects are
//! never followed, so signed headers reach no other host.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dataforest_sim::{App, Fault, Simulator};
use terraform_provider_ncloud::ncp::budget::RequestRate;
use terraform_provider_ncloud::ncp::{
    ApiError, CallError, ClientOptions, Credentials, DataForestClient, Endpoint, NetworkEnv, RetryPolicy,
    SecretKey,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(endpoint: &str, options: ClientOptions) -> DataForestClient {
    let credentials = Credentials { access_key: "ak".into(), secret_key: SecretKey::new("sk") };
    let budget = Arc::new(options.budget());
    DataForestClient::new(
        Endpoint::parse(endpoint).unwrap(),
        credentials,
        options,
        &NetworkEnv::default(),
        budget,
    )
    .unwrap()
}

async fn simulator(id: &str, faults: Vec<Fault>) -> (Simulator, String) {
    let simulator = Simulator::new("ak", "sk");
    simulator.put_app(App::running(id));
    simulator.fail_kills(id, faults);
    let address = simulator.spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
    (simulator, format!("http://{address}"))
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_once_and_not_retried() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = acceptor.accept(stream).await;
        }
    });
    let result = client(&format!("https://localhost:{port}"), ClientOptions::default()).kill("A1").await;
    let Err(CallError { error: ApiError::Certificate { reason }, attempts: 1, .. }) = result else {
        panic!("expected one refused certificate, got {result:?}")
    };
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
}

#[tokio::test]
async fn answers_over_one_mebibyte_are_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let body = vec![b'x'; 2 << 20];
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    let result = client(&format!("http://{address}"), ClientOptions::default()).kill("A1").await;
    let Err(CallError { error, attempts: 1, .. }) = result else { panic!("{result:?}") };
    assert!(error.to_string().contains("larger than 1 MiB"), "{error}");
    assert!(error.to_string().len() < 400);
}

#[tokio::test]
async fn the_request_timeout_bounds_each_attempt() {
    let (simulator, endpoint) = simulator("A1", vec![Fault::Hang, Fault::Hang]).await;
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy { max_retries: 1 },
        ceiling: None,
    };
    let started = Instant::now();
    let result = client(&endpoint, options).kill("A1").await;
    assert!(
        matches!(
            &result,
            Err(CallError {
                error: ApiError::Transport { timed_out: true, connected: true, .. },
                attempts: 2,
                earlier_attempt_uncertain: true
            })
        ),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(simulator.kill_calls("A1"), 2);
}

#[tokio::test]
async fn every_attempt_is_signed_afresh() {
    let (simulator, endpoint) = simulator("A1", vec![Fault::Status(503)]).await;
    let outcome = client(&endpoint, ClientOptions::default()).kill("A1").await.unwrap();
    assert_eq!(outcome.id, "A1");
    let signed: Vec<u64> = simulator.calls().iter().filter_map(|call| call.signed_ms).collect();
    assert_eq!(signed.len(), 2);
    assert!(signed[1] > signed[0], "the retry carries a newer timestamp: {signed:?}");
}

#[tokio::test]
async fn throttled_attempts_do_not_count_against_max_retries() {
    let (throttling, endpoint) = simulator("A1", vec![Fault::Status(429), Fault::Status(429)]).await;
    let options = ClientOptions { retry: RetryPolicy { max_retries: 0 }, ..ClientOptions::default() };
    let outcome = client(&endpoint, options).kill("A1").await.unwrap();
    assert_eq!((outcome.id.as_str(), outcome.attempts), ("A1", 3));
    assert_eq!(throttling.kill_calls("A1"), 3);
    // A server error still counts: with no retry allowed, it fails at once.
    let (_, endpoint) = simulator("B2", vec![Fault::Status(503)]).await;
    let options = ClientOptions { retry: RetryPolicy { max_retries: 0 }, ..ClientOptions::default() };
    let failed = client(&endpoint, options).kill("B2").await.unwrap_err();
    assert_eq!(failed.attempts, 1);
}

#[tokio::test]
async fn the_configured_ceiling_bounds_the_calls_per_second() {
    let (_, endpoint) = simulator("A1", Vec::new()).await;
    let options = ClientOptions { ceiling: Some(RequestRate::per_second(4.0)), ..ClientOptions::default() };
    let client = client(&endpoint, options);
    // One call at once, then 4 a second: 8 calls take 1.75 s.
    let started = Instant::now();
    for _ in 0..8 {
        client.get_detail("A1").await.unwrap();
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1700), "8 calls at 4 a second took {took:?}");
}

#[tokio::test]
async fn redirects_are_refused_and_nothing_reaches_their_target() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The target a redirect names: it counts every connection made to it.
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_address = target.local_addr().unwrap();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reached);
    tokio::spawn(async move {
        while let Ok((_stream, _)) = target.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    for status in [301, 302, 303, 307, 308] {
        let redirecting = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = redirecting.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = redirecting.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 {status} Moved\r\nlocation: http://{target_address}/api/v2/aiapps/kill\r\n\
                     content-length: 0\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        let result = client(&format!("http://{address}"), ClientOptions::default()).kill("A1").await;
        let Err(CallError { error, attempts: 1, .. }) = &result else { panic!("{status}: {result:?}") };
        assert_eq!(
            error,
            &ApiError::Redirect { status, location: format!("http://{target_address}") },
            "{status}"
        );
        let message = error.to_string();
        assert!(message.contains(&format!("HTTP {status}")) && message.contains(&target_address.to_string()));
        assert_eq!(requests.load(Ordering::SeqCst), 1, "{status}: a redirect is not retried");
    }
    // A sleep, since it proves a negative: a connection to the target would be counted by now.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the redirect target was contacted");
}
