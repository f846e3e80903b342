//! Terraform values on the wire (DynamicValue): decoding msgpack or JSON, encoding msgpack,
//! unknown values (msgpack extension 0, or the refined extension 12 of Terraform 1.6+), numbers
//! as integer, float or decimal string, and null. Values are untyped here; [`conform`] shapes one
//! to a schema type where a type matters.

use std::collections::BTreeMap;

use rmpv::Value as Rmpv;
use serde_json::Value as Json;

use super::schema::Type;

/// Decoding refuses anything nested deeper than this, so a hostile value cannot exhaust the stack.
const MAX_DEPTH: usize = 64;
const RMPV_DEPTH_BUDGET: usize = 2 * (MAX_DEPTH + 2);

/// A Terraform value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// Not known until apply.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    /// List, set or tuple.
    List(Vec<Value>),
    /// Object or map.
    Object(BTreeMap<String, Value>),
}

/// A cty number as it came: exact integer, exact float, or a decimal string for the rest.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
    Decimal(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Msgpack(String),
    Json(String),
    TooDeep,
    TrailingBytes,
    NonStringKey,
    /// A value's shape does not fit the schema type; the path says where.
    Type {
        path: Vec<String>,
        expected: String,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Msgpack(e) => write!(f, "invalid msgpack: {e}"),
            DecodeError::Json(e) => write!(f, "invalid JSON: {e}"),
            DecodeError::TooDeep => write!(f, "value nested deeper than {MAX_DEPTH} levels"),
            DecodeError::TrailingBytes => f.write_str("bytes left over after the value"),
            DecodeError::NonStringKey => f.write_str("a map key is not a string"),
            DecodeError::Type { path, expected } if path.is_empty() => write!(f, "expected {expected}"),
            DecodeError::Type { path, expected } => write!(f, "at {}: expected {expected}", path.join(".")),
        }
    }
}

impl std::error::Error for DecodeError {}

impl Value {
    /// An object from its attributes.
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Object(fields.into_iter().map(|(name, value)| (name.to_string(), value)).collect())
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "an unknown value",
            Value::Bool(_) => "a bool",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
        }
    }

    /// True when this value or anything inside it is unknown.
    pub fn has_unknowns(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(items) => items.iter().any(Value::has_unknowns),
            Value::Object(fields) => fields.values().any(Value::has_unknowns),
            _ => false,
        }
    }

    /// An attribute of an object; `Null` when absent or when this is not an object.
    pub fn get(&self, name: &str) -> &Value {
        match self {
            Value::Object(fields) => fields.get(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Decodes msgpack; extension values of any type are unknowns.
    pub fn from_msgpack(mut bytes: &[u8]) -> Result<Value, DecodeError> {
        let raw =
            // rmpv spends up to two units of its budget per nesting level; the exact limit, the
            // same for msgpack and JSON, is applied below.
            rmpv::decode::read_value_with_max_depth(&mut bytes, RMPV_DEPTH_BUDGET).map_err(|e| match e {
                rmpv::decode::Error::DepthLimitExceeded => DecodeError::TooDeep,
                other => DecodeError::Msgpack(other.to_string()),
            })?;
        if !bytes.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        from_msgpack_value(raw, 0)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Value, DecodeError> {
        // serde_json refuses input nested deeper than 128 levels.
        let raw: Json = serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
        from_json_value(raw, 0)
    }

    pub fn to_msgpack(&self) -> Vec<u8> {
        let mut out = Writer::default();
        self.write_msgpack(&mut out);
        out.into_bytes()
    }

    /// Writes this value as msgpack.
    pub fn write_msgpack(&self, out: &mut Writer) {
        match self {
            Value::Null => out.null(),
            Value::Unknown => out.unknown(),
            Value::Bool(b) => out.bool(*b),
            Value::Number(number) => out.number(number),
            Value::String(s) => out.string(s),
            Value::List(items) => {
                out.list(items.len());
                items.iter().for_each(|item| item.write_msgpack(out));
            }
            Value::Object(fields) => {
                out.object(fields.len());
                for (key, value) in fields {
                    out.string(key);
                    value.write_msgpack(out);
                }
            }
        }
    }
}

/// A value encoded as msgpack, as it goes on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Msgpack(pub Vec<u8>);

/// Writes msgpack straight into a buffer, a value at a time: a [`Value`] and the typed objects
/// ([`CtyValue::write_msgpack`](super::object::CtyValue::write_msgpack)) write themselves
/// through it, so a large value goes out without a tree of it being built first. A list or an
/// object is its header ([`Writer::list`], [`Writer::object`]) followed by its elements, or by
/// its attributes' names and values.
#[derive(Default)]
pub struct Writer {
    bytes: Vec<u8>,
    /// When only measuring: how many bytes were written; `bytes` then holds nothing between
    /// writes, and a string's text is counted, not copied.
    measured: Option<usize>,
}

/// Ends each write: writing into a `Vec` cannot fail.
fn written<T, E: std::fmt::Debug>(result: Result<T, E>) {
    result.expect("writing to a Vec cannot fail");
}

/// The length of a string, list or object as msgpack counts it: nothing a provider holds in
/// memory is 4 GiB long or has 4 billion elements.
fn length(len: usize) -> u32 {
    u32::try_from(len).expect("no string, list or object reaches 4 billion")
}

impl Writer {
    /// A writer that keeps nothing and counts the bytes: a first pass over a large value, so
    /// that its buffer is allocated once, at its size ([`Writer::with_capacity`]).
    pub fn measuring() -> Writer {
        Writer { bytes: Vec::new(), measured: Some(0) }
    }

    pub fn with_capacity(capacity: usize) -> Writer {
        Writer { bytes: Vec::with_capacity(capacity), measured: None }
    }

    /// How many bytes were written.
    pub fn byte_count(&self) -> usize {
        self.measured.unwrap_or(self.bytes.len())
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Ends a write: a measuring writer counts its bytes and lets them go.
    fn done(&mut self) {
        if let Some(measured) = &mut self.measured {
            *measured += self.bytes.len();
            self.bytes.clear();
        }
    }

    pub fn null(&mut self) {
        written(rmp::encode::write_nil(&mut self.bytes));
        self.done();
    }

    /// cty's encoding of a wholly unknown value: extension 0 with a single zero byte.
    pub fn unknown(&mut self) {
        written(rmp::encode::write_ext_meta(&mut self.bytes, 1, 0));
        self.bytes.push(0);
        self.done();
    }

    pub fn bool(&mut self, b: bool) {
        written(rmp::encode::write_bool(&mut self.bytes, b));
        self.done();
    }

    /// An integral float goes out as an integer, as cty does; a decimal as its string.
    pub fn number(&mut self, number: &Number) {
        match number {
            Number::Int(i) => written(rmp::encode::write_sint(&mut self.bytes, *i)),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                written(rmp::encode::write_sint(&mut self.bytes, *f as i64))
            }
            Number::Float(f) => written(rmp::encode::write_f64(&mut self.bytes, *f)),
            Number::Decimal(s) => return self.string(s),
        }
        self.done();
    }

    pub fn string(&mut self, s: &str) {
        written(rmp::encode::write_str_len(&mut self.bytes, length(s.len())));
        match &mut self.measured {
            // Counted, not copied: a string may be as long as the whole value.
            Some(measured) => *measured += s.len(),
            None => self.bytes.extend_from_slice(s.as_bytes()),
        }
        self.done();
    }

    /// A list (or set, or tuple) of `len` elements, written next.
    pub fn list(&mut self, len: usize) {
        written(rmp::encode::write_array_len(&mut self.bytes, length(len)));
        self.done();
    }

    /// An object (or map) of `len` attributes, each written next as its name and its value.
    pub fn object(&mut self, len: usize) {
        written(rmp::encode::write_map_len(&mut self.bytes, length(len)));
        self.done();
    }
}

fn from_msgpack_value(raw: Rmpv, depth: usize) -> Result<Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    Ok(match raw {
        Rmpv::Nil => Value::Null,
        Rmpv::Boolean(b) => Value::Bool(b),
        Rmpv::Integer(i) => match i.as_i64() {
            Some(i) => Value::Number(Number::Int(i)),
            None => Value::Number(Number::Decimal(i.to_string())),
        },
        Rmpv::F32(f) => finite(f64::from(f))?,
        Rmpv::F64(f) => finite(f)?,
        Rmpv::String(s) => match s.into_str() {
            Some(s) => Value::String(s),
            None => return Err(DecodeError::Msgpack("a string is not UTF-8".into())),
        },
        Rmpv::Binary(_) => return Err(DecodeError::Msgpack("unexpected binary value".into())),
        Rmpv::Array(items) => Value::List(
            items.into_iter().map(|item| from_msgpack_value(item, depth + 1)).collect::<Result<_, _>>()?,
        ),
        Rmpv::Map(entries) => {
            let mut fields = BTreeMap::new();
            for (key, value) in entries {
                let Rmpv::String(key) = key else {
                    return Err(DecodeError::NonStringKey);
                };
                let key = key.into_str().ok_or(DecodeError::NonStringKey)?;
                fields.insert(key, from_msgpack_value(value, depth + 1)?);
            }
            Value::Object(fields)
        }
        Rmpv::Ext(_, _) => Value::Unknown,
    })
}

/// cty numbers are finite: NaN and the infinities are not values Terraform can send.
fn finite(f: f64) -> Result<Value, DecodeError> {
    if f.is_finite() {
        Ok(Value::Number(Number::Float(f)))
    } else {
        Err(DecodeError::Msgpack(format!("{f} is not a number Terraform can send")))
    }
}

fn from_json_value(raw: Json, depth: usize) -> Result<Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    Ok(match raw {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => Value::Number(match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Number::Int(i),
            (None, Some(f)) if n.is_f64() => Number::Float(f),
            _ => Number::Decimal(n.to_string()),
        }),
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::List(
            items.into_iter().map(|item| from_json_value(item, depth + 1)).collect::<Result<_, _>>()?,
        ),
        Json::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| Ok((key, from_json_value(value, depth + 1)?)))
                .collect::<Result<_, DecodeError>>()?,
        ),
    })
}

/// Shapes a value to a schema type: an object gets every attribute of its type (null when
/// absent) and loses attributes its type lacks, so state written by an older schema encodes under
/// the current one. Primitive values must already be of the right kind.
pub fn conform(value: Value, ty: &Type) -> Result<Value, DecodeError> {
    conform_at(value, ty, &mut Vec::new())
}

fn conform_at(value: Value, ty: &Type, path: &mut Vec<String>) -> Result<Value, DecodeError> {
    let mismatch = |path: &Vec<String>| DecodeError::Type { path: path.clone(), expected: ty.to_string() };
    match (ty, value) {
        (_, value @ (Value::Null | Value::Unknown)) => Ok(value),
        (Type::String, value @ Value::String(_))
        | (Type::Bool, value @ Value::Bool(_))
        | (Type::Number, value @ Value::Number(_)) => Ok(value),
        (Type::List(element) | Type::Set(element), Value::List(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                path.push(index.to_string());
                out.push(conform_at(item, element, path)?);
                path.pop();
            }
            Ok(Value::List(out))
        }
        (Type::Map(element), Value::Object(fields)) => {
            let mut out = BTreeMap::new();
            for (key, item) in fields {
                path.push(key.clone());
                out.insert(key, conform_at(item, element, path)?);
                path.pop();
            }
            Ok(Value::Object(out))
        }
        (Type::Object(attributes), Value::Object(mut fields)) => {
            let mut out = BTreeMap::new();
            for (name, attribute_type) in attributes {
                path.push(name.clone());
                let item = fields.remove(name).unwrap_or(Value::Null);
                out.insert(name.clone(), conform_at(item, attribute_type, path)?);
                path.pop();
            }
            Ok(Value::Object(out))
        }
        _ => Err(mismatch(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(fields: &[(&str, Value)]) -> Value {
        Value::object(fields.iter().cloned())
    }

    #[test]
    fn unknown_is_fixext1_type_zero() {
        assert_eq!(Value::Unknown.to_msgpack(), vec![0xd4, 0x00, 0x00]);
        assert_eq!(Value::from_msgpack(&[0xd4, 0x00, 0x00]), Ok(Value::Unknown));
    }

    #[test]
    fn refined_unknown_extension_12_is_unknown() {
        // A refined unknown known to be non-null: ext8 of type 12 wrapping the map {1: true}.
        assert_eq!(Value::from_msgpack(&[0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3]), Ok(Value::Unknown));
        // Inside an object, as Terraform sends it for a computed attribute.
        let bytes = [0x81, 0xa2, b'i', b'd', 0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(Value::from_msgpack(&bytes), Ok(object(&[("id", Value::Unknown)])));
    }

    /// A measuring writer counts what a writing one writes, whatever a header's width.
    #[test]
    fn measuring_counts_the_bytes_written() {
        let mut values: Vec<Value> = [0, 31, 32, 255, 256, 65_535, 65_536]
            .iter()
            .map(|length| Value::String("x".repeat(*length)))
            .collect();
        values.push(Value::Number(Number::Decimal("0.1000000000000000000001".into())));
        values.push(Value::Number(Number::Int(-70_000)));
        values.push(Value::List((0..70_000).map(|_| Value::Unknown).collect()));
        values.push(Value::object([("a", Value::Bool(true)), ("b", Value::Null)]));
        for value in values {
            let mut measuring = Writer::measuring();
            value.write_msgpack(&mut measuring);
            assert_eq!(measuring.byte_count(), value.to_msgpack().len(), "{}", value.kind());
        }
    }

    #[test]
    fn null_is_nil() {
        assert_eq!(Value::Null.to_msgpack(), vec![0xc0]);
        assert_eq!(Value::from_msgpack(&[0xc0]), Ok(Value::Null));
    }

    #[test]
    fn numbers_as_int_float_and_decimal_string() {
        assert_eq!(Value::from_msgpack(&[0x2a]), Ok(Value::Number(Number::Int(42))));
        assert_eq!(Value::from_msgpack(&[0xd0, 0xff]), Ok(Value::Number(Number::Int(-1))));
        let mut float = vec![0xcb];
        float.extend_from_slice(&1.5f64.to_be_bytes());
        assert_eq!(Value::from_msgpack(&float), Ok(Value::Number(Number::Float(1.5))));
        assert_eq!(Value::Number(Number::Float(1.5)).to_msgpack(), float);
        // u64 beyond i64 keeps its digits.
        let big = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            Value::from_msgpack(&big),
            Ok(Value::Number(Number::Decimal("18446744073709551615".into())))
        );
        // Terraform sends numbers it cannot represent exactly as decimal strings.
        let decimal = Value::Number(Number::Decimal("0.1000000000000000000001".into()));
        let Value::Number(Number::Decimal(digits)) = &decimal else { unreachable!() };
        assert_eq!(decimal.to_msgpack(), [&[0xa0 + digits.len() as u8][..], digits.as_bytes()].concat());
        // An integral float goes out as an integer, as cty does.
        assert_eq!(Value::Number(Number::Float(3.0)).to_msgpack(), vec![0x03]);
    }

    #[test]
    fn object_round_trips() {
        let value = object(&[
            ("app_id", Value::String("abc".into())),
            ("triggers", object(&[("k", Value::String("v".into()))])),
            ("success", Value::Bool(true)),
            ("id", Value::Unknown),
            ("list", Value::List(vec![Value::Null, Value::Number(Number::Int(-7))])),
        ]);
        assert_eq!(Value::from_msgpack(&value.to_msgpack()), Ok(value));
    }

    #[test]
    fn json_decoding() {
        let value = Value::from_json(br#"{"a":"x","n":1,"f":0.5,"b":false,"z":null,"l":[1]}"#).unwrap();
        assert_eq!(value.get("a"), &Value::String("x".into()));
        assert_eq!(value.get("n"), &Value::Number(Number::Int(1)));
        assert_eq!(value.get("f"), &Value::Number(Number::Float(0.5)));
        assert_eq!(value.get("b"), &Value::Bool(false));
        assert_eq!(value.get("z"), &Value::Null);
        assert_eq!(value.get("missing"), &Value::Null);
        assert!(matches!(Value::from_json(b"{"), Err(DecodeError::Json(_))));
    }

    /// Found by fuzzing `dynamic_value`: a float32 NaN decoded, and NaN never equals itself.
    #[test]
    fn nan_and_infinities_are_refused() {
        assert!(Value::from_msgpack(&[0xca, 0xff, 0xff, 0x00, 0x35]).is_err());
        let mut infinity = vec![0xcb];
        infinity.extend_from_slice(&f64::INFINITY.to_be_bytes());
        assert!(Value::from_msgpack(&infinity).is_err());
    }

    /// Found by fuzzing `dynamic_value`: JSON nested 34 deep decoded, but its msgpack did not,
    /// because the two decoders counted depth differently.
    #[test]
    fn json_and_msgpack_share_one_depth_limit() {
        use base64::Engine as _;
        let found = base64::engine::general_purpose::STANDARD
            .decode("WwlbWwlbW1tbCVtbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dICA=")
            .unwrap();
        let value = Value::from_json(&found).unwrap();
        assert_eq!(Value::from_msgpack(&value.to_msgpack()), Ok(value));
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
            let json = Value::from_json(nested(depth).as_bytes());
            let msgpack = Value::from_msgpack(&[vec![0x91; depth - 1], vec![0x90]].concat());
            assert_eq!(json.is_ok(), depth <= MAX_DEPTH, "JSON at depth {depth}");
            assert_eq!(msgpack.is_ok(), depth <= MAX_DEPTH, "msgpack at depth {depth}");
        }
    }

    #[test]
    fn malformed_msgpack_is_an_error_not_a_panic() {
        assert!(Value::from_msgpack(&[]).is_err());
        assert!(Value::from_msgpack(&[0xdc, 0xff, 0xff]).is_err());
        assert_eq!(Value::from_msgpack(&[0xc0, 0xc0]), Err(DecodeError::TrailingBytes));
        assert_eq!(Value::from_msgpack(&[0x81, 0x01, 0xc0]), Err(DecodeError::NonStringKey));
        let deep = vec![0x91; 10_000];
        assert_eq!(Value::from_msgpack(&deep), Err(DecodeError::TooDeep));
    }

    #[test]
    fn conform_fills_and_drops_attributes() {
        let ty = Type::Object(BTreeMap::from([
            ("a".to_string(), Type::String),
            ("m".to_string(), Type::Map(Box::new(Type::String))),
        ]));
        let value = object(&[("a", Value::String("x".into())), ("old", Value::Bool(true))]);
        assert_eq!(conform(value, &ty), Ok(object(&[("a", Value::String("x".into())), ("m", Value::Null)])));
        let wrong = object(&[("m", object(&[("k", Value::Bool(true))]))]);
        assert_eq!(
            conform(wrong, &ty),
            Err(DecodeError::Type { path: vec!["m".into(), "k".into()], expected: "string".into() })
        );
    }
}
