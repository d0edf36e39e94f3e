//! [`resolve`] against stand-in scripts and against the real yt-dlp on
//! loopback (`tests/common/http_server.rs`); nothing leaves 127.0.0.1.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

#[path = "../../tests/common/http_server.rs"]
mod http_server;

use http_server::{HttpServer, Route};

const PAGE: &str = "http://127.0.0.1:9/watch?v=abc";

/// Writes an executable `/bin/sh` script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    set_mode(&path, 0o755);
    path
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn request(program: PathBuf, page_url: &str, timeout: Duration) -> ResolveRequest {
    ResolveRequest {
        page_url: page_url.to_owned(),
        format: DEFAULT_FORMAT.to_owned(),
        program,
        extra_args: Vec::new(),
        timeout,
    }
}

/// Dead: no /proc entry, or a zombie waiting for a parent that does not reap.
fn is_dead(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // pid (comm) STATE ...; comm may hold spaces, so look after the last ')'.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with('Z'),
    }
}

#[test]
fn runs_the_documented_command_line() {
    let mut request = request(PathBuf::from("yt-dlp"), PAGE, DEFAULT_TIMEOUT);
    request.extra_args = vec!["--cookies".into(), "c.txt".into()];
    assert_eq!(
        request.args(),
        [
            "--dump-single-json",
            "--no-playlist",
            "--no-warnings",
            "--no-progress",
            "--color",
            "never",
            "-f",
            DEFAULT_FORMAT,
            "--cookies",
            "c.txt",
            "--",
            PAGE,
        ]
    );
    let defaults = ResolveRequest::new(PAGE);
    assert_eq!(defaults.format, DEFAULT_FORMAT);
    assert_eq!(defaults.program, default_program());
    assert_eq!(defaults.timeout, DEFAULT_TIMEOUT);
}

#[test]
fn default_program_is_the_venv_one_or_path() {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/yt-dlp");
    let expected = if venv.is_file() {
        venv
    } else {
        PathBuf::from("yt-dlp")
    };
    assert_eq!(default_program(), expected);
}

#[test]
fn stand_in_printing_json() {
    let dir = tempfile::tempdir().unwrap();
    let args_file = dir.path().join("args");
    let program = script(
        dir.path(),
        "fake-yt-dlp",
        &format!(
            r#"printf '%s\n' "$@" > '{}'
cat <<'EOF'
{{"id": "abc", "title": "A clip", "duration": 61.5, "extractor": "fake",
  "url": "https://media.example/abc.mp4",
  "http_headers": {{"User-Agent": "Mozilla/5.0 (test)", "Referer": "{PAGE}"}}}}
EOF"#,
            args_file.display()
        ),
    );
    let resolved = resolve(&request(program, PAGE, Duration::from_secs(10))).unwrap();
    assert_eq!(
        resolved,
        Resolved {
            media_url: "https://media.example/abc.mp4".into(),
            title: Some("A clip".into()),
            duration: Some(Duration::from_millis(61_500)),
            http_headers: vec![
                ("User-Agent".into(), "Mozilla/5.0 (test)".into()),
                ("Referer".into(), PAGE.into()),
            ],
            extractor: Some("fake".into()),
        }
    );
    let args = fs::read_to_string(args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        args.last(),
        Some(&PAGE),
        "the page URL comes last: {args:?}"
    );
    assert_eq!(args[args.len() - 2], "--");
    assert!(
        args.contains(&"--dump-single-json") && args.contains(&DEFAULT_FORMAT),
        "{args:?}"
    );
}

#[test]
fn stand_in_printing_a_bare_url() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "resolver",
        "echo 'looking it up'\necho\necho 'https://cdn.example/live/index.m3u8'",
    );
    let resolved = resolve(&request(program, PAGE, Duration::from_secs(10))).unwrap();
    assert_eq!(resolved.media_url, "https://cdn.example/live/index.m3u8");
    assert_eq!(
        (resolved.title, resolved.duration, resolved.extractor),
        (None, None, None)
    );
    assert!(resolved.http_headers.is_empty());
}

#[test]
fn failure_passes_on_the_error_lines() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "failing",
        r#"for last; do :; done
echo "[generic] Extracting URL: $last" >&2
echo "ERROR: [generic] Unsupported URL: $last" >&2
echo null
exit 1"#,
    );
    let error = resolve(&request(program, PAGE, Duration::from_secs(10))).unwrap_err();
    assert_eq!(
        error,
        ResolveError::Failed {
            page_url: PAGE.into(),
            message: format!("ERROR: [generic] Unsupported URL: {PAGE}"),
            exit_code: Some(1),
        }
    );
    let shown = error.to_string();
    assert!(
        shown.contains(&format!("could not resolve {PAGE}")),
        "{shown}"
    );
    assert!(
        shown.contains("Unsupported URL") && shown.contains("exit status 1"),
        "{shown}"
    );
}

#[test]
fn success_without_a_url_is_bad_output() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "chatty",
        "echo 'all good'\necho 'nearly done' >&2",
    );
    match resolve(&request(program, PAGE, Duration::from_secs(10))) {
        Err(ResolveError::BadOutput { detail }) => {
            assert!(detail.contains("all good"), "{detail}");
            assert!(
                detail.contains("nearly done"),
                "stderr is shown too: {detail}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn large_output_on_both_pipes_does_not_stall() {
    let dir = tempfile::tempdir().unwrap();
    // Far more than a pipe buffer (64 KiB) on stderr before stdout is written.
    let program = script(
        dir.path(),
        "noisy",
        "head -c 3000000 /dev/zero | tr '\\0' x >&2\necho '{\"url\": \"http://x.example/a.mp4\"}'",
    );
    let resolved = resolve(&request(program, PAGE, Duration::from_secs(20))).unwrap();
    assert_eq!(resolved.media_url, "http://x.example/a.mp4");
}

#[test]
fn timeout_kills_the_program_and_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let (pid_file, child_file) = (dir.path().join("pid"), dir.path().join("child"));
    let program = script(
        dir.path(),
        "slow",
        &format!(
            "echo $$ > '{}'\nsleep 30 &\necho $! > '{}'\nwait",
            pid_file.display(),
            child_file.display()
        ),
    );
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let error = resolve(&request(program, PAGE, timeout)).unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        error,
        ResolveError::Timeout {
            after: timeout,
            page_url: PAGE.into()
        }
    );
    assert!(
        took >= timeout && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert!(error.to_string().contains("longer than 0.5 s"), "{error}");

    let pid = fs::read_to_string(pid_file).unwrap();
    assert!(is_dead(pid.trim()), "the program {pid} is still running");
    // The orphaned sleep is reaped by init (if at all); give it a moment.
    let sleeper = fs::read_to_string(child_file).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !is_dead(sleeper.trim()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        is_dead(sleeper.trim()),
        "the sleep {sleeper} it started is still running"
    );
}

#[test]
fn missing_or_unexecutable_program() {
    let missing = PathBuf::from("/nonexistent/bin/yt-dlp");
    let error = resolve(&request(missing.clone(), PAGE, Duration::from_secs(5))).unwrap_err();
    assert_eq!(
        error,
        ResolveError::ProgramMissing {
            program: missing,
            install_hint: INSTALL_HINT.into()
        }
    );
    let shown = error.to_string();
    assert!(shown.contains("/nonexistent/bin/yt-dlp"), "{shown}");
    assert!(
        shown.contains("pip install yt-dlp (the project's set-up installs it into .venv)"),
        "{shown}"
    );

    let error = resolve(&request(
        "no-such-yt-dlp-program".into(),
        PAGE,
        Duration::from_secs(5),
    ))
    .unwrap_err();
    assert!(
        matches!(error, ResolveError::ProgramMissing { .. }),
        "{error:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let not_executable = script(dir.path(), "yt-dlp", "echo https://x.example/a");
    set_mode(&not_executable, 0o644);
    let error = resolve(&request(not_executable, PAGE, Duration::from_secs(5))).unwrap_err();
    assert!(
        matches!(error, ResolveError::ProgramMissing { .. }),
        "{error:?}"
    );
}

// --- the real yt-dlp, on loopback -------------------------------------------

/// The venv's yt-dlp and the sample clip, or `None` (with a note) to skip.
fn real_setup() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let program = root.join(".venv/bin/yt-dlp");
    let clip = root.join(".data/media/carphone_pristine.mp4");
    for needed in [&program, &clip] {
        if !needed.exists() {
            eprintln!(
                "skipped: {} is missing (run scripts/setup.sh)",
                needed.display()
            );
            return None;
        }
    }
    Some((program, clip))
}

fn real_request(program: PathBuf, page_url: String) -> ResolveRequest {
    ResolveRequest {
        // Hermetic: no user configuration, no proxy.
        extra_args: vec!["--ignore-config".into(), "--proxy".into(), String::new()],
        ..request(program, &page_url, Duration::from_secs(60))
    }
}

fn timed(request: &ResolveRequest) -> Result<Resolved, ResolveError> {
    let started = Instant::now();
    let result = resolve(request);
    eprintln!(
        "yt-dlp on {} took {:?}",
        request.page_url,
        started.elapsed()
    );
    result
}

#[test]
fn real_yt_dlp_finds_the_video_in_a_page() {
    let Some((program, clip)) = real_setup() else {
        return;
    };
    let server = HttpServer::clip_site(&clip, "Carphone").unwrap();
    let resolved = timed(&real_request(program, server.url("/page.html"))).unwrap();
    // Only the page was fetched: -J simulates, the clip is not downloaded.
    assert_eq!(server.requests(), ["GET /page.html -"]);

    assert_eq!(resolved.media_url, server.url("/clip.mp4"));
    // The html5 extractor numbers the videos of a page: "Carphone (1)".
    let title = resolved.title.as_deref().unwrap_or_default();
    assert!(title.starts_with("Carphone"), "{resolved:?}");
    assert_eq!(resolved.extractor.as_deref(), Some("html5"), "{resolved:?}");
    assert_eq!(
        resolved.duration, None,
        "the generic extractors do not probe the media"
    );
    let header = |name: &str| {
        resolved
            .http_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert!(header("User-Agent").is_some(), "{resolved:?}");
    assert_eq!(header("Referer"), Some(server.url("/page.html").as_str()));
}

#[test]
fn real_yt_dlp_passes_a_direct_media_url_through() {
    let Some((program, clip)) = real_setup() else {
        return;
    };
    let server = HttpServer::clip_site(&clip, "Carphone").unwrap();
    let resolved = timed(&real_request(program, server.url("/clip.mp4"))).unwrap();
    assert_eq!(resolved.media_url, server.url("/clip.mp4"));
    assert_eq!(
        resolved.title.as_deref(),
        Some("clip"),
        "the file's stem: {resolved:?}"
    );
    assert_eq!(resolved.extractor.as_deref(), Some("generic"));
}

#[test]
fn real_yt_dlp_failures_carry_its_error() {
    let Some((program, clip)) = real_setup() else {
        return;
    };
    let server = HttpServer::start([
        ("/clip.mp4", Route::file(&clip, "video/mp4").unwrap()),
        (
            "/plain.html",
            Route::html("<html><head><title>No video</title></head><body>hi</body></html>"),
        ),
    ])
    .unwrap();

    let page = server.url("/plain.html");
    match timed(&real_request(program.clone(), page.clone())) {
        Err(ResolveError::Failed {
            page_url,
            message,
            exit_code,
        }) => {
            assert_eq!(page_url, page);
            assert!(
                message.starts_with("ERROR:") && message.contains("Unsupported URL"),
                "{message}"
            );
            assert_eq!(exit_code, Some(1));
        }
        other => panic!("{other:?}"),
    }

    let missing = server.url("/gone.html");
    match timed(&real_request(program, missing)) {
        Err(ResolveError::Failed { message, .. }) => {
            assert!(message.contains("HTTP Error 404"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

// --- the test server itself ---------------------------------------------------

/// A raw request; the whole response (the server closes the connection).
fn exchange(server: &HttpServer, request: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    response
}

fn split(response: &[u8]) -> (String, Vec<u8>) {
    let at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    (
        String::from_utf8_lossy(&response[..at]).into_owned(),
        response[at..].to_vec(),
    )
}

fn sample_body() -> Vec<u8> {
    (0..=255u8).cycle().take(200_000).collect()
}

#[test]
fn test_server_serves_whole_ranges_heads_and_drops() {
    let server = HttpServer::start([
        (
            "/b.bin",
            Route::bytes(sample_body(), "application/octet-stream"),
        ),
        (
            "/cut.bin",
            Route::bytes(sample_body(), "application/octet-stream").drop_halfway(),
        ),
    ])
    .unwrap();
    let body = sample_body();
    let get = |path: &str, extra: &str| {
        split(&exchange(
            &server,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n"),
        ))
    };

    let (head, got) = get("/b.bin?x=1", "");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Length: 200000\r\n"), "{head}");
    assert_eq!(got, body);

    let (head, got) = get("/b.bin", "Range: bytes=100-199\r\n");
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    assert!(
        head.contains("Content-Range: bytes 100-199/200000\r\n"),
        "{head}"
    );
    assert_eq!(got, body[100..200]);
    let (_, got) = get("/b.bin", "range: bytes=199990-\r\n");
    assert_eq!(got, body[199_990..]);
    let (_, got) = get("/b.bin", "Range: bytes=-10\r\n");
    assert_eq!(got, body[199_990..]);
    let (_, got) = get("/b.bin", "Range: bytes=199995-300000\r\n");
    assert_eq!(got, body[199_995..]);
    let (head, _) = get("/b.bin", "Range: bytes=200000-\r\n");
    assert!(head.starts_with("HTTP/1.1 416"), "{head}");
    let (head, got) = get("/b.bin", "Range: bytes=0-1,5-6\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "several ranges: the whole body: {head}"
    );
    assert_eq!(got.len(), body.len());

    let (head, got) = split(&exchange(&server, "HEAD /b.bin HTTP/1.1\r\n\r\n"));
    assert!(head.contains("Content-Length: 200000\r\n"), "{head}");
    assert!(got.is_empty());

    let (head, got) = get("/cut.bin", "");
    assert!(head.contains("Content-Length: 200000\r\n"), "{head}");
    assert_eq!(got, body[..100_000], "the body stops halfway");
    let (_, got) = get("/cut.bin", "Range: bytes=99990-\r\n");
    assert_eq!(got.len(), 10);
    let (head, got) = get("/cut.bin", "Range: bytes=150000-\r\n");
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    assert!(got.is_empty());

    let (head, _) = get("/nothing", "");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = split(&exchange(&server, "POST /b.bin HTTP/1.1\r\n\r\n"));
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");

    let log = server.requests();
    assert_eq!(log[0], "GET /b.bin -");
    assert_eq!(log[1], "GET /b.bin bytes=100-199");
}

#[test]
fn test_server_stops_when_dropped() {
    let server = HttpServer::start([("/a", Route::html("a"))]).unwrap();
    let addr = server.addr();
    // A client that connects and says nothing must not hold up the stop.
    let idle = TcpStream::connect(addr).unwrap();
    thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The freed port may go at once to another test's server in this
    // process, so "stopped" means: nothing serves this server's route.
    if let Ok(mut stream) = TcpStream::connect(addr) {
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let _ = stream.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            !answer.starts_with("HTTP/1.1 200"),
            "the dropped server still answers: {answer}"
        );
    }
    drop(idle);
}
