//! `gst-dl-server`: DeepDetect's video API over gst-dl pipelines. The work
//! is in the library (`gstdl::server`); `--help` lists the flags.

fn main() -> std::process::ExitCode {
    gstdl::server::main_with_args(std::env::args().skip(1))
}
