//! Typed objects: a provider declares each configuration, state or nested block as a Rust struct
//! with [`object!`](crate::object), writing each attribute once, as a field with its schema
//! beside it. The struct then decodes itself from a [`Value`] once (an error names the attribute
//! path of a value of the wrong kind), encodes itself back, and yields its schema's attributes and
//! blocks. Values that may be null or not yet known are [`Field`]s, and so are the elements of
//! maps, lists and sets ([`SetOf`]); a nested block is a [`Block`]; a struct whose attributes
//! several objects share is written into each as a [`Flat`].

use std::collections::BTreeMap;
use std::ops::Deref;

use super::diagnostic::PathStep;
use super::schema::{Attribute, NestedBlock, Presence, Type};
use super::value::{Msgpack, Number, Value, Writer};

/// A value that may be null, or not known until apply (in a configuration or a plan).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T: CtyValue> Field<T> {
    /// Decodes a value that may be null or unknown; `path` says where it stands.
    pub fn decode(value: &Value, path: &mut Vec<PathStep>) -> Result<Field<T>, ShapeError> {
        Ok(match value {
            Value::Null => Field::Null,
            Value::Unknown => Field::Unknown,
            value => Field::Known(T::decode_value(value, path)?),
        })
    }

    pub fn encode(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(value) => value.encode_value(),
        }
    }

    /// Writes the value as msgpack, as [`Field::encode`] would encode it.
    pub fn write_msgpack(&self, out: &mut Writer) {
        match self {
            Field::Null => out.null(),
            Field::Unknown => out.unknown(),
            Field::Known(value) => value.write_msgpack(out),
        }
    }
}

impl<T> Field<T> {
    /// The value when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(value) => Some(value),
            Field::Null | Field::Unknown => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    /// `Known` for `Some`, `Null` for `None`.
    pub fn from_option(value: Option<T>) -> Field<T> {
        value.map_or(Field::Null, Field::Known)
    }
}

/// A nested block written at most once: absent (null), unknown, or present with its object, which
/// is a struct declared with [`object!`](crate::object).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block<T>(pub Field<T>);

impl<T> Deref for Block<T> {
    type Target = Field<T>;

    fn deref(&self) -> &Field<T> {
        &self.0
    }
}

/// The attributes of another struct, written into this one as if declared here: for attributes
/// that several objects share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flat<T>(pub T);

impl<T> Deref for Flat<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A set: its elements, each of which may be null or unknown in a configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetOf<T>(pub Vec<Field<T>>);

/// Why a value does not fit the struct it should decode into: where, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    pub path: Vec<PathStep>,
    pub expected: &'static str,
    pub got: &'static str,
}

/// How an attribute of an [`object!`](crate::object) struct is declared: its presence, its
/// description, and whether it is sensitive.
#[derive(Clone, Copy, Debug)]
pub struct AttributeSpec {
    presence: Presence,
    description: &'static str,
    sensitive: bool,
}

impl AttributeSpec {
    pub fn sensitive(mut self) -> AttributeSpec {
        self.sensitive = true;
        self
    }
}

/// How a nested block of an [`object!`](crate::object) struct is declared.
#[derive(Clone, Copy, Debug)]
pub struct BlockSpec {
    description: &'static str,
}

/// How a [`Flat`] field is declared: its struct's attributes stand in this one's.
#[derive(Clone, Copy, Debug)]
pub struct FlattenSpec;

/// An attribute the configuration must set.
pub fn required(description: &'static str) -> AttributeSpec {
    AttributeSpec { presence: Presence::Required, description, sensitive: false }
}

/// An attribute the configuration may set.
pub fn optional(description: &'static str) -> AttributeSpec {
    AttributeSpec { presence: Presence::Optional, description, sensitive: false }
}

/// An attribute only the provider sets.
pub fn computed(description: &'static str) -> AttributeSpec {
    AttributeSpec { presence: Presence::Computed, description, sensitive: false }
}

/// A nested block written at most once.
pub fn block(description: &'static str) -> BlockSpec {
    BlockSpec { description }
}

/// Another struct's attributes, written into this one.
pub fn flatten() -> FlattenSpec {
    FlattenSpec
}

/// A schema member: an attribute or a nested block.
#[derive(Clone, Debug)]
pub enum Member {
    Attribute(Attribute),
    Block(NestedBlock),
}

/// Splits members into a schema's attributes and blocks.
pub fn split(members: Vec<Member>) -> (Vec<Attribute>, Vec<NestedBlock>) {
    let mut attributes = Vec::new();
    let mut blocks = Vec::new();
    for member in members {
        match member {
            Member::Attribute(attribute) => attributes.push(attribute),
            Member::Block(block) => blocks.push(block),
        }
    }
    (attributes, blocks)
}

/// The attribute name of a struct field: the field's name, without the `r#` of a keyword such as
/// `r#type`.
pub const fn attribute_name(field: &'static str) -> &'static str {
    match field.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => field,
        },
        _ => field,
    }
}

/// A Rust type for a cty type: its type, and how a known value of it decodes and encodes.
pub trait CtyValue: Sized {
    fn cty_type() -> Type;
    /// Decodes a value that is neither null nor unknown; `path` says where it stands.
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError>;
    fn encode_value(&self) -> Value;
    /// Writes the value as msgpack, as [`CtyValue::encode_value`] would encode it, without
    /// building the [`Value`]: a large list goes out one element at a time.
    fn write_msgpack(&self, out: &mut Writer);
}

/// A struct declared with [`object!`](crate::object).
pub trait Object: Sized {
    fn members() -> Vec<Member>;
    /// Decodes an object value standing at `path`; an attribute it lacks counts as null.
    fn decode_object(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError>;
    fn to_value(&self) -> Value;
    /// How many attributes and blocks the object has: the length of its msgpack map.
    fn member_count() -> usize;
    /// Writes each attribute and block as its name and its value, as [`Object::to_value`]
    /// would encode them.
    fn write_members(&self, out: &mut Writer);

    /// Decodes a whole value, such as a configuration or a state.
    fn from_value(value: &Value) -> Result<Self, ShapeError> {
        Self::decode_object(value, &mut Vec::new())
    }

    /// Writes the object as msgpack.
    fn write_object(&self, out: &mut Writer) {
        out.object(Self::member_count());
        self.write_members(out);
    }

    /// The object encoded as msgpack, as [`Object::to_value`] would give it, without building
    /// the [`Value`]: for a large result. It is written twice, measured and then into a buffer
    /// of its size, so that a large result is never copied to a larger buffer as it grows.
    fn to_msgpack(&self) -> Msgpack {
        let mut measure = Writer::measuring();
        self.write_object(&mut measure);
        let mut out = Writer::with_capacity(measure.byte_count());
        self.write_object(&mut out);
        Msgpack(out.into_bytes())
    }
}

/// What a struct field can be: a [`Field`] (an attribute, declared with [`required`],
/// [`optional`] or [`computed`]), a [`Block`] (declared with [`block`]) or a [`Flat`] (declared
/// with [`flatten`]); the declaration must fit the type, or the struct does not compile.
pub trait MemberType: Sized {
    type Spec;
    /// The schema members this field stands for, under its attribute `name`.
    fn members(name: &'static str, spec: Self::Spec) -> Vec<Member>;
    /// Decodes the field from its object's `fields`; `path` is the object's.
    fn decode_member(
        name: &'static str,
        fields: &BTreeMap<String, Value>,
        path: &mut Vec<PathStep>,
    ) -> Result<Self, ShapeError>;
    /// Encodes the field into its object's `fields`.
    fn encode_member(&self, name: &'static str, fields: &mut BTreeMap<String, Value>);
    /// How many attributes and blocks the field writes into its object.
    fn member_count() -> usize;
    /// Writes the field into its object's msgpack map, as names and values.
    fn write_member(&self, name: &'static str, out: &mut Writer);
}

/// Decodes `fields[name]` (null when absent) with `decode`, its path extended by the name.
fn decode_named<T>(
    name: &'static str,
    fields: &BTreeMap<String, Value>,
    path: &mut Vec<PathStep>,
    decode: impl FnOnce(&Value, &mut Vec<PathStep>) -> Result<T, ShapeError>,
) -> Result<T, ShapeError> {
    path.push(PathStep::Attribute(name.to_string()));
    let decoded = decode(fields.get(name).unwrap_or(&Value::Null), path)?;
    path.pop();
    Ok(decoded)
}

impl<T: CtyValue> MemberType for Field<T> {
    type Spec = AttributeSpec;

    fn members(name: &'static str, spec: AttributeSpec) -> Vec<Member> {
        vec![Member::Attribute(Attribute {
            name,
            ty: T::cty_type(),
            presence: spec.presence,
            sensitive: spec.sensitive,
            description: spec.description,
        })]
    }

    fn decode_member(
        name: &'static str,
        fields: &BTreeMap<String, Value>,
        path: &mut Vec<PathStep>,
    ) -> Result<Self, ShapeError> {
        decode_named(name, fields, path, Field::decode)
    }

    fn encode_member(&self, name: &'static str, fields: &mut BTreeMap<String, Value>) {
        fields.insert(name.to_string(), self.encode());
    }

    fn member_count() -> usize {
        1
    }

    fn write_member(&self, name: &'static str, out: &mut Writer) {
        out.string(name);
        self.write_msgpack(out);
    }
}

impl<T: Object> MemberType for Block<T> {
    type Spec = BlockSpec;

    fn members(name: &'static str, spec: BlockSpec) -> Vec<Member> {
        let (attributes, blocks) = split(T::members());
        vec![Member::Block(NestedBlock { name, description: spec.description, attributes, blocks })]
    }

    fn decode_member(
        name: &'static str,
        fields: &BTreeMap<String, Value>,
        path: &mut Vec<PathStep>,
    ) -> Result<Self, ShapeError> {
        decode_named(name, fields, path, |value, path| {
            Ok(Block(match value {
                Value::Null => Field::Null,
                Value::Unknown => Field::Unknown,
                value => Field::Known(T::decode_object(value, path)?),
            }))
        })
    }

    fn encode_member(&self, name: &'static str, fields: &mut BTreeMap<String, Value>) {
        let value = match &self.0 {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(value) => value.to_value(),
        };
        fields.insert(name.to_string(), value);
    }

    fn member_count() -> usize {
        1
    }

    fn write_member(&self, name: &'static str, out: &mut Writer) {
        out.string(name);
        match &self.0 {
            Field::Null => out.null(),
            Field::Unknown => out.unknown(),
            Field::Known(value) => value.write_object(out),
        }
    }
}

impl<T: Object> MemberType for Flat<T> {
    type Spec = FlattenSpec;

    fn members(_: &'static str, _: FlattenSpec) -> Vec<Member> {
        T::members()
    }

    fn decode_member(
        _: &'static str,
        fields: &BTreeMap<String, Value>,
        path: &mut Vec<PathStep>,
    ) -> Result<Self, ShapeError> {
        // The same object, read for the attributes the inner struct declares.
        T::decode_object(&Value::Object(fields.clone()), path).map(Flat)
    }

    fn encode_member(&self, _: &'static str, fields: &mut BTreeMap<String, Value>) {
        if let Value::Object(inner) = self.0.to_value() {
            fields.extend(inner);
        }
    }

    fn member_count() -> usize {
        T::member_count()
    }

    fn write_member(&self, _: &'static str, out: &mut Writer) {
        self.0.write_members(out);
    }
}

/// The fields of an object value; `expected` names what it should be, for the error.
pub fn object_fields<'a>(
    value: &'a Value,
    path: &[PathStep],
    expected: &'static str,
) -> Result<&'a BTreeMap<String, Value>, ShapeError> {
    match value {
        Value::Object(fields) => Ok(fields),
        other => Err(ShapeError { path: path.to_vec(), expected, got: other.kind() }),
    }
}

/// Whether `name` is declared sensitive among `members`, for a struct's `Debug`.
pub fn is_sensitive(members: &[Member], name: &str) -> bool {
    members.iter().any(|member| matches!(member, Member::Attribute(a) if a.name == name && a.sensitive))
}

fn wrong(path: &[PathStep], expected: &'static str, value: &Value) -> ShapeError {
    ShapeError { path: path.to_vec(), expected, got: value.kind() }
}

macro_rules! primitive {
    ($rust:ty, $cty:expr, $variant:ident, $write:expr, $expected:literal) => {
        impl CtyValue for $rust {
            fn cty_type() -> Type {
                $cty
            }
            fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
                match value {
                    Value::$variant(inner) => Ok(inner.clone()),
                    other => Err(wrong(path, $expected, other)),
                }
            }
            fn encode_value(&self) -> Value {
                Value::$variant(self.clone())
            }
            fn write_msgpack(&self, out: &mut Writer) {
                let write: fn(&mut Writer, &$rust) = $write;
                write(out, self);
            }
        }
    };
}

primitive!(String, Type::String, String, |out, s| out.string(s), "a string");
primitive!(bool, Type::Bool, Bool, |out, b| out.bool(*b), "a bool");

/// A number, as Terraform sends one: an integer or a float when either holds it exactly, else
/// its decimal digits as a string (such as `"1.1"`), which msgpack alone cannot tell from text.
impl CtyValue for Number {
    fn cty_type() -> Type {
        Type::Number
    }
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        match value {
            Value::Number(number) => Ok(number.clone()),
            Value::String(digits) if is_decimal(digits) => Ok(Number::Decimal(digits.clone())),
            other => Err(wrong(path, "a number", other)),
        }
    }
    fn encode_value(&self) -> Value {
        Value::Number(self.clone())
    }
    fn write_msgpack(&self, out: &mut Writer) {
        out.number(self);
    }
}

/// Whether `text` is a number written in decimal, with an exponent or not, however large (never
/// `inf` or `NaN`, which Rust's parser would take).
fn is_decimal(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || b".+-eE".contains(&b))
        && text.parse::<f64>().is_ok()
}

impl<T: CtyValue> CtyValue for BTreeMap<String, Field<T>> {
    fn cty_type() -> Type {
        Type::Map(Box::new(T::cty_type()))
    }
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        let mut out = BTreeMap::new();
        for (key, item) in object_fields(value, path, "a map")? {
            path.push(PathStep::Key(key.clone()));
            out.insert(key.clone(), Field::<T>::decode(item, path)?);
            path.pop();
        }
        Ok(out)
    }
    fn encode_value(&self) -> Value {
        Value::Object(self.iter().map(|(key, item)| (key.clone(), item.encode())).collect())
    }
    fn write_msgpack(&self, out: &mut Writer) {
        out.object(self.len());
        for (key, item) in self {
            out.string(key);
            item.write_msgpack(out);
        }
    }
}

impl<T: CtyValue> CtyValue for Vec<Field<T>> {
    fn cty_type() -> Type {
        Type::List(Box::new(T::cty_type()))
    }
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        let Value::List(items) = value else { return Err(wrong(path, "a list", value)) };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            path.push(PathStep::Index(index as i64));
            out.push(Field::<T>::decode(item, path)?);
            path.pop();
        }
        Ok(out)
    }
    fn encode_value(&self) -> Value {
        Value::List(self.iter().map(Field::encode).collect())
    }
    fn write_msgpack(&self, out: &mut Writer) {
        out.list(self.len());
        self.iter().for_each(|item| item.write_msgpack(out));
    }
}

impl<T: CtyValue> CtyValue for SetOf<T> {
    fn cty_type() -> Type {
        Type::Set(Box::new(T::cty_type()))
    }
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        Vec::<Field<T>>::decode_value(value, path).map(SetOf)
    }
    fn encode_value(&self) -> Value {
        self.0.encode_value()
    }
    fn write_msgpack(&self, out: &mut Writer) {
        self.0.write_msgpack(out);
    }
}

/// Declares a struct of typed attributes and nested blocks, each written once with its schema:
///
/// ```text
/// object! {
///     /// The resource's configuration and state.
///     pub struct Job {
///         app_id: Field<String> => required("The app to end."),
///         r#type: Field<String> => optional("An attribute named like a Rust keyword."),
///         timeouts: Block<Timeouts> => block("Time limits."),
///     }
/// }
/// ```
///
/// The struct gets `Clone`, `Default`, `PartialEq`, a `Debug` that hides sensitive attributes,
/// [`Object`], and [`CtyValue`] (as an object type, so a list or map can hold it). Each field
/// also gets an associated constant with the same name holding its attribute name
/// (`Job::app_id == "app_id"`, `Job::r#type == "type"`), for messages and paths; so a field
/// cannot share its name with a method of the struct.
#[macro_export]
macro_rules! object {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty => $spec:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(::core::clone::Clone, ::core::default::Default, ::core::cmp::PartialEq)]
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        // Named like the fields they name; not every struct's code names every attribute.
        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $(
                pub const $field: &'static str =
                    $crate::protocol::object::attribute_name(::core::stringify!($field));
            )*
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let members = <Self as $crate::protocol::object::Object>::members();
                let mut out = f.debug_struct(::core::stringify!($name));
                $(
                    if $crate::protocol::object::is_sensitive(&members, Self::$field) {
                        out.field(Self::$field, &"(sensitive)");
                    } else {
                        out.field(Self::$field, &self.$field);
                    }
                )*
                out.finish()
            }
        }

        impl $crate::protocol::object::Object for $name {
            fn members() -> ::std::vec::Vec<$crate::protocol::object::Member> {
                let mut members = ::std::vec::Vec::new();
                $( members.extend(<$ty as $crate::protocol::object::MemberType>::members(Self::$field, $spec)); )*
                members
            }

            fn decode_object(
                value: &$crate::protocol::value::Value,
                path: &mut ::std::vec::Vec<$crate::protocol::diagnostic::PathStep>,
            ) -> ::core::result::Result<Self, $crate::protocol::object::ShapeError> {
                let fields = $crate::protocol::object::object_fields(value, path, "an object")?;
                ::core::result::Result::Ok($name {
                    $( $field: <$ty as $crate::protocol::object::MemberType>::decode_member(Self::$field, fields, path)?, )*
                })
            }

            fn to_value(&self) -> $crate::protocol::value::Value {
                let mut fields = ::std::collections::BTreeMap::new();
                $( $crate::protocol::object::MemberType::encode_member(&self.$field, Self::$field, &mut fields); )*
                $crate::protocol::value::Value::Object(fields)
            }

            fn member_count() -> usize {
                0 $( + <$ty as $crate::protocol::object::MemberType>::member_count() )*
            }

            fn write_members(&self, out: &mut $crate::protocol::value::Writer) {
                $( $crate::protocol::object::MemberType::write_member(&self.$field, Self::$field, out); )*
            }
        }

        impl $crate::protocol::object::CtyValue for $name {
            fn cty_type() -> $crate::protocol::schema::Type {
                let (attributes, blocks) = $crate::protocol::object::split(
                    <Self as $crate::protocol::object::Object>::members(),
                );
                $crate::protocol::schema::Type::Object(
                    attributes
                        .into_iter()
                        .map(|a| (::std::string::ToString::to_string(a.name), a.ty))
                        .chain(blocks.into_iter().map(|b| (::std::string::ToString::to_string(b.name), b.object_type())))
                        .collect(),
                )
            }

            fn decode_value(
                value: &$crate::protocol::value::Value,
                path: &mut ::std::vec::Vec<$crate::protocol::diagnostic::PathStep>,
            ) -> ::core::result::Result<Self, $crate::protocol::object::ShapeError> {
                <Self as $crate::protocol::object::Object>::decode_object(value, path)
            }

            fn encode_value(&self) -> $crate::protocol::value::Value {
                <Self as $crate::protocol::object::Object>::to_value(self)
            }

            fn write_msgpack(&self, out: &mut $crate::protocol::value::Writer) {
                <Self as $crate::protocol::object::Object>::write_object(self, out);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::Schema;

    crate::object! {
        /// A block nested in a block.
        struct Inner {
            depth: Field<Number> => optional("How deep."),
        }
    }

    crate::object! {
        /// A nested block.
        struct Limits {
            create: Field<String> => optional("When to give up creating."),
            inner: Block<Inner> => block("A block inside."),
        }
    }

    crate::object! {
        /// Everything a struct can hold.
        struct Sample {
            name: Field<String> => required("A name."),
            secret: Field<String> => optional("A secret.").sensitive(),
            count: Field<Number> => optional("A number."),
            tags: Field<BTreeMap<String, Field<String>>> => optional("Tags."),
            items: Field<Vec<Field<Limits>>> => computed("A list of objects."),
            done: Field<bool> => computed("Whether it is done."),
            r#type: Field<String> => optional("Named like a keyword."),
            limits: Block<Limits> => block("Limits."),
        }
    }

    #[test]
    fn a_struct_declares_its_schema_once() {
        let (attributes, blocks) = split(Sample::members());
        let names: Vec<_> = attributes.iter().map(|a| a.name).collect();
        assert_eq!(names, ["name", "secret", "count", "tags", "items", "done", "type"]);
        assert_eq!((Sample::name, Sample::r#type), ("name", "type"));
        assert!(attributes[1].sensitive && attributes[1].presence == Presence::Optional);
        assert_eq!(attributes[0].presence, Presence::Required);
        assert_eq!(attributes[3].ty.to_json().to_string(), r#"["map","string"]"#);
        assert_eq!(
            attributes[4].ty.to_json().to_string(),
            r#"["list",["object",{"create":"string","inner":["object",{"depth":"number"}]}]]"#
        );
        assert_eq!((blocks[0].name, blocks[0].attributes[0].name), ("limits", "create"));
        assert_eq!((blocks[0].blocks[0].name, blocks[0].blocks[0].attributes[0].name), ("inner", "depth"));
        let schema = Schema { version: 0, description: "", attributes, blocks };
        assert_eq!(schema.object_type(), Sample::cty_type());
    }

    /// An object written as msgpack without its value being built, read back; its buffer was
    /// allocated once, at its size.
    fn written(object: &impl Object) -> Value {
        let Msgpack(bytes) = object.to_msgpack();
        assert_eq!(bytes.capacity(), bytes.len(), "measured first, allocated once");
        Value::from_msgpack(&bytes).unwrap()
    }

    #[test]
    fn values_decode_into_fields_and_encode_back() {
        let limits = Value::object([("create", Value::String("5m".into())), ("inner", Value::Null)]);
        let value = Value::object([
            ("name", Value::String("a".into())),
            ("secret", Value::Unknown),
            ("count", Value::Number(Number::Int(3))),
            ("tags", Value::object([("k", Value::Unknown)])),
            ("items", Value::List(vec![limits.clone(), Value::Unknown])),
            ("done", Value::Null),
            ("type", Value::String("t".into())),
            (
                "limits",
                Value::object([("create", Value::Null), ("inner", Value::object([("depth", Value::Null)]))]),
            ),
        ]);
        let sample = Sample::from_value(&value).unwrap();
        assert_eq!(sample.name, Field::Known("a".to_string()));
        assert!(sample.secret.is_unknown());
        assert_eq!(sample.tags.known().unwrap()["k"], Field::Unknown);
        let items = sample.items.known().unwrap();
        assert_eq!(items[0].known().unwrap().create, Field::Known("5m".to_string()));
        assert_eq!(items[1], Field::Unknown, "a list element may be unknown");
        assert_eq!(sample.r#type, Field::Known("t".to_string()));
        assert_eq!(sample.limits.known().unwrap().inner, Block(Field::Known(Inner { depth: Field::Null })));
        assert_eq!(sample.to_value(), value);
        assert_eq!(written(&sample), value, "written as msgpack straight, the same value");
        // An attribute the value lacks is null.
        assert_eq!(Sample::from_value(&Value::object([])).unwrap(), Sample::default());
    }

    #[test]
    fn a_number_no_float_holds_exactly_comes_as_its_digits() {
        // What Terraform sends for `count = 1.1`: the digits, as a msgpack string.
        let sent = Value::object([("count", Value::String("1.1".into()))]);
        let sample = Sample::from_value(&sent).unwrap();
        assert_eq!(sample.count, Field::Known(Number::Decimal("1.1".into())));
        assert_eq!(written(&sample).get("count"), &Value::String("1.1".into()), "and goes back the same way");
        for text in ["1e400", "-0.30000000000000004", "12.3E-2"] {
            let sample = Sample::from_value(&Value::object([("count", Value::String(text.into()))])).unwrap();
            assert_eq!(sample.count, Field::Known(Number::Decimal(text.into())), "{text}");
        }
        for text in ["", "soon", "inf", "NaN", "1.1.1", "0x10", " 1"] {
            let error = Sample::from_value(&Value::object([("count", Value::String(text.into()))]));
            assert!(error.is_err_and(|error| error.expected == "a number"), "{text:?}");
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_names_its_path() {
        let error = Sample::from_value(&Value::object([("tags", Value::object([("k", Value::Bool(true))]))]));
        assert_eq!(
            error,
            Err(ShapeError {
                path: vec![PathStep::Attribute("tags".into()), PathStep::Key("k".into())],
                expected: "a string",
                got: "a bool",
            })
        );
        let nested =
            Sample::from_value(&Value::object([("limits", Value::object([("create", Value::Bool(false))]))]));
        assert_eq!(
            nested.unwrap_err().path,
            [PathStep::Attribute("limits".into()), PathStep::Attribute("create".into())]
        );
        assert_eq!(Sample::from_value(&Value::Bool(true)).unwrap_err().expected, "an object");
    }

    crate::object! {
        /// Attributes several objects share.
        struct Shared {
            account: Field<String> => required("An account."),
            states: Field<SetOf<String>> => optional("A set."),
        }
    }

    crate::object! {
        /// An object with the shared attributes written into it.
        struct WithShared {
            shared: Flat<Shared> => flatten(),
            own: Field<bool> => computed("Its own."),
        }
    }

    #[test]
    fn flattened_attributes_stand_in_the_object_and_sets_may_hold_unknowns() {
        let (attributes, _) = split(WithShared::members());
        let names: Vec<_> = attributes.iter().map(|a| (a.name, a.ty.to_json().to_string())).collect();
        assert_eq!(
            names,
            [
                ("account", r#""string""#.to_string()),
                ("states", r#"["set","string"]"#.into()),
                ("own", r#""bool""#.into())
            ]
        );
        let value = Value::object([
            ("account", Value::String("a".into())),
            ("states", Value::List(vec![Value::String("RUNNING".into()), Value::Unknown])),
            ("own", Value::Bool(true)),
        ]);
        let decoded = WithShared::from_value(&value).unwrap();
        assert_eq!(decoded.shared.account, Field::Known("a".to_string()));
        assert_eq!(decoded.shared.states.known().unwrap().0[1], Field::Unknown);
        assert_eq!(decoded.to_value(), value);
        assert_eq!(written(&decoded), value, "written as msgpack straight, the same value");
        let wrong = WithShared::from_value(&Value::object([("account", Value::Bool(true))])).unwrap_err();
        assert_eq!(wrong.path, [PathStep::Attribute("account".into())]);
    }

    #[test]
    fn debug_hides_sensitive_attributes() {
        let sample = Sample {
            secret: Field::Known("hunter2".into()),
            name: Field::Known("a".into()),
            ..Sample::default()
        };
        let shown = format!("{sample:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("(sensitive)") && shown.contains("\"a\""),
            "{shown}"
        );
    }
}
