//! The server's command line: what each flag sets, its default, and the
//! `--help` text that documents every one of them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Address the server listens on unless `--listen` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Streams that may run at once unless `--max-streams` says otherwise.
pub const DEFAULT_MAX_STREAMS: usize = 4;
/// Largest request body accepted unless `--max-body` says otherwise.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long `POST /predict` waits for a frame unless `--predict-timeout` says otherwise.
pub const DEFAULT_PREDICT_TIMEOUT: Duration = Duration::from_secs(60);
/// Environment variable read for the token when `--token` is not given (so
/// the token need not show in the process list).
pub const TOKEN_ENV: &str = "GST_DL_SERVER_TOKEN";

/// `gst-dl-server --help`.
pub const HELP: &str = "\
gst-dl-server: DeepDetect's video API (services, resources, /predict, /stream)
answered by GStreamer pipelines of gst-dl elements.

Usage: gst-dl-server [OPTIONS]

Options:
  --listen ADDR           Address and port to listen on [default: 127.0.0.1:8080].
                          Port 0 picks a free port; the address is printed on
                          stdout as `listening on http://ADDR` once it is bound.
  --allow-dir DIR         A directory whose files (and those below it) may be read
                          as models or video sources, or written as outputs.
                          Repeatable. Paths are resolved (symbolic links, `..`)
                          before the check. Without any, no local file is used.
  --allow-pipelines       Accept a raw GStreamer pipeline as a resource's `source`
                          or a stream's `video_out` (off by default: a pipeline
                          can read and write anything the server can).
  --max-streams N         Streams running at once; the next `PUT /stream` is
                          refused [default: 4].
  --token TOKEN           Require `Authorization: Bearer TOKEN` on every request.
                          The environment variable GST_DL_SERVER_TOKEN is read
                          when this flag is absent (it keeps the token out of `ps`).
  --max-body BYTES        Largest request body accepted [default: 1048576].
  --predict-timeout SECS  How long `POST /predict` waits for a frame [default: 60].
  -h, --help              Print this text and exit.
  -V, --version           Print the version and exit.

Models and sources are read, and outputs written, by the server process:
start it as a user that may do only what its clients should.
";

/// Everything the command line sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Directories clients may name files in (as given; resolved when used).
    pub allow_dirs: Vec<PathBuf>,
    /// Whether raw pipeline descriptions are accepted.
    pub allow_pipelines: bool,
    /// Streams that may run at once.
    pub max_streams: usize,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a predict call waits for its frame.
    pub predict_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            allow_dirs: Vec::new(),
            allow_pipelines: false,
            max_streams: DEFAULT_MAX_STREAMS,
            token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            predict_timeout: DEFAULT_PREDICT_TIMEOUT,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Run the server.
    Serve(Config),
    /// Print [`HELP`].
    Help,
    /// Print the version.
    Version,
}

/// Parses the arguments after the program name. `token_from_env` is the
/// value of [`TOKEN_ENV`], used when `--token` is absent. Flags take their
/// value as the next argument or after `=` (`--listen=0.0.0.0:80`).
pub fn parse_args<I>(args: I, token_from_env: Option<String>) -> Result<Command, String>
where
    I: IntoIterator<Item = String>,
{
    let mut config = Config::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs {what} (see --help)"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--listen" => {
                let text = value("an address such as 127.0.0.1:8080")?;
                config.listen = text.parse().map_err(|_| {
                    format!("--listen {text:?} is not an address and port such as 127.0.0.1:8080")
                })?;
            }
            "--allow-dir" => config.allow_dirs.push(PathBuf::from(value("a directory")?)),
            "--allow-pipelines" => config.allow_pipelines = true,
            "--max-streams" => config.max_streams = parse_number(&flag, &value("a number")?)?,
            "--token" => {
                let token = value("a token")?;
                if token.is_empty() {
                    return Err("--token needs a non-empty token".into());
                }
                config.token = Some(token);
            }
            "--max-body" => {
                config.max_body_bytes = parse_number(&flag, &value("a size in bytes")?)?
            }
            "--predict-timeout" => {
                let seconds: usize = parse_number(&flag, &value("a number of seconds")?)?;
                config.predict_timeout = Duration::from_secs(seconds as u64);
            }
            _ => return Err(format!("unknown argument {arg:?} (see --help)")),
        }
    }
    if config.token.is_none() {
        config.token = token_from_env.filter(|t| !t.is_empty());
    }
    Ok(Command::Serve(config))
}

fn parse_number(flag: &str, text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} {text:?} must be a whole number above 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()), None)
    }

    #[test]
    fn no_arguments_give_the_defaults() {
        assert_eq!(parse(&[]).unwrap(), Command::Serve(Config::default()));
        let Command::Serve(config) = parse(&[]).unwrap() else {
            unreachable!()
        };
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(!config.allow_pipelines);
        assert!(config.allow_dirs.is_empty());
    }

    #[test]
    fn every_flag_is_read_in_both_forms() {
        let Command::Serve(config) = parse(&[
            "--listen=127.0.0.1:0",
            "--allow-dir",
            "/a",
            "--allow-dir=/b",
            "--allow-pipelines",
            "--max-streams",
            "2",
            "--token",
            "secret",
            "--max-body=100",
            "--predict-timeout",
            "5",
        ])
        .unwrap() else {
            panic!("not a serve command")
        };
        assert_eq!(config.listen.port(), 0);
        assert_eq!(
            config.allow_dirs,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert!(config.allow_pipelines);
        assert_eq!(config.max_streams, 2);
        assert_eq!(config.token.as_deref(), Some("secret"));
        assert_eq!(config.max_body_bytes, 100);
        assert_eq!(config.predict_timeout, Duration::from_secs(5));
    }

    #[test]
    fn the_token_comes_from_the_environment_unless_given() {
        let from_env = |args: &[&str]| match parse_args(
            args.iter().map(|s| s.to_string()),
            Some("env".into()),
        ) {
            Ok(Command::Serve(c)) => c.token,
            other => panic!("{other:?}"),
        };
        assert_eq!(from_env(&[]).as_deref(), Some("env"));
        assert_eq!(from_env(&["--token", "flag"]).as_deref(), Some("flag"));
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        assert!(
            parse(&["--listen", "nowhere"])
                .unwrap_err()
                .contains("not an address")
        );
        assert!(
            parse(&["--max-streams", "0"])
                .unwrap_err()
                .contains("above 0")
        );
        assert!(
            parse(&["--max-streams"])
                .unwrap_err()
                .contains("needs a number")
        );
        assert!(
            parse(&["--bogus"])
                .unwrap_err()
                .contains("unknown argument")
        );
        assert_eq!(parse(&["--help"]).unwrap(), Command::Help);
        assert_eq!(parse(&["-V"]).unwrap(), Command::Version);
    }

    #[test]
    fn the_help_text_documents_every_flag() {
        for flag in [
            "--listen",
            "--allow-dir",
            "--allow-pipelines",
            "--max-streams",
            "--token",
            "--max-body",
            "--predict-timeout",
            "--help",
            "--version",
            TOKEN_ENV,
        ] {
            assert!(HELP.contains(flag), "--help does not mention {flag}");
        }
    }
}
