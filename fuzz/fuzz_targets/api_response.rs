//! Decoding DataForest's answer to a kill: it must never panic, never accept anything but a 2xx
//! `"success": true` answer for the id asked, and keep its messages short.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_ncloud::ncp::dataforest::decode_kill;

fuzz_target!(|input: (u16, &[u8])| {
    let (status, body) = input;
    match decode_kill(status, body, "A1") {
        Ok(outcome) => {
            assert!((200..300).contains(&status));
            assert_eq!(outcome.id, "A1");
            let json: serde_json::Value = serde_json::from_slice(body).expect("accepted bodies are JSON");
            assert_eq!(json["success"], true);
        }
        Err(error) => assert!(error.to_string().len() < 2048, "message of {} bytes", error.to_string().len()),
    }
});
