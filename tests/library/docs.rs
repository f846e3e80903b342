//! The registry docs cannot drift from the provider: each page under `docs/` lists exactly the
//! attributes its schema has (blocks' attributes and a list of objects' fields included), as the
//! provider's own GetProviderSchema reports them, each with its type, under the right section
//! (arguments or attributes), and marked required, optional and sensitive as the schema says, and
//! `forces replacement` exactly where the provider plans a change of it as a replacement;
//! and every example under `examples/` is shown verbatim on a page; and CHANGELOG.md opens with
//! this version in the registry's form.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use terraform_provider_ncloud::protocol::proto::tfplugin6::{self as pb, provider_server::Provider};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::protocol::value::{Number, Value};
use terraform_provider_ncloud::provider::NcloudProvider;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What a reference item says of an attribute: the section it is in, its type, and its flags
/// (`required`, `optional`, `sensitive`, `forces replacement`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    /// True under "Argument Reference", false under "Attribute Reference".
    argument: bool,
    ty: String,
    flags: BTreeSet<String>,
}

fn item(argument: bool, ty: &str, flags: &[&str]) -> Item {
    Item { argument, ty: ty.to_string(), flags: flags.iter().map(|flag| flag.to_string()).collect() }
}

/// A cty type as the docs write it: `String`, `Map of String`, `List of Object`.
fn type_text(ty: &serde_json::Value) -> String {
    match ty {
        serde_json::Value::String(name) => {
            let mut name = name.clone();
            name[..1].make_ascii_uppercase();
            name
        }
        serde_json::Value::Array(parts) if parts[0] == "object" => "Object".to_string(),
        serde_json::Value::Array(parts) => {
            let mut kind = parts[0].as_str().unwrap().to_string();
            kind[..1].make_ascii_uppercase();
            format!("{kind} of {}", type_text(&parts[1]))
        }
        other => panic!("unexpected type {other}"),
    }
}

/// What each page item must say, from a schema block: attributes (`argument` for required and
/// optional ones, with that flag and `sensitive`), blocks' attributes as `block.attribute`, and a
/// list of objects' fields as `list.field`.
fn schema_items(block: &pb::schema::Block) -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    let attribute_item = |attribute: &pb::schema::Attribute| {
        let mut flags = Vec::new();
        if attribute.required {
            flags.push("required");
        } else if attribute.optional {
            flags.push("optional");
        }
        if attribute.sensitive {
            flags.push("sensitive");
        }
        let ty: serde_json::Value = serde_json::from_slice(&attribute.r#type).unwrap();
        (item(attribute.required || attribute.optional, &type_text(&ty), &flags), ty)
    };
    for attribute in &block.attributes {
        let (described, ty) = attribute_item(attribute);
        if ty[0] == "list" && ty[1][0] == "object" {
            for (field, field_type) in ty[1][1].as_object().unwrap() {
                items.insert(
                    format!("{}.{field}", attribute.name),
                    item(described.argument, &type_text(field_type), &[]),
                );
            }
        }
        items.insert(attribute.name.clone(), described);
    }
    for nested in &block.block_types {
        let optional = nested.min_items == 0;
        items.insert(
            nested.type_name.clone(),
            item(true, "Block", if optional { &["optional"] } else { &["required"] }),
        );
        for attribute in &nested.block.as_ref().unwrap().attributes {
            items.insert(format!("{}.{}", nested.type_name, attribute.name), attribute_item(attribute).0);
        }
    }
    items
}

/// The items a page documents: `- \`name\` (Type, flags)` lines of its reference sections,
/// nested items as `parent.name`.
fn page_items(page: &str) -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    let mut section = None;
    let mut parent = String::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = match heading {
                "Argument Reference" => Some(true),
                "Attribute Reference" => Some(false),
                _ => None,
            };
            continue;
        }
        let Some(argument) = section else { continue };
        let nested = line.starts_with("  - `");
        let Some(rest) = line.trim_start().strip_prefix("- `") else { continue };
        let (name, rest) = rest.split_once('`').unwrap();
        let described =
            rest.trim_start().strip_prefix('(').and_then(|r| r.split_once(')')).map(|(inside, _)| inside);
        let mut parts = described.unwrap_or_default().split(", ");
        let ty = parts.next().unwrap_or_default();
        let found = item(argument, ty, &parts.collect::<Vec<_>>());
        if nested {
            items.insert(format!("{parent}.{name}"), found);
        } else {
            parent = name.to_string();
            items.insert(name.to_string(), found);
        }
    }
    items
}

/// How a page's item differs from what the provider says: wrong section, type or flag.
fn differences(name: &str, documented: &Item, expected: &Item) -> Option<String> {
    (documented != expected)
        .then(|| format!("{name}: documented as {documented:?}, the provider says {expected:?}"))
}

/// A known value of cty type `ty`, different for each `variant`.
fn sample(ty: &serde_json::Value, variant: i64) -> Value {
    match ty {
        serde_json::Value::String(name) if name == "string" => Value::String(format!("v{variant}")),
        serde_json::Value::String(name) if name == "bool" => Value::Bool(variant % 2 == 1),
        serde_json::Value::String(name) if name == "number" => Value::Number(Number::Int(variant)),
        serde_json::Value::Array(parts) if parts[0] == "map" => {
            Value::object([("k", sample(&parts[1], variant))])
        }
        serde_json::Value::Array(parts) if parts[0] == "object" => Value::Object(
            parts[1]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, ty)| (name.clone(), sample(ty, variant)))
                .collect(),
        ),
        serde_json::Value::Array(parts) => Value::List(vec![sample(&parts[1], variant)]),
        other => panic!("no sample for {other}"),
    }
}

/// A known object of `block`, every attribute and nested block set.
fn sample_object(block: &pb::schema::Block) -> Value {
    let mut fields = BTreeMap::new();
    for attribute in &block.attributes {
        let ty: serde_json::Value = serde_json::from_slice(&attribute.r#type).unwrap();
        fields.insert(attribute.name.clone(), sample(&ty, 1));
    }
    for nested in &block.block_types {
        fields.insert(nested.type_name.clone(), sample_object(nested.block.as_ref().unwrap()));
    }
    Value::Object(fields)
}

/// `value` with one attribute set.
fn changed(value: &Value, name: &str, field: Value) -> Value {
    let mut value = value.clone();
    if let Value::Object(fields) = &mut value {
        fields.insert(name.to_string(), field);
    }
    value
}

/// The arguments whose change the provider plans as a replacement, found by planning a change of
/// each one alone.
async fn replacing_arguments(
    service: &ProviderService<NcloudProvider>,
    type_name: &str,
    block: &pb::schema::Block,
) -> BTreeSet<String> {
    let prior = sample_object(block);
    let mut changes: Vec<(String, Value)> = Vec::new();
    for attribute in block.attributes.iter().filter(|a| a.required || a.optional) {
        let ty: serde_json::Value = serde_json::from_slice(&attribute.r#type).unwrap();
        changes.push((attribute.name.clone(), changed(&prior, &attribute.name, sample(&ty, 2))));
    }
    for nested in &block.block_types {
        let inner = prior.get(&nested.type_name).clone();
        for attribute in &nested.block.as_ref().unwrap().attributes {
            let ty: serde_json::Value = serde_json::from_slice(&attribute.r#type).unwrap();
            let block_value = changed(&inner, &attribute.name, sample(&ty, 2));
            changes.push((
                format!("{}.{}", nested.type_name, attribute.name),
                changed(&prior, &nested.type_name, block_value),
            ));
        }
    }
    let dynamic = |value: &Value| Some(pb::DynamicValue { msgpack: value.to_msgpack(), json: Vec::new() });
    let mut replacing = BTreeSet::new();
    for (name, proposed) in changes {
        let request = pb::plan_resource_change::Request {
            type_name: type_name.to_string(),
            prior_state: dynamic(&prior),
            proposed_new_state: dynamic(&proposed),
            config: dynamic(&proposed),
            ..Default::default()
        };
        let plan = service.plan_resource_change(tonic::Request::new(request)).await.unwrap().into_inner();
        assert!(plan.diagnostics.is_empty(), "{name}: {:?}", plan.diagnostics);
        if !plan.requires_replace.is_empty() {
            replacing.insert(name);
        }
    }
    replacing
}

fn read(page: &str) -> String {
    std::fs::read_to_string(root().join("docs").join(page)).unwrap_or_else(|e| panic!("docs/{page}: {e}"))
}

#[tokio::test]
async fn every_page_documents_exactly_its_schema() {
    let service = ProviderService::new(NcloudProvider::default());
    let schema =
        service.get_provider_schema(tonic::Request::new(pb::get_provider_schema::Request {})).await.unwrap();
    let schema = schema.into_inner();
    let block = |schema: &pb::Schema| schema.block.clone().unwrap();
    let mut pages = vec![("index.md".to_string(), block(schema.provider.as_ref().unwrap()))];
    let short = |type_name: &str| type_name.trim_start_matches("ncloud_").to_string();
    let mut replacing = BTreeMap::new();
    for (type_name, resource) in &schema.resource_schemas {
        let page = format!("resources/{}.md", short(type_name));
        replacing.insert(page.clone(), replacing_arguments(&service, type_name, &block(resource)).await);
        pages.push((page, block(resource)));
    }
    pages.extend(
        schema.data_source_schemas.iter().map(|(t, s)| (format!("data-sources/{}.md", short(t)), block(s))),
    );
    pages.extend(
        schema
            .action_schemas
            .iter()
            .map(|(t, s)| (format!("actions/{}.md", short(t)), block(s.schema.as_ref().unwrap()))),
    );
    assert_eq!(pages.len(), 7, "a page for the provider, each resource, data source and action");
    for (page, block) in pages {
        let documented = page_items(&read(&page));
        let mut expected = schema_items(&block);
        for name in replacing.get(&page).into_iter().flatten() {
            expected.get_mut(name).unwrap().flags.insert("forces replacement".to_string());
        }
        let missing: Vec<_> = expected.keys().filter(|name| !documented.contains_key(*name)).collect();
        let extra: Vec<_> = documented.keys().filter(|name| !expected.contains_key(*name)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "docs/{page}: missing {missing:?}, not in the schema {extra:?}"
        );
        let wrong: Vec<String> = expected
            .iter()
            .filter_map(|(name, expected)| differences(name, &documented[name], expected))
            .collect();
        assert!(wrong.is_empty(), "docs/{page}:\n{}", wrong.join("\n"));
    }
}

#[test]
fn every_example_is_shown_verbatim_on_a_page() {
    let pages: Vec<String> = [
        "index.md",
        "resources/dataforest_aiapp_kill.md",
        "resources/dataforest_aiapps_kill.md",
        "data-sources/dataforest_aiapps.md",
        "actions/dataforest_aiapp_kill.md",
    ]
    .into_iter()
    .map(read)
    .collect();
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let example = entry.unwrap().path();
        let text = std::fs::read_to_string(example.join("main.tf")).unwrap();
        assert!(pages.iter().any(|page| page.contains(&text)), "{} is on no docs page", example.display());
    }
}

#[test]
fn the_reference_parser_reads_sections_types_flags_and_nested_items() {
    let page = "## Argument Reference\n\n- `a` (Map of String, optional, sensitive) Text (with brackets).\n\
        - `t` (Block, optional)\n  - `create` (String, optional)\n\n## Attribute Reference\n\n- `c` (Bool) Out.\n\
        \n## Import\n- `x` (String)\n";
    let items = page_items(page);
    assert_eq!(items.keys().collect::<Vec<_>>(), ["a", "c", "t", "t.create"]);
    assert_eq!(items["a"], item(true, "Map of String", &["optional", "sensitive"]));
    assert_eq!(items["c"], item(false, "Bool", &[]));
    assert_eq!(items["t.create"], item(true, "String", &["optional"]));
    // A page that calls a required argument optional, or gets its type wrong, differs.
    assert!(
        differences("a", &item(true, "String", &["optional"]), &item(true, "String", &["required"]))
            .is_some()
    );
    assert!(
        differences("a", &item(true, "Bool", &["required"]), &item(true, "String", &["required"])).is_some()
    );
    assert!(differences("a", &item(false, "String", &[]), &item(true, "String", &["optional"])).is_some());
    let replacing = item(true, "String", &["required", "forces replacement"]);
    assert!(differences("a", &replacing, &item(true, "String", &["required"])).is_some());
}

#[test]
fn the_changelog_opens_with_this_version_in_the_registry_form() {
    let text = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    let headings: Vec<&str> = text.lines().filter(|line| line.starts_with("## ")).collect();
    let first = headings.first().expect("a release heading");
    let expected = format!("## {} (", env!("CARGO_PKG_VERSION"));
    assert!(first.starts_with(&expected), "the newest entry is {first:?}, not this version");
    let months = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let sections = ["BREAKING CHANGES:", "FEATURES:", "ENHANCEMENTS:", "BUG FIXES:", "NOTES:"];
    for heading in &headings {
        // `## X.Y.Z (Month D, YYYY)`
        let (version, date) = heading[3..].split_once(" (").unwrap_or_else(|| panic!("{heading:?}"));
        let date = date.strip_suffix(')').unwrap_or_else(|| panic!("{heading:?}"));
        assert_eq!(version.split('.').filter(|part| part.parse::<u32>().is_ok()).count(), 3, "{heading:?}");
        let (month, rest) = date.split_once(' ').unwrap_or_else(|| panic!("{heading:?}"));
        let (day, year) = rest.split_once(", ").unwrap_or_else(|| panic!("{heading:?}"));
        assert!(months.contains(&month), "{heading:?}");
        assert!(
            day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)) && !day.starts_with('0'),
            "{heading:?}"
        );
        assert!(year.len() == 4 && year.parse::<u32>().is_ok(), "{heading:?}");
    }
    for line in text.lines().filter(|line| line.ends_with(':') && !line.starts_with(['*', ' '])) {
        assert!(sections.contains(&line), "unknown section {line:?}");
    }
    // Each entry of the sections about the provider opens with the registry's prefix.
    let prefixes = [
        "**New Resource:** `",
        "**New Data Source:** `",
        "**New Action:** `",
        "provider: ",
        "resource/ncloud_",
        "data-source/ncloud_",
        "action/ncloud_",
    ];
    let mut section = "";
    let mut previous = "";
    for line in text.lines() {
        if line.starts_with("## ") {
            section = "";
        } else if sections.contains(&line) {
            section = line;
        } else if let Some(entry) = line.strip_prefix("* ")
            && section != "NOTES:"
        {
            assert!(prefixes.iter().any(|prefix| entry.starts_with(prefix)), "{section} {line:?}: no prefix");
        }
        // An entry's lines go together, and sections are one blank line apart.
        assert!(!(line.starts_with("  ") && previous.is_empty()), "a blank line inside an entry: {line:?}");
        assert!(!(line.is_empty() && previous.is_empty()), "two blank lines in a row before {line:?}");
        previous = line;
    }
}
