//! Under real Terraform, the provider as NCP users behind corporate networks run it: over HTTPS,
//! trusting a private gateway's CA through `SSL_CERT_FILE` (as Go does on Linux), refusing an
//! untrusted certificate or one for another name after a single attempt; and through an HTTPS
//! proxy (`HTTPS_PROXY`, with credentials that are never logged) that alone can reach the
//! endpoint's name, or straight past it for the hosts in `NO_PROXY`.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::proxy::ConnectProxy;
use common::{Sim, Workspace};

const KILL: &str = r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "Tls01" }"#;
const APPLY: [&str; 3] = ["apply", "-auto-approve", "-input=false"];

on_each_terraform!(a_private_ca_is_trusted_through_ssl_cert_file, |terraform| {
    let sim = Sim::start_tls(&["Tls01", "Tls02", "Tls03"], "localhost");
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "job" {
  for_each = toset(["Tls01", "Tls02", "Tls03"])
  app_id   = each.value
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    workspace.trust(&sim);
    workspace.ok(&["apply", "-auto-approve", "-input=false", "-parallelism=1"]);
    for id in ["Tls01", "Tls02", "Tls03"] {
        assert_eq!(sim.state_of(id), "KILLED");
        assert_eq!(
            workspace.state()[&format!("ncloud_dataforest_aiapp_kill.job[\"{id}\"]")]["success"],
            true
        );
    }
    // Kills one after another share one TLS connection.
    assert_eq!(sim.simulator.tls_connections(), 1);
});

on_each_terraform!(an_untrusted_certificate_is_refused_after_one_attempt, |terraform| {
    let sim = Sim::start_tls(&["Tls01"], "localhost");
    let workspace = Workspace::new(terraform, &sim, KILL);
    let failed = workspace.fails(&APPLY);
    failed.assert_contains("DataForest kill failed").assert_contains("certificate was refused");
    assert_eq!(sim.simulator.connections(), 1, "a refused certificate is not retried");
    assert_eq!(sim.simulator.tls_connections(), 0);
    assert!(sim.simulator.calls().is_empty());
    assert!(workspace.state().is_empty());
});

on_each_terraform!(a_certificate_for_another_name_is_refused, |terraform| {
    let sim = Sim::start_tls(&["Tls01"], "other.test");
    let mut workspace = Workspace::new(terraform, &sim, KILL);
    workspace.trust(&sim);
    let endpoint = format!("https://localhost:{}", sim.address.port());
    workspace.env.insert("NCLOUD_DATAFOREST_ENDPOINT".into(), endpoint);
    let failed = workspace.fails(&APPLY);
    failed.assert_contains("certificate was refused");
    assert_eq!(sim.simulator.connections(), 1);
    assert!(sim.simulator.calls().is_empty());
});

on_each_terraform!(an_https_proxy_with_credentials_reaches_a_name_only_it_knows, |terraform| {
    let sim = Sim::start_tls(&["Tls01"], "dataforest.test");
    let target = format!("dataforest.test:{}", sim.address.port());
    let proxy = ConnectProxy::start(BTreeMap::from([(target.clone(), sim.address)]));
    let mut workspace = Workspace::new(terraform, &sim, KILL);
    workspace.trust(&sim);
    let password = "Pr0xy-Secret-71";
    workspace.env.insert("HTTPS_PROXY".into(), format!("http://ops:{password}@{}", proxy.address));
    workspace.env.insert("TF_LOG".into(), "trace".into());
    let apply = workspace.apply();
    assert_eq!(sim.state_of("Tls01"), "KILLED");
    let connects = proxy.connects();
    assert!(!connects.is_empty() && connects.iter().all(|c| c.target == target), "{connects:?}");
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("ops:{password}"));
    assert_eq!(connects[0].authorization.as_deref(), Some(format!("Basic {credentials}").as_str()));
    assert!(
        !apply.all().contains(password) && !apply.all().contains(&credentials),
        "the proxy password was logged"
    );
});

on_each_terraform!(hosts_in_no_proxy_are_reached_directly, |terraform| {
    let sim = Sim::start_tls(&["Tls01", "Tls02"], "localhost");
    let proxy = ConnectProxy::start(BTreeMap::new());
    let mut workspace = Workspace::new(terraform, &sim, KILL);
    workspace.trust(&sim);
    workspace.env.insert("https_proxy".into(), format!("http://{}", proxy.address));
    workspace.env.insert("NO_PROXY".into(), "localhost".into());
    workspace.apply();
    assert_eq!(sim.state_of("Tls01"), "KILLED");
    assert!(proxy.connects().is_empty(), "{:?}", proxy.connects());

    // Without NO_PROXY the proxy is used, and it reaches nothing here.
    workspace.env.remove("NO_PROXY");
    workspace.write_main(&KILL.replace("Tls01", "Tls02"));
    workspace.fails(&APPLY);
    assert_eq!(sim.state_of("Tls02"), "RUNNING");
    let target = format!("localhost:{}", sim.address.port());
    assert!(proxy.connects().iter().any(|c| c.target == target), "{:?}", proxy.connects());
});
