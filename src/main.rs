//! `terraform-provider-ncloud`: started by Terraform, never by hand.

use std::process::ExitCode;
use std::time::Duration;

use terraform_provider_ncloud::logging;
use terraform_provider_ncloud::plugin::{self, handshake};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::provider::NcloudProvider;

fn main() -> ExitCode {
    let env = match handshake::read_env(|name| std::env::var(name).ok()) {
        Ok(env) => env,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    logging::init_from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(plugin::serve(env, ProviderService::new(NcloudProvider::default())));
    // Tasks still running (a connection, a DNS look-up) must not hold up the exit Terraform waits for.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("terraform-provider-ncloud: {error}");
            ExitCode::FAILURE
        }
    }
}
