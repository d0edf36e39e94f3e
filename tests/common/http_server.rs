//! A tiny static HTTP/1.1 server on loopback, for tests only (std only).
//!
//! It binds `127.0.0.1:0` (never another interface), serves fixed routes with
//! `GET` and `HEAD`, answers single `Range: bytes=` requests with `206`, closes
//! every connection after one response, and stops when dropped. A route can be
//! made to drop the connection mid-body, to test failures.
//!
//! ```ignore
//! let server = HttpServer::clip_site(&media("carphone_pristine.mp4"), "Carphone")?;
//! let page = server.url("/page.html"); // <video src="/clip.mp4">
//! ```
#![allow(dead_code)] // each user takes a different part

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Connections served at once; more are answered `503` and closed.
const MAX_CONNECTIONS: usize = 32;
/// The request line and headers must fit in this.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// A client silent (or not reading) for this long is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Bodies are written in pieces this big, checking for a stop in between.
const CHUNK: usize = 64 * 1024;

/// What one path serves.
#[derive(Clone)]
pub struct Route {
    body: Arc<Vec<u8>>,
    content_type: String,
    /// The connection is closed when the body reaches this offset.
    cut_at: Option<usize>,
}

impl Route {
    /// Serves `body` with `content_type`.
    pub fn bytes(body: impl Into<Vec<u8>>, content_type: &str) -> Route {
        Route {
            body: Arc::new(body.into()),
            content_type: content_type.to_owned(),
            cut_at: None,
        }
    }

    /// Serves an HTML page.
    pub fn html(text: &str) -> Route {
        Route::bytes(text.as_bytes(), "text/html; charset=utf-8")
    }

    /// Serves a file's bytes, read now.
    pub fn file(path: impl AsRef<Path>, content_type: &str) -> io::Result<Route> {
        Ok(Route::bytes(std::fs::read(path)?, content_type))
    }

    /// Announces the full length but closes the connection once the body
    /// reaches byte `offset` of the resource, on every request: a range
    /// request that starts at or past it gets the headers and then nothing.
    pub fn drop_at(mut self, offset: usize) -> Route {
        self.cut_at = Some(offset);
        self
    }

    /// [`drop_at`](Route::drop_at) half the body.
    pub fn drop_halfway(self) -> Route {
        let half = self.body.len() / 2;
        self.drop_at(half)
    }
}

/// The server; dropping it stops it (open connections are shut down).
pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    routes: Vec<(String, Route)>,
    stop: AtomicBool,
    /// Open connections: a handle to shut each down, and its thread.
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
    /// One line per request: `GET /clip.mp4 bytes=100-`, `-` for no range.
    log: Mutex<Vec<String>>,
}

impl HttpServer {
    /// Starts serving `routes` (paths like `/clip.mp4`) on `127.0.0.1`, on a
    /// port of the system's choosing.
    pub fn start<P: Into<String>>(
        routes: impl IntoIterator<Item = (P, Route)>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            routes: routes
                .into_iter()
                .map(|(path, route)| (path.into(), route))
                .collect(),
            stop: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("test-http-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(HttpServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// A site around one clip: `/clip.mp4` (the clip, `video/mp4`),
    /// `/drop.mp4` (the same, dropped halfway) and `/page.html` (an HTML page
    /// titled `title` with `<video src="/clip.mp4">`).
    pub fn clip_site(clip: &Path, title: &str) -> io::Result<Self> {
        let clip = Route::file(clip, "video/mp4")?;
        let page = format!(
            "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n\
             <body><h1>{title}</h1><video src=\"/clip.mp4\" controls></video></body></html>\n"
        );
        HttpServer::start([
            ("/clip.mp4", clip.clone()),
            ("/drop.mp4", clip.drop_halfway()),
            ("/page.html", Route::html(&page)),
        ])
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests served so far, one line each: `GET /clip.mp4 bytes=0-`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let connections = std::mem::take(&mut *self.shared.connections.lock().unwrap());
        for (stream, handle) in connections {
            let _ = stream.shutdown(Shutdown::Both);
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // WouldBlock: nobody is knocking; anything else: try again.
            Err(_) => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_nodelay(true);

        let mut connections = shared.connections.lock().unwrap();
        let (done, open): (Vec<_>, Vec<_>) = std::mem::take(&mut *connections)
            .into_iter()
            .partition(|(_, handle)| handle.is_finished());
        *connections = open;
        for (_, handle) in done {
            let _ = handle.join();
        }
        if connections.len() >= MAX_CONNECTIONS {
            let _ = respond_plain(
                &stream,
                503,
                "Service Unavailable",
                "too many connections\n",
            );
            continue;
        }
        let Ok(handle_stream) = stream.try_clone() else {
            continue;
        };
        let worker = {
            let shared = Arc::clone(shared);
            thread::Builder::new()
                .name("test-http-conn".into())
                .spawn(move || {
                    let _ = serve(&stream, &shared);
                    // The acceptor's handle keeps the socket open: end it
                    // explicitly so that the client sees the end of the response.
                    let _ = stream.shutdown(Shutdown::Write);
                })
        };
        if let Ok(worker) = worker {
            connections.push((handle_stream, worker));
        }
    }
}

/// Answers one request on `stream`, then closes it.
fn serve(mut stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    let Some(head) = read_head(stream)? else {
        return Ok(());
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let range = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("range"))
        .map(|(_, value)| value.trim().to_owned());
    let path = target.split(['?', '#']).next().unwrap_or_default();
    shared.log.lock().unwrap().push(format!(
        "{method} {path} {}",
        range.as_deref().unwrap_or("-")
    ));

    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return respond_plain(stream, 405, "Method Not Allowed", "GET or HEAD only\n"),
    };
    let Some(route) = shared
        .routes
        .iter()
        .find(|(route_path, _)| route_path == path)
        .map(|(_, route)| route)
    else {
        return respond_plain(stream, 404, "Not Found", "not found\n");
    };

    let len = route.body.len();
    let (status, start, end) = match range.as_deref().map(|value| parse_range(value, len)) {
        None | Some(RangeRequest::Ignore) => ("200 OK", 0, len),
        Some(RangeRequest::Bytes(start, end)) => ("206 Partial Content", start, end),
        Some(RangeRequest::Unsatisfiable) => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return stream.write_all(head.as_bytes());
        }
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Accept-Ranges: bytes\r\nConnection: close\r\n",
        route.content_type,
        end - start
    );
    if status.starts_with("206") {
        response.push_str(&format!(
            "Content-Range: bytes {start}-{}/{len}\r\n",
            end - 1
        ));
    }
    response.push_str("\r\n");
    stream.write_all(response.as_bytes())?;
    if head_only {
        return Ok(());
    }

    let stop_at = route.cut_at.map_or(end, |cut| cut.clamp(start, end));
    for piece in route.body[start..stop_at].chunks(CHUNK) {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        stream.write_all(piece)?;
    }
    stream.flush()?;
    if stop_at < end {
        // Mid-body: the client sees the connection end early.
        let _ = stream.shutdown(Shutdown::Both);
    }
    Ok(())
}

/// The request line and headers, or `None` if the client went away first.
fn read_head(mut stream: &TcpStream) -> io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            respond_plain(stream, 431, "Request Header Fields Too Large", "")?;
            return Ok(None);
        }
        let n = stream.read(&mut byte)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&byte[..n]);
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

enum RangeRequest {
    /// Serve `start..end`.
    Bytes(usize, usize),
    /// Not understood, or several ranges: serve the whole body (RFC 9110 allows it).
    Ignore,
    Unsatisfiable,
}

fn parse_range(value: &str, len: usize) -> RangeRequest {
    let Some(spec) = value.strip_prefix("bytes=") else {
        return RangeRequest::Ignore;
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignore;
    };
    if spec.contains(',') {
        return RangeRequest::Ignore;
    }
    let (first, last) = (first.trim(), last.trim());
    let parse = |text: &str| text.parse::<usize>().ok();
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Bytes(len - n.min(len), len),
            None => RangeRequest::Ignore,
        },
        // bytes=A- or bytes=A-B.
        (false, _) => {
            let Some(start) = parse(first) else {
                return RangeRequest::Ignore;
            };
            let end = if last.is_empty() {
                len
            } else {
                match parse(last) {
                    Some(last) if last >= start => last.saturating_add(1).min(len),
                    _ => return RangeRequest::Ignore,
                }
            };
            if start >= len {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Bytes(start, end)
            }
        }
        (true, true) => RangeRequest::Ignore,
    }
}

fn respond_plain(mut stream: &TcpStream, code: u16, reason: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}
