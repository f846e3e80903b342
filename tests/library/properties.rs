//! Properties of the decoders that read untrusted bytes, over generated inputs: the value codec
//! round-trips and never panics; the kill-answer decoder never panics and accepts nothing but a
//! 2xx `"success": true` answer for the id asked.

use std::collections::BTreeMap;

use proptest::prelude::*;
use terraform_provider_ncloud::ncp::dataforest::decode_kill;
use terraform_provider_ncloud::protocol::value::{Number, Value};

/// Values in the form the codec writes them: integers as integers, floats only when not integral.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(Value::Unknown),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Number(Number::Int(i))),
        (-1e12f64..1e12)
            .prop_filter("not integral", |f| f.fract() != 0.0)
            .prop_map(|f| Value::Number(Number::Float(f))),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            prop::collection::btree_map(".{0,12}", inner, 0..8).prop_map(Value::Object),
        ]
    })
}

fn kill_body() -> impl Strategy<Value = serde_json::Value> {
    let scalar = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        prop_oneof![Just("A1".to_string()), ".{0,10}"].prop_map(serde_json::Value::from),
    ];
    let field = prop_oneof![Just("id"), Just("success"), Just("message"), Just("error"), Just("other")];
    prop::collection::btree_map(field, scalar, 0..5).prop_map(|fields| {
        serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    })
}

proptest! {
    #[test]
    fn msgpack_round_trips(value in value()) {
        prop_assert_eq!(Value::from_msgpack(&value.to_msgpack()), Ok(value));
    }

    #[test]
    fn json_objects_decode_like_their_msgpack(fields in prop::collection::btree_map("[a-z]{1,8}", ".{0,20}", 0..6)) {
        let json = serde_json::to_vec(&fields).unwrap();
        let expected = Value::Object(fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<BTreeMap<_, _>>());
        prop_assert_eq!(Value::from_json(&json), Ok(expected));
    }

    #[test]
    fn msgpack_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(value) = Value::from_msgpack(&bytes) {
            prop_assert!(Value::from_msgpack(&value.to_msgpack()).is_ok());
        }
    }

    #[test]
    fn kill_answers_are_success_only_when_they_say_so(status in 100u16..600, body in kill_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        match decode_kill(status, &bytes, "A1") {
            Ok(outcome) => {
                prop_assert!((200..300).contains(&status));
                prop_assert_eq!(&body["success"], &serde_json::Value::Bool(true));
                prop_assert_eq!(&body["id"], &serde_json::Value::from("A1"));
                prop_assert!(body.get("error").is_none());
                prop_assert_eq!(outcome.id, "A1");
            }
            Err(error) => prop_assert!(error.to_string().len() < 1024),
        }
    }

    #[test]
    fn kill_decoding_never_panics(status in any::<u16>(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_kill(status, &bytes, "A1");
    }
}
