//! The data sources read while Terraform plans: with provider settings unknown until apply, a
//! read names them, or is deferred where Terraform allows it.

use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::Value;

use crate::{Schema, decode, errors, start, string, with};

#[tokio::test]
async fn data_sources_read_with_unknown_provider_settings_name_them_or_defer() {
    let mut harness = start().await;
    let mut block = harness.provider_block(Value::Unknown);
    block = with(&block, "max_retries", Value::Unknown);
    assert!(harness.configure(block).await.is_empty());
    let config = harness.config(Schema::DataSource("ncloud_dataforest_aiapp"), &[("id", string("A1"))]);
    let read = harness.read_data_source("ncloud_dataforest_aiapp", &config, false).await;
    let error = errors(&read.diagnostics)[0];
    assert_eq!(error.summary, "Provider configuration unknown");
    assert!(error.detail.contains("`endpoint`, `max_retries` are not known until apply"), "{}", error.detail);
    assert!(read.deferred.is_none());

    // Where Terraform allows deferral, the read is deferred with its computed attributes unknown.
    let deferred = harness.read_data_source("ncloud_dataforest_aiapp", &config, true).await;
    assert!(deferred.diagnostics.is_empty(), "{:?}", deferred.diagnostics);
    assert_eq!(deferred.deferred.unwrap().reason, pb::deferred::Reason::ProviderConfigUnknown as i32);
    let state = decode(deferred.state);
    assert_eq!((state.get("id"), state.get("state")), (&string("A1"), &Value::Unknown));

    // Planning the kill resource keeps working.
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    assert_eq!(planned.get("success"), &Value::Unknown);
}
