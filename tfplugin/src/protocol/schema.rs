//! Schemas as the provider declares them, the cty types they use, and their wire form: the
//! `type` bytes of an attribute are the JSON encoding of a cty type.

use std::collections::BTreeMap;
use std::fmt;

use super::proto::tfplugin6 as pb;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Bool,
    Number,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
}

impl Type {
    /// cty's JSON type notation: `"string"`, `["map","string"]`, `["object",{"a":"bool"}]`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value as Json, json};
        match self {
            Type::String => json!("string"),
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::List(element) => json!(["list", element.to_json()]),
            Type::Set(element) => json!(["set", element.to_json()]),
            Type::Map(element) => json!(["map", element.to_json()]),
            Type::Object(attributes) => json!([
                "object",
                Json::Object(attributes.iter().map(|(k, t)| (k.clone(), t.to_json())).collect())
            ]),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::List(element) => write!(f, "list({element})"),
            Type::Set(element) => write!(f, "set({element})"),
            Type::Map(element) => write!(f, "map({element})"),
            Type::Object(_) => f.write_str("object"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
    Computed,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    pub presence: Presence,
    pub sensitive: bool,
    pub description: &'static str,
}

impl Attribute {
    pub fn is_computed(&self) -> bool {
        self.presence == Presence::Computed
    }
}

/// A resource's, data source's or provider's schema: a version, attributes, and nested blocks.
#[derive(Clone, Debug)]
pub struct Schema {
    pub version: i64,
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

/// A block written at most once, such as `timeouts { create = "5m" }`; null when absent. It may
/// hold blocks of its own.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

impl NestedBlock {
    pub fn object_type(&self) -> Type {
        object_type(&self.attributes, &self.blocks)
    }

    fn to_proto(&self) -> pb::schema::NestedBlock {
        pb::schema::NestedBlock {
            type_name: self.name.to_string(),
            block: Some(block_to_proto(0, self.description, &self.attributes, &self.blocks)),
            nesting: pb::schema::nested_block::NestingMode::Single as i32,
            min_items: 0,
            max_items: 0,
        }
    }
}

impl Schema {
    /// The object type of a value that follows this schema.
    pub fn object_type(&self) -> Type {
        object_type(&self.attributes, &self.blocks)
    }

    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(block_to_proto(self.version, self.description, &self.attributes, &self.blocks)),
        }
    }
}

fn object_type(attributes: &[Attribute], blocks: &[NestedBlock]) -> Type {
    let attributes = attributes.iter().map(|a| (a.name.to_string(), a.ty.clone()));
    let blocks = blocks.iter().map(|b| (b.name.to_string(), b.object_type()));
    Type::Object(attributes.chain(blocks).collect())
}

fn block_to_proto(
    version: i64,
    description: &str,
    attributes: &[Attribute],
    blocks: &[NestedBlock],
) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: attributes.iter().map(attribute_to_proto).collect(),
        block_types: blocks.iter().map(NestedBlock::to_proto).collect(),
        description: description.to_string(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        deprecation_message: String::new(),
    }
}

fn attribute_to_proto(attribute: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: attribute.name.to_string(),
        r#type: attribute.ty.to_json().to_string().into_bytes(),
        nested_type: None,
        description: attribute.description.to_string(),
        required: attribute.presence == Presence::Required,
        optional: attribute.presence == Presence::Optional,
        computed: attribute.is_computed(),
        sensitive: attribute.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: false,
        deprecation_message: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cty_type_json() {
        assert_eq!(Type::String.to_json().to_string(), r#""string""#);
        assert_eq!(Type::Map(Box::new(Type::String)).to_json().to_string(), r#"["map","string"]"#);
        let object = Type::List(Box::new(Type::Object(BTreeMap::from([("a".into(), Type::Bool)]))));
        assert_eq!(object.to_json().to_string(), r#"["list",["object",{"a":"bool"}]]"#);
    }
}
