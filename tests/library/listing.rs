//! A `getList` answer costs memory close to its own size, whatever it holds: the 64 MiB worst
//! cases (tiny entries, far more than the cap allows; realistic entries, as many as fit) decode
//! within 256 MiB, the answer included, and realistic ones within three times the answer, also
//! once the data source has written them back for Terraform. Measured by counting this thread's
//! allocations while it decodes (and selects and writes). And the decoding runs off the
//! async worker, which stays free for the time-out and Terraform's stop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

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
}

fn count(change: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + change);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
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
    let body = answer_of(|_| r#"{"id":"a"}"#.to_string(), BODY);
    let (result, peak) = peak_during(|| decode_list(200, &body));
    let total = body.len() + peak;
    eprintln!(
        "tiny entries: answer {} MiB, decoding {} MiB, in all {} MiB",
        body.len() / MIB,
        peak / MIB,
        total / MIB
    );
    // Millions of entries, all one app: past the cap on entries all the same.
    let refused = result.unwrap_err();
    assert!(refused.to_string().contains(&format!("more than {MAX_LISTED_APPS} apps")), "{refused}");
    assert!(total <= 256 * MIB, "{} MiB", total / MIB);

    let body = answer_of(|n| format!(r#"{{"id":"a{n}"}}"#), BODY);
    let (result, peak) = peak_during(|| decode_list(200, &body));
    let total = body.len() + peak;
    eprintln!(
        "tiny distinct entries: answer {} MiB, decoding {} MiB, in all {} MiB",
        body.len() / MIB,
        peak / MIB,
        total / MIB
    );
    let refused = result.unwrap_err();
    assert!(refused.to_string().contains(&format!("more than {MAX_LISTED_APPS} apps")), "{refused}");
    assert!(total <= 256 * MIB, "{} MiB", total / MIB);
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
    drop(listing);

    let (count, result, peak) = read_by_the_data_source(&body);
    let total = body.len() + peak;
    eprintln!(
        "dense entries, read by the data source: {count} apps, result {} MiB, reading and writing {} MiB, in all \
         {} MiB",
        result / MIB,
        peak / MIB,
        total / MIB
    );
    assert!(total <= 256 * MIB, "{} MiB", total / MIB);
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

/// What `ncloud_dataforest_aiapps` takes over `body`, every app selected: decoded, selected, and
/// written back as Terraform gets it (each app an object of eleven attributes, and the ids). The
/// apps, the result's size, and the most heap held at once, above the answer.
fn read_by_the_data_source(body: &[u8]) -> (usize, usize, usize) {
    use std::time::SystemTime;

    use terraform_provider_ncloud::protocol::object::{Field, Flat, Object};
    use terraform_provider_ncloud::provider::data_sources::aiapps::{AppList, Found};
    use terraform_provider_ncloud::provider::selector::{Owner, Selector, UnsetStates};

    let selector = Selector { account_id: Field::Known("acc".into()), ..Selector::default() };
    let selection = selector.selection(UnsetStates::Any).unwrap();
    let ((count, state), peak) = peak_during(|| {
        let listing = decode_list(200, body).unwrap();
        let selected = selection.select(listing.apps, &Owner::default(), SystemTime::now());
        let count = selected.apps.len();
        let ids = selected.apps.iter().map(|app| Field::Known(app.id().to_string())).collect();
        let found = AppList {
            selector: Flat(selector.clone()),
            apps: Field::Known(Found(selected.apps)),
            ids: Field::Known(ids),
            ..AppList::default()
        };
        (count, found.to_msgpack())
    });
    // Each app's eleven names and values are in it.
    assert!(state.0.len() > count * 250, "{} bytes for {count} apps", state.0.len());
    (count, state.0.len(), peak)
}

#[test]
fn a_realistic_listing_read_by_the_data_source_and_written_back_takes_well_under_three_times_its_size() {
    let body = answer_of(realistic, BODY);
    let (count, result, peak) = read_by_the_data_source(&body);
    let total = body.len() + peak;
    eprintln!(
        "realistic entries, read by the data source: {count} apps, answer {} MiB, result {} MiB, reading and \
         writing {} MiB, in all {} MiB",
        body.len() / MIB,
        result / MIB,
        peak / MIB,
        total / MIB
    );
    assert!(count > 150_000);
    assert!(total <= 3 * body.len(), "{} MiB for a {} MiB answer", total / MIB, body.len() / MIB);
    // Where it stands (154 MiB): the apps selected are moved out of the listing, not copied
    // (copied, 178 MiB), and the result is written straight, not built as a tree (419 MiB).
    assert!(total <= 13 * body.len() / 5, "{} MiB: more than 2.6 times the answer", total / MIB);
}

#[test]
fn decoding_a_large_listing_leaves_the_async_worker_free() {
    use std::sync::{Arc, Mutex};
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
        let client =
            DataForestClient::new(endpoint, credentials, ClientOptions::default(), &NetworkEnv::default())
                .unwrap();
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
