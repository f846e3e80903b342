//! Typed objects: a provider declares each configuration, state or nested block as a Rust struct
//! with [`object!`](crate::object), writing each attribute once, as a field with its schema
//! beside it. The struct then decodes itself from a [`Value`] once (an error names the attribute
//! path of a value of the wrong kind), encodes itself back, and yields its schema's attributes and
//! blocks. Values that may be null or not yet known are [`Field`]s; a nested block is a [`Block`].

use std::collections::BTreeMap;

use super::diagnostic::PathStep;
use super::schema::{Attribute, NestedBlock, Presence, Type};
use super::value::{Number, Value};

/// A value that may be null, or not known until apply (in a configuration or a plan).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
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

/// A nested block written at most once: absent (null), unknown, or present with its object.
pub type Block<T> = Field<T>;

/// Why a value does not fit the struct it should decode into: where, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    pub path: Vec<PathStep>,
    pub expected: &'static str,
    pub got: &'static str,
}

/// How a field of an [`object!`](crate::object) struct is declared: an attribute's presence, or a
/// nested block; a description; whether it is sensitive.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    kind: SpecKind,
    description: &'static str,
    sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SpecKind {
    Attribute(Presence),
    Block,
}

impl Spec {
    pub fn sensitive(mut self) -> Spec {
        self.sensitive = true;
        self
    }
}

/// An attribute the configuration must set.
pub fn required(description: &'static str) -> Spec {
    Spec { kind: SpecKind::Attribute(Presence::Required), description, sensitive: false }
}

/// An attribute the configuration may set.
pub fn optional(description: &'static str) -> Spec {
    Spec { kind: SpecKind::Attribute(Presence::Optional), description, sensitive: false }
}

/// An attribute only the provider sets.
pub fn computed(description: &'static str) -> Spec {
    Spec { kind: SpecKind::Attribute(Presence::Computed), description, sensitive: false }
}

/// A nested block written at most once.
pub fn block(description: &'static str) -> Spec {
    Spec { kind: SpecKind::Block, description, sensitive: false }
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

/// A Rust type for a cty type: its type, and how a known value of it decodes and encodes.
pub trait CtyValue: Sized {
    fn cty_type() -> Type;
    /// The attributes of a struct, which can also be a nested block; `None` for other types.
    fn block_attributes() -> Option<Vec<Attribute>> {
        None
    }
    /// Decodes a value that is neither null nor unknown; `path` says where it stands.
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError>;
    fn encode_value(&self) -> Value;
}

/// A struct declared with [`object!`](crate::object).
pub trait Object: Sized {
    fn members() -> Vec<Member>;
    /// Decodes an object value standing at `path`; an attribute it lacks counts as null.
    fn decode_object(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError>;
    fn to_value(&self) -> Value;

    /// Decodes a whole value, such as a configuration or a state.
    fn from_value(value: &Value) -> Result<Self, ShapeError> {
        Self::decode_object(value, &mut Vec::new())
    }
}

/// What a struct field can be: a [`Field`] of a cty value (an attribute), or of a struct (a nested
/// block, when declared with [`block`]).
pub trait MemberType: Sized {
    fn member(name: &'static str, spec: Spec) -> Member;
    fn decode_member(value: Option<&Value>, path: &mut Vec<PathStep>) -> Result<Self, ShapeError>;
    fn encode_member(&self) -> Value;
}

impl<T: CtyValue> MemberType for Field<T> {
    fn member(name: &'static str, spec: Spec) -> Member {
        match spec.kind {
            SpecKind::Attribute(presence) => Member::Attribute(Attribute {
                name,
                ty: T::cty_type(),
                presence,
                sensitive: spec.sensitive,
                description: spec.description,
            }),
            SpecKind::Block => Member::Block(NestedBlock {
                name,
                description: spec.description,
                // Declaring a block of something other than a struct is a mistake the schema tests catch.
                attributes: T::block_attributes()
                    .expect("a block field holds a struct declared with object!"),
            }),
        }
    }

    fn decode_member(value: Option<&Value>, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        Ok(match value.unwrap_or(&Value::Null) {
            Value::Null => Field::Null,
            Value::Unknown => Field::Unknown,
            value => Field::Known(T::decode_value(value, path)?),
        })
    }

    fn encode_member(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(value) => value.encode_value(),
        }
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

fn wrong(path: &[PathStep], expected: &'static str, value: &Value) -> ShapeError {
    ShapeError { path: path.to_vec(), expected, got: value.kind() }
}

macro_rules! primitive {
    ($rust:ty, $cty:expr, $variant:ident, $expected:literal) => {
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
        }
    };
}

primitive!(String, Type::String, String, "a string");
primitive!(bool, Type::Bool, Bool, "a bool");
primitive!(Number, Type::Number, Number, "a number");

impl<T: CtyValue> CtyValue for BTreeMap<String, Field<T>> {
    fn cty_type() -> Type {
        Type::Map(Box::new(T::cty_type()))
    }
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        let mut out = BTreeMap::new();
        for (key, item) in object_fields(value, path, "a map")? {
            path.push(PathStep::Key(key.clone()));
            out.insert(key.clone(), Field::<T>::decode_member(Some(item), path)?);
            path.pop();
        }
        Ok(out)
    }
    fn encode_value(&self) -> Value {
        Value::Object(self.iter().map(|(key, item)| (key.clone(), item.encode_member())).collect())
    }
}

impl<T: CtyValue> CtyValue for Vec<T> {
    fn cty_type() -> Type {
        Type::List(Box::new(T::cty_type()))
    }
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Self, ShapeError> {
        let Value::List(items) = value else { return Err(wrong(path, "a list", value)) };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            path.push(PathStep::Index(index as i64));
            out.push(T::decode_value(item, path)?);
            path.pop();
        }
        Ok(out)
    }
    fn encode_value(&self) -> Value {
        Value::List(self.iter().map(CtyValue::encode_value).collect())
    }
}

/// Declares a struct of typed attributes and nested blocks, each written once with its schema:
///
/// ```text
/// object! {
///     /// The resource's configuration and state.
///     pub struct Job {
///         app_id: Field<String> => required("The app to end."),
///         timeouts: Block<Timeouts> => block("Time limits."),
///     }
/// }
/// ```
///
/// The struct gets [`Object`] and [`CtyValue`] (as an object type), and an associated constant
/// named like each field holding its attribute name (`Job::app_id == "app_id"`), for messages and
/// paths.
#[macro_export]
macro_rules! object {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty => $spec:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        // Named like the fields they name; not every struct's code names every attribute.
        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $( pub const $field: &'static str = stringify!($field); )*
        }

        impl $crate::protocol::object::Object for $name {
            fn members() -> Vec<$crate::protocol::object::Member> {
                vec![ $( <$ty as $crate::protocol::object::MemberType>::member(stringify!($field), $spec), )* ]
            }

            fn decode_object(
                value: &$crate::protocol::value::Value,
                path: &mut Vec<$crate::protocol::diagnostic::PathStep>,
            ) -> Result<Self, $crate::protocol::object::ShapeError> {
                use $crate::protocol::object::MemberType;
                let fields = $crate::protocol::object::object_fields(value, path, "an object")?;
                Ok($name {
                    $(
                        $field: {
                            path.push($crate::protocol::diagnostic::PathStep::Attribute(stringify!($field).to_string()));
                            let decoded = <$ty as MemberType>::decode_member(fields.get(stringify!($field)), path)?;
                            path.pop();
                            decoded
                        },
                    )*
                })
            }

            fn to_value(&self) -> $crate::protocol::value::Value {
                use $crate::protocol::object::MemberType;
                $crate::protocol::value::Value::Object(std::collections::BTreeMap::from([
                    $( (stringify!($field).to_string(), self.$field.encode_member()), )*
                ]))
            }
        }

        impl $crate::protocol::object::CtyValue for $name {
            fn block_attributes() -> Option<Vec<$crate::protocol::schema::Attribute>> {
                use $crate::protocol::object::*;
                Some(split(<Self as Object>::members()).0)
            }

            fn cty_type() -> $crate::protocol::schema::Type {
                use $crate::protocol::object::*;
                let (attributes, blocks) = split(<Self as Object>::members());
                $crate::protocol::schema::Type::Object(
                    attributes.into_iter().map(|a| (a.name.to_string(), a.ty))
                        .chain(blocks.into_iter().map(|b| (b.name.to_string(), b.object_type())))
                        .collect(),
                )
            }

            fn decode_value(
                value: &$crate::protocol::value::Value,
                path: &mut Vec<$crate::protocol::diagnostic::PathStep>,
            ) -> Result<Self, $crate::protocol::object::ShapeError> {
                <Self as $crate::protocol::object::Object>::decode_object(value, path)
            }

            fn encode_value(&self) -> $crate::protocol::value::Value {
                <Self as $crate::protocol::object::Object>::to_value(self)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::Schema;

    crate::object! {
        /// A nested block.
        struct Limits {
            create: Field<String> => optional("When to give up creating."),
        }
    }

    crate::object! {
        /// Everything a struct can hold.
        struct Sample {
            name: Field<String> => required("A name."),
            secret: Field<String> => optional("A secret.").sensitive(),
            count: Field<Number> => optional("A number."),
            tags: Field<BTreeMap<String, Field<String>>> => optional("Tags."),
            items: Field<Vec<Limits>> => computed("A list of objects."),
            done: Field<bool> => computed("Whether it is done."),
            limits: Block<Limits> => block("Limits."),
        }
    }

    #[test]
    fn a_struct_declares_its_schema_once() {
        let (attributes, blocks) = split(Sample::members());
        let names: Vec<_> = attributes.iter().map(|a| a.name).collect();
        assert_eq!(names, ["name", "secret", "count", "tags", "items", "done"]);
        assert_eq!(Sample::name, "name");
        assert!(attributes[1].sensitive && attributes[1].presence == Presence::Optional);
        assert_eq!(attributes[0].presence, Presence::Required);
        assert_eq!(attributes[3].ty.to_json().to_string(), r#"["map","string"]"#);
        assert_eq!(attributes[4].ty.to_json().to_string(), r#"["list",["object",{"create":"string"}]]"#);
        assert_eq!((blocks[0].name, blocks[0].attributes[0].name), ("limits", "create"));
        let schema = Schema { version: 0, description: "", attributes, blocks };
        assert_eq!(schema.object_type(), Sample::cty_type());
    }

    #[test]
    fn values_decode_into_fields_and_encode_back() {
        let value = Value::object([
            ("name", Value::String("a".into())),
            ("secret", Value::Unknown),
            ("count", Value::Number(Number::Int(3))),
            ("tags", Value::object([("k", Value::Unknown)])),
            ("items", Value::List(vec![Value::object([("create", Value::String("5m".into()))])])),
            ("done", Value::Null),
            ("limits", Value::object([("create", Value::Null)])),
        ]);
        let sample = Sample::from_value(&value).unwrap();
        assert_eq!(sample.name, Field::Known("a".to_string()));
        assert!(sample.secret.is_unknown());
        assert_eq!(sample.tags.known().unwrap()["k"], Field::Unknown);
        assert_eq!(sample.items.known().unwrap()[0].create, Field::Known("5m".to_string()));
        assert_eq!(sample.limits, Field::Known(Limits { create: Field::Null }));
        assert_eq!(sample.to_value(), value);
        // An attribute the value lacks is null.
        assert_eq!(Sample::from_value(&Value::object([])).unwrap(), Sample::default());
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
}
