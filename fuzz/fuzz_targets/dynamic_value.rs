//! DynamicValue decoding, msgpack and JSON, as Terraform's bytes reach it: it must never panic,
//! and whatever it accepts must encode and decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_ncloud::protocol::value::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = Value::from_msgpack(data) {
        let again = Value::from_msgpack(&value.to_msgpack()).expect("our own encoding decodes");
        assert_eq!(Value::from_msgpack(&again.to_msgpack()).unwrap(), again, "encoding is stable");
    }
    if let Ok(value) = Value::from_json(data) {
        Value::from_msgpack(&value.to_msgpack()).expect("our own encoding decodes");
    }
});
