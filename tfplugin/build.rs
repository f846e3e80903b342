//! Generates the gRPC code for Terraform's plugin protocol and go-plugin's services from `proto/`.
//! protox compiles the files in pure Rust, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/tfplugin6.proto", "proto/grpc_controller.proto", "proto/grpc_stdio.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        // Clients serve the in-process tests; without transport code they need no connector.
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        // RPCs of features the provider does not declare (functions, ephemeral and list resources,
        // state stores) answer Unimplemented; Terraform only calls what the schema declares.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
