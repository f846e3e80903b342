//! `terraform-provider-ncloud`: started by Terraform, or by hand with `--debug` or `--version`.

use std::process::ExitCode;
use std::time::Duration;

use terraform_provider_ncloud::logging;
use terraform_provider_ncloud::plugin::{self, Mode, handshake};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::provider::NcloudProvider;

const USAGE: &str = "usage: terraform-provider-ncloud [--version | --debug [--address ADDRESS]]

Terraform starts this provider itself. By hand:
  --version          print the version
  --debug            serve for Terraform to attach to through TF_REATTACH_PROVIDERS, until Ctrl-C
  --address ADDRESS  the provider address to announce in debug mode
                     (default registry.terraform.io/ncloud-dataforest/ncloud)";

const DEFAULT_ADDRESS: &str = "registry.terraform.io/ncloud-dataforest/ncloud";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (env, mode) = match args[..] {
        [] => match handshake::read_env(|name| std::env::var(name).ok()) {
            Ok(env) => (env, Mode::Plugin),
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        },
        ["--version"] => {
            println!("terraform-provider-ncloud {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        ["--debug"] => (handshake::debug_env(), Mode::Debug { address: DEFAULT_ADDRESS.to_string() }),
        ["--debug", "--address", address] | ["--address", address, "--debug"] => {
            (handshake::debug_env(), Mode::Debug { address: address.to_string() })
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    logging::init_from_env();
    // A write past a file-size limit (RLIMIT_FSIZE) fails the write, rather than ending the
    // process before the audit log's failure can stop the kills and be said.
    // SAFETY: called before any thread starts; SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(plugin::serve(env, mode, ProviderService::new(NcloudProvider::default())));
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
