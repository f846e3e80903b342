//! Under real Terraform, the provider as NCP users behind corporate networks run it: over HTTPS,
//! trusting a private gateway's CA through `SSL_CERT_FILE` or `SSL_CERT_DIR` (as Go does on
//! Linux), refusing an untrusted certificate or one for another name after a single attempt; and
//! through an HTTPS proxy (`HTTPS_PROXY`, with credentials that are never logged) that alone can
//! reach the endpoint's name, or straight past it for the hosts in `NO_PROXY` and for localhost.
//! (Which hosts `NO_PROXY` exempts is pinned in `ncp::network`'s unit tests: reaching a name
//! directly here would need DNS.)

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::harness::proxy::ConnectProxy;
use crate::harness::{Sim, Workspace};

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

on_each_terraform!(a_private_ca_is_trusted_through_ssl_cert_dir, |terraform| {
    let sim = Sim::start_tls(&["Tls01"], "localhost");
    let mut workspace = Workspace::new(terraform, &sim, KILL);
    let (empty, cas) = (workspace.dir.path().join("empty"), workspace.dir.path().join("cas"));
    std::fs::create_dir(&empty).unwrap();
    std::fs::create_dir(&cas).unwrap();
    std::fs::write(cas.join("gateway.pem"), sim.ca_pem.as_ref().unwrap()).unwrap();
    let missing = workspace.dir.path().join("no-bundle.pem");
    workspace.env.insert("SSL_CERT_FILE".into(), missing.display().to_string());
    workspace.env.insert("SSL_CERT_DIR".into(), format!("{}:{}", empty.display(), cas.display()));
    workspace.apply();
    assert_eq!(sim.state_of("Tls01"), "KILLED");
});

on_each_terraform!(a_plain_http_endpoint_reads_no_cas, |terraform| {
    let sim = Sim::start(&["Http01"]);
    let mut workspace = Workspace::new(terraform, &sim, &KILL.replace("Tls01", "Http01"));
    let missing = workspace.dir.path().join("missing");
    workspace.env.insert("SSL_CERT_FILE".into(), missing.join("ca.pem").display().to_string());
    workspace.env.insert("SSL_CERT_DIR".into(), missing.display().to_string());
    workspace.apply();
    assert_eq!(sim.state_of("Http01"), "KILLED");
});

on_each_terraform!(an_untrusted_certificate_is_refused_after_one_attempt, |terraform| {
    let sim = Sim::start_tls(&["Tls01"], "localhost");
    let mut workspace = Workspace::new(terraform, &sim, KILL);
    // Trust only another CA, so that the roots are not empty wherever this runs.
    let other = Sim::start_tls(&[], "localhost");
    workspace.trust(&other);
    let empty = workspace.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    workspace.env.insert("SSL_CERT_DIR".into(), empty.display().to_string());
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
    // The provider's own log is in the output, and names the proxy without its credentials.
    let log = apply.all();
    assert!(log.contains(&format!("proxy=http://{}", proxy.address)), "the provider's log is missing");
    assert!(log.contains("DataForest call"), "the provider's log is missing");
    let connects = proxy.connects();
    assert!(!connects.is_empty() && connects.iter().all(|c| c.target == target), "{connects:?}");
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("ops:{password}"));
    assert_eq!(connects[0].authorization.as_deref(), Some(format!("Basic {credentials}").as_str()));
    assert!(
        !apply.all().contains(password) && !apply.all().contains(&credentials),
        "the proxy password was logged"
    );
});

on_each_terraform!(localhost_and_hosts_in_no_proxy_are_reached_directly, |terraform| {
    let sim = Sim::start_tls(&["Tls01", "Tls02", "Tls03"], "dataforest.test");
    let target = format!("dataforest.test:{}", sim.address.port());
    let proxy = ConnectProxy::start(BTreeMap::from([(target.clone(), sim.address)]));
    let mut workspace = Workspace::new(terraform, &sim, KILL);
    workspace.trust(&sim);
    workspace.env.insert("https_proxy".into(), format!("http://{}", proxy.address));
    // The simulator's certificate names dataforest.test; localhost reaches it directly.
    let direct = format!("https://localhost:{}", sim.address.port());
    workspace.env.insert("NCLOUD_DATAFOREST_ENDPOINT".into(), direct);
    workspace.env.insert("NO_PROXY".into(), "localhost".into());
    let failed = workspace.fails(&APPLY);
    failed.assert_contains("certificate was refused");
    assert!(proxy.connects().is_empty(), "{:?}", proxy.connects());
    assert_eq!(sim.simulator.connections(), 1, "straight to the simulator");

    // Go never sends localhost through a proxy, NO_PROXY or not.
    workspace.env.remove("NO_PROXY");
    workspace.fails(&APPLY).assert_contains("certificate was refused");
    assert!(proxy.connects().is_empty(), "{:?}", proxy.connects());
    assert_eq!(sim.simulator.connections(), 2);

    // Entries that do not match the endpoint leave it to the proxy, which alone knows its name.
    workspace.env.insert("NCLOUD_DATAFOREST_ENDPOINT".into(), format!("https://{target}"));
    let other_port = format!("dataforest.test:{}", sim.address.port() + 1);
    workspace.env.insert("NO_PROXY".into(), format!("localhost, other.test, .dataforest.test, {other_port}"));
    workspace.write_main(&KILL.replace("Tls01", "Tls02"));
    workspace.apply();
    assert_eq!(sim.state_of("Tls02"), "KILLED");
    assert!(proxy.connects().iter().all(|c| c.target == target) && !proxy.connects().is_empty());
});
