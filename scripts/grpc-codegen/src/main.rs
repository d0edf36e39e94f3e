//! `grpc-codegen PROTO_DIR OUT_DIR`: client-only code for the KServe v2
//! gRPC service (protoc from $PROTOC or PATH).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, proto_dir, out_dir] = args.as_slice() else {
        eprintln!("usage: grpc-codegen PROTO_DIR OUT_DIR");
        std::process::exit(2);
    };
    let proto = format!("{proto_dir}/kserve_v2.proto");
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .out_dir(out_dir)
        .compile_protos(&[proto.as_str()], &[proto_dir.as_str()])
        .unwrap_or_else(|e| {
            eprintln!("code generation failed: {e}");
            std::process::exit(1);
        });
}
