//! The registry docs cannot drift from the provider: each page under `docs/` lists exactly the
//! attributes its schema has (blocks' attributes and a list of objects' fields included), as the
//! provider's own GetProviderSchema reports them, and every example under `examples/` is shown
//! verbatim on a page.

use std::collections::BTreeSet;
use std::path::Path;

use terraform_provider_ncloud::protocol::proto::tfplugin6::{self as pb, provider_server::Provider};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::provider::NcloudProvider;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names a schema block documents: attributes, `block.attribute`, and `list.field` for a list
/// of objects.
fn schema_names(block: &pb::schema::Block) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for attribute in &block.attributes {
        names.insert(attribute.name.clone());
        let ty: serde_json::Value = serde_json::from_slice(&attribute.r#type).unwrap();
        if ty[0] == "list" && ty[1][0] == "object" {
            for field in ty[1][1].as_object().unwrap().keys() {
                names.insert(format!("{}.{field}", attribute.name));
            }
        }
    }
    for nested in &block.block_types {
        names.insert(nested.type_name.clone());
        for attribute in &nested.block.as_ref().unwrap().attributes {
            names.insert(format!("{}.{}", nested.type_name, attribute.name));
        }
    }
    names
}

/// The names a page documents: `- \`name\`` items of its reference sections, nested items as
/// `parent.name`.
fn page_names(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_reference = false;
    let mut parent = String::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_reference = heading.ends_with("Reference");
            continue;
        }
        if !in_reference {
            continue;
        }
        let nested = line.starts_with("  - `");
        let Some(rest) = line.trim_start().strip_prefix("- `") else { continue };
        let name = rest.split('`').next().unwrap().to_string();
        if nested {
            names.insert(format!("{parent}.{name}"));
        } else {
            names.insert(name.clone());
            parent = name;
        }
    }
    names
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
    pages.extend(
        schema.resource_schemas.iter().map(|(t, s)| (format!("resources/{}.md", short(t)), block(s))),
    );
    pages.extend(
        schema.data_source_schemas.iter().map(|(t, s)| (format!("data-sources/{}.md", short(t)), block(s))),
    );
    pages.extend(
        schema
            .action_schemas
            .iter()
            .map(|(t, s)| (format!("actions/{}.md", short(t)), block(s.schema.as_ref().unwrap()))),
    );
    assert_eq!(pages.len(), 5, "a page for the provider, each resource, data source and action");
    for (page, block) in pages {
        let documented = page_names(&read(&page));
        let expected = schema_names(&block);
        let missing: Vec<_> = expected.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "docs/{page}: missing {missing:?}, not in the schema {extra:?}"
        );
    }
}

#[test]
fn every_example_is_shown_verbatim_on_a_page() {
    let pages: Vec<String> = [
        "index.md",
        "resources/dataforest_aiapp_kill.md",
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
fn the_reference_parser_sees_nested_items() {
    let page =
        "## Argument Reference\n\n- `a` (String)\n- `t` (Block)\n  - `create` (String)\n\n## Import\n- `x`\n";
    assert_eq!(page_names(page), BTreeSet::from(["a".to_string(), "t".to_string(), "t.create".to_string()]));
}
