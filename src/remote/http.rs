//! A small HTTP/1.1 client for KServe v2 REST: one keep-alive connection per
//! request in flight, plain TCP (servers on a trusted network; no TLS), no
//! dependency beyond the standard library. It speaks just what inference
//! servers answer: `Content-Length` or chunked bodies.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, for messages.
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        match text.char_indices().nth(300) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.to_string(),
        }
    }
}

/// One keep-alive connection to a server.
pub struct Connection {
    reader: BufReader<TcpStream>,
    authority: String,
    /// The server said it closes the connection after its answer.
    closed: bool,
}

impl Connection {
    /// Connects to `authority` (`HOST:PORT`); `timeout` bounds the connect
    /// and every read and write after it.
    pub fn open(authority: &str, timeout: Duration) -> io::Result<Self> {
        let mut last = io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        );
        for address in authority.to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeout))?;
                    stream.set_write_timeout(Some(timeout))?;
                    // A request goes out as head then body: without this
                    // Nagle's algorithm holds the body for the ACK (40 ms).
                    stream.set_nodelay(true)?;
                    return Ok(Self {
                        reader: BufReader::with_capacity(64 * 1024, stream),
                        authority: authority.to_string(),
                        closed: false,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Whether the server closed (or will close) this connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Sends a request and reads its answer. `body` goes out in parts
    /// without being copied together (a JSON head and a raw tensor).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[&[u8]],
    ) -> io::Result<Response> {
        let length: usize = body.iter().map(|part| part.len()).sum();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.authority);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" || length > 0 {
            head.push_str(&format!("Content-Length: {length}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        for part in body {
            stream.write_all(part)?;
        }
        stream.flush()?;
        let response = read_response(&mut self.reader)?;
        if response
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.closed = true;
        }
        Ok(response)
    }
}

fn bad_answer(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Reads one response: status line, headers, then a body of
/// `Content-Length` bytes or chunks.
pub fn read_response(reader: &mut impl BufRead) -> io::Result<Response> {
    let status_line = read_line(reader)?;
    if status_line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection without an answer",
        ));
    }
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| {
            bad_answer(format!(
                "not an HTTP answer: '{}'",
                status_line.chars().take(80).collect::<String>()
            ))
        })?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad_answer(format!("bad header line '{line}'")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        if headers.len() > 200 {
            return Err(bad_answer("more than 200 header lines"));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| bad_answer(format!("bad Content-Length '{length}'")))?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // No length: the body runs to the end of the connection.
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    reader.take(16 * 1024).read_until(b'\n', &mut line)?;
    if !line.is_empty() && !line.ends_with(b"\n") {
        return Err(bad_answer("a header line longer than 16 KiB or cut short"));
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad_answer("a header line that is not UTF-8"))
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| bad_answer(format!("bad chunk size '{line}'")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reads_length_and_chunked_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        let response = read_response(&mut &raw[..]).unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hello"[..])
        );
        assert_eq!(response.header("x-a"), Some("b"));
        let raw = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let response = read_response(&mut &raw[..]).unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (400, &b"abcde"[..])
        );
    }

    #[test]
    fn refuses_garbage_and_empty_answers() {
        let err = read_response(&mut &b"garbage\r\n\r\n"[..]).unwrap_err();
        assert!(err.to_string().contains("not an HTTP answer"), "{err}");
        let err = read_response(&mut &b""[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn keeps_one_connection_for_several_requests() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            // One accepted connection answers every request.
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut seen = Vec::new();
            for _ in 0..2 {
                let mut length = 0;
                let request_line = read_line(&mut reader).unwrap();
                loop {
                    let line = read_line(&mut reader).unwrap();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                seen.push((request_line, body));
                writer
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .unwrap();
            }
            seen
        });
        let mut connection = Connection::open(&authority, Duration::from_secs(5)).unwrap();
        let a = connection.request("GET", "/v2", &[], &[]).unwrap();
        let b = connection
            .request("POST", "/v2/models/m/infer", &[], &[b"ab", b"cd"])
            .unwrap();
        assert_eq!((a.body_text(), b.body_text()), ("ok".into(), "ok".into()));
        let seen = server.join().unwrap();
        assert_eq!(seen[0].0, "GET /v2 HTTP/1.1");
        assert_eq!(
            seen[1],
            (
                "POST /v2/models/m/infer HTTP/1.1".to_string(),
                b"abcd".to_vec()
            )
        );
    }
}
