//! A `getList` answer costs memory close to its own size, whatever it holds: the 64 MiB worst
//! cases (tiny entries, far more than the cap allows; realistic entries, as many as fit; one
//! name as long as the answer) decode within 256 MiB, the answer included, and realistic ones
//! within three times the answer, also once the data source has written them back for
//! Terraform. Measured by counting the decoding thread's allocations, or, for the data source's
//! whole read, those of every thread of the provider's runtime. And the decoding runs off the
//! async worker, which stays free for the time-out and Terraform's stop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Mutex, PoisonError};

use terraform_provider_ncloud::ncp::apps::{MAX_LISTED_APPS, decode_list};

/// Counts each thread's live and peak heap bytes, so that tests running beside this one do not
/// count; each block as glibc's malloc holds it ([`held`]).
pub struct Counting;

/// What a block of `size` bytes takes in glibc's malloc: its size and an 8-byte header, rounded
/// up to 16, at least 32. Many small blocks (a JSON tree's) cost far more than they ask for.
fn held(size: usize) -> isize {
    ((size + 8 + 15) & !15).max(32) as isize
}

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Whether this thread's heap also counts in the shared tally: the threads of one runtime.
    static SHARED: Cell<bool> = const { Cell::new(false) };
}

/// The heap the threads marked [`SHARED`] hold together, and the most they held at once.
static SHARED_LIVE: AtomicIsize = AtomicIsize::new(0);
static SHARED_PEAK: AtomicIsize = AtomicIsize::new(0);

fn count(change: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + change);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
    if SHARED.try_with(Cell::get).unwrap_or(false) {
        let live = SHARED_LIVE.fetch_add(change, Ordering::Relaxed) + change;
        SHARED_PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to the system allocator unchanged; the counting only reads sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            count(held(layout.size()));
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: a pointer this allocator gave, with its layout.
        unsafe { System.dealloc(pointer, layout) };
        count(-held(layout.size()));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: a pointer this allocator gave, with its layout.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            // Both blocks may live at once while the data moves.
            count(held(new_size));
            count(-held(layout.size()));
        }
        moved
    }
}

/// The most heap this thread held at once while running `work`, above what it held before.
fn peak_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let result = work();
    (result, (PEAK.with(Cell::get) - before).max(0) as usize)
}

const MIB: usize = 1 << 20;
/// Just under the client's 64 MiB limit on a `getList` answer.
const BODY: usize = 63 * MIB;

/// A successful `getList` answer of `entry` repeated until it is about `size` bytes.
fn answer_of(entry: impl Fn(usize) -> String, size: usize) -> Vec<u8> {
    let mut body = String::with_capacity(size + 1024);
    body.push_str(r#"{"success":true,"contents":["#);
    let mut n = 0;
    while body.len() < size - 1024 {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&entry(n));
        n += 1;
    }
    body.push_str("]}");
    body.into_bytes()
}

fn realistic(n: usize) -> String {
    format!(
        r#"{{"id":"Z{n:021}","appId":"application_1740466147000_{n:06}","name":"env-42-etl-nightly-{n}","state":"RUNNING","finalStatus":"UNDEFINED","accountName":"analytics-prod","queueName":"gpu","workspaceName":"team-data","startedAt":"2025-02-25T15:49:07+09:00","finishedAt":"","disabled":false,"user":"etl-bot","progress":42.5,"trackingUrl":"https://rm.example.internal/proxy/application_1740466147000_{n:06}/"}}"#
    )
}

#[test]
fn a_listing_of_tiny_entries_past_the_cap_is_refused_within_bounded_memory() {
    // Millions of entries, all one app, then all different: past the cap on entries either way.
    let all_one = |_: usize| r#"{"id":"a"}"#.to_string();
    let all_different = |n: usize| format!(r#"{{"id":"a{n}"}}"#);
    let shapes: [(&str, &dyn Fn(usize) -> String); 2] =
        [("tiny", &all_one), ("tiny distinct", &all_different)];
    for (shape, entry) in shapes {
        let body = answer_of(entry, BODY);
        let (result, peak) = peak_during(|| decode_list(200, &body));
        let total = body.len() + peak;
        eprintln!(
            "{shape} entries: answer {} MiB, decoding {} MiB, in all {} MiB",
            body.len() / MIB,
            peak / MIB,
            total / MIB
        );
        let refused = result.unwrap_err();
        assert!(refused.to_string().contains(&format!("more than {MAX_LISTED_APPS} apps")), "{refused}");
        assert!(total <= 256 * MIB, "{} MiB", total / MIB);
    }
}

/// An entry with every field the provider keeps, each short: as many apps as fit, with the most
/// text kept per byte of answer.
fn dense(n: usize) -> String {
    format!(
        r#"{{"id":"D{n:017}","appId":"a{n:017}","name":"n{n:017}","state":"s{n:017}","finalStatus":"f{n:017}","accountName":"c{n:017}","queueName":"q{n:017}","workspaceName":"w{n:017}","startedAt":"t{n:017}","finishedAt":"e{n:017}"}}"#
    )
}

#[test]
fn a_listing_of_the_densest_entries_the_cap_admits_stays_within_256_mib() {
    // Just under the cap on entries (they are too short to fill 63 MiB before it).
    let body = answer_of(dense, (MAX_LISTED_APPS - 100) * (dense(0).len() + 1));
    let (result, peak) = peak_during(|| decode_list(200, &body));
    let total = body.len() + peak;
    let listing = result.unwrap();
    eprintln!(
        "dense entries: {} apps, answer {} MiB, decoding {} MiB, in all {} MiB",
        listing.apps.len(),
        body.len() / MIB,
        peak / MIB,
        total / MIB
    );
    assert!(listing.apps.len() > MAX_LISTED_APPS - 200);
    assert!(total <= 256 * MIB, "{} MiB", total / MIB);
    let count = listing.apps.len();
    drop(listing);

    // Each entry names an account of its own: with an account of no name, none is told apart
    // as another's, and every app is selected (with a warning that says so).
    let (result, warnings, peak) = read_by_the_data_source(body, "");
    eprintln!(
        "dense entries, read by the data source: result {} MiB, the provider's peak {} MiB",
        result / MIB,
        peak / MIB
    );
    assert!(result > count * 250, "{result} bytes for {count} apps");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(peak <= 256 * MIB, "{} MiB", peak / MIB);
}

#[test]
fn a_listing_of_realistic_entries_takes_at_most_three_times_its_size() {
    // As many as the cap allows fit in about 90 MiB: fill 63 MiB with them.
    let body = answer_of(realistic, BODY);
    let (result, peak) = peak_during(|| decode_list(200, &body));
    let total = body.len() + peak;
    let listing = result.unwrap();
    eprintln!(
        "realistic entries: {} apps, answer {} MiB, decoding {} MiB, in all {} MiB",
        listing.apps.len(),
        body.len() / MIB,
        peak / MIB,
        total / MIB
    );
    assert!(listing.apps.len() > 150_000);
    assert_eq!(listing.apps[7].name(), "env-42-etl-nightly-7");
    assert!(total <= 3 * body.len(), "{} MiB for a {} MiB answer", total / MIB, body.len() / MIB);
    assert!(total <= 256 * MIB);
}

/// Serves `body` as the `getList` answer, and one account, `acc1`, named `account_name`, on
/// loopback from a thread of its own (whose heap is not counted); its address.
fn serve_listing(body: Vec<u8>, account_name: &str) -> std::net::SocketAddr {
    use std::io::{Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accounts =
        format!(r#"{{"success":true,"contents":[{{"accountId":"acc1","accountName":"{account_name}"}}]}}"#);
    std::thread::spawn(move || {
        // The two calls of a read, one connection each (every answer closes its connection).
        for stream in listener.incoming().take(2) {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // The head, and the small JSON body after it, read whole before answering.
            let whole = |request: &[u8]| {
                let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                request.len() >= end + 4 + length
            };
            while !whole(&request) {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let answer: &[u8] = if request.starts_with(b"POST /api/v2/accounts/getList") {
                accounts.as_bytes()
            } else {
                &body
            };
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", answer.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(answer);
        }
    });
    address
}

/// `ncloud_dataforest_aiapps` read in this process as Terraform asks for it (`ReadDataSource`
/// of the provider, configured for a loopback server answering `body`), every app selected; its
/// result's bytes, its warnings' summaries, and the most heap the provider's threads held at once
/// while reading it. The account is named `account_name`.
fn read_by_the_data_source(body: Vec<u8>, account_name: &str) -> (usize, Vec<String>, usize) {
    use terraform_provider_ncloud::protocol::provider::{DataRead, Provider};
    use terraform_provider_ncloud::protocol::value::{Msgpack, Value};
    use terraform_provider_ncloud::provider::NcloudProvider;
    use terraform_provider_ncloud::provider::config::Environment;

    // One read at a time: the tally is shared by every counted runtime, and tests run in parallel.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let address = serve_listing(body, account_name);
    // Every thread of this runtime counts in the shared tally, the blocking ones included.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(|| SHARED.set(true))
        .build()
        .unwrap();
    let provider = NcloudProvider::new(Environment { var: Box::new(|_| None), home: None });
    let text = |s: &str| Value::String(s.to_string());
    let settings = Value::object([
        ("endpoint", text(&format!("http://{address}"))),
        ("access_key", text("ak")),
        ("secret_key", text("sk")),
    ]);
    assert!(provider.configure(&settings).is_empty());
    let query = Value::object([("account_id", text("acc1"))]);
    let before = SHARED_LIVE.load(Ordering::Relaxed);
    SHARED_PEAK.store(before, Ordering::Relaxed);
    let read = runtime.block_on(async {
        // Spawned, so that the whole read runs on the runtime's counted threads.
        let read = tokio::spawn(async move {
            provider.read_data_source("ncloud_dataforest_aiapps", &query, false).await
        });
        read.await.unwrap()
    });
    let peak = (SHARED_PEAK.load(Ordering::Relaxed) - before).max(0) as usize;
    let Ok(DataRead::Read { state: Msgpack(state), warnings }) = read else { panic!("{read:?}") };
    (state.len(), warnings.into_iter().map(|warning| warning.summary).collect(), peak)
}

#[test]
fn a_realistic_listing_read_by_the_data_source_and_written_back_takes_well_under_three_times_its_size() {
    let body = answer_of(realistic, BODY);
    let size = body.len();
    let apps = decode_list(200, &body).unwrap().apps.len();
    let (result, warnings, peak) = read_by_the_data_source(body, "analytics-prod");
    assert!(warnings.is_empty(), "{warnings:?}");
    eprintln!(
        "realistic entries, read by the data source: {apps} apps, answer {} MiB, result {} MiB, the provider's \
         peak {} MiB",
        size / MIB,
        result / MIB,
        peak / MIB,
    );
    // Each app's eleven names and values are in the result.
    assert!(result > apps * 250, "{result} bytes for {apps} apps");
    assert!(peak <= 3 * size, "{} MiB for a {} MiB answer", peak / MIB, size / MIB);
    // Where it stands (106 MiB): the answer and the listing decoded from it, the most a read
    // holds; the result is written once the answer is gone, and holds less. An object built
    // per app first comes to 177 MiB, a value tree of the result to 356 MiB.
    assert!(peak <= 2 * size, "{} MiB: more than twice the answer", peak / MIB);
}

/// One app whose name fills the answer: the longest text the cap admits, read and returned
/// without another copy of it beside the listing's and the result's.
#[test]
fn a_listing_of_one_app_with_a_name_as_long_as_the_answer_stays_within_256_mib() {
    let name = "h".repeat(BODY - 1024);
    let body = format!(
        r#"{{"success":true,"contents":[{{"id":"A1","accountName":"analytics-prod","state":"RUNNING","name":"{name}"}}]}}"#
    )
    .into_bytes();
    drop(name);
    let size = body.len();
    let (result, warnings, peak) = read_by_the_data_source(body, "analytics-prod");
    eprintln!(
        "one app of a {} MiB name, read by the data source: result {} MiB, the provider's peak {} MiB",
        size / MIB,
        result / MIB,
        peak / MIB
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(result > size - 4096, "{result} bytes");
    assert!(peak <= 256 * MIB, "{} MiB", peak / MIB);
    // Two copies of the name at most (126 MiB): the answer and the listing, then the listing and
    // the result. Measuring the result by writing it into a scratch buffer made three (189 MiB),
    // and so did an object per app, its texts copied, written from.
    assert!(peak <= 2 * size + 4 * MIB, "{} MiB for a {} MiB answer", peak / MIB, size / MIB);
}

#[test]
fn decoding_a_large_listing_leaves_the_async_worker_free() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use terraform_provider_ncloud::ncp::{
        ClientOptions, Credentials, DataForestClient, Endpoint, NetworkEnv, SecretKey,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let body = answer_of(realistic, BODY);
    // How long decoding takes here: the bound below means something only if it is long.
    let started = Instant::now();
    let _ = decode_list(200, &body);
    let decoding = started.elapsed();
    assert!(decoding >= Duration::from_millis(300), "decoding took only {decoding:?}: nothing to tell");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let body = Arc::new(body);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = Arc::clone(&body);
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request).await;
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        // A ticker on the runtime's one thread: decoding on that thread would hold it up for as
        // long as the decoding takes, and with it the time-out and Terraform's stop.
        let longest = Arc::new(Mutex::new(Duration::ZERO));
        let ticks = Arc::clone(&longest);
        let ticker = tokio::spawn(async move {
            loop {
                let before = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                let gap = before.elapsed();
                let mut longest = ticks.lock().unwrap();
                *longest = (*longest).max(gap);
            }
        });
        let credentials = Credentials { access_key: "ak".into(), secret_key: SecretKey::new("sk") };
        let endpoint = Endpoint::parse(&format!("http://{address}")).unwrap();
        let options = ClientOptions::default();
        let budget = Arc::new(options.budget());
        let client =
            DataForestClient::new(endpoint, credentials, options, &NetworkEnv::default(), budget).unwrap();
        let listing = client.list_apps("acc1").await.unwrap();
        // Let the ticker see the last pause before it stops.
        tokio::time::sleep(Duration::from_millis(50)).await;
        ticker.abort();
        assert!(listing.apps.len() > 150_000);
        let longest = *longest.lock().unwrap();
        eprintln!("decoding {decoding:?}; the worker's longest pause while listing {longest:?}");
        assert!(
            longest < Duration::from_millis(250),
            "the worker paused {longest:?} (decoding takes {decoding:?})"
        );
    });
}
