//! A keep-alive HTTP/1.1 client for the node: its REST interface and its JSON-RPC.
//!
//! Bitcoin Core's REST interface (`-rest`) serves raw blocks and headers as binary:
//! `GET /rest/block/HASH.bin` costs the node a disk read and a serialization, where RPC's
//! `getblock HASH 0` adds a hex encoding of twice the size and a JSON string around it, and
//! `GET /rest/headers/N/HASH.bin` gives the hashes of N blocks in one request. The REST interface
//! needs no credentials and is off unless the node runs with `-rest`; `ingest --rpc` uses it
//! when it answers and falls back to RPC otherwise. JSON-RPC calls are POSTs through the same
//! client ([`HttpClient::post`]).
//!
//! Each client is one connection (a fetcher thread has one for REST and one for RPC); replies
//! must carry a `Content-Length` (Bitcoin Core's do) of at most [`MAX_BODY`] bytes.
//!
//! On a kept-alive connection, Linux delays the ACK of what it receives by up to 40 ms, and the
//! node's HTTP server (libevent, with Nagle's algorithm on) holds the rest of a reply of tens of
//! kilobytes until that ACK comes: each such block then took 41 ms instead of 1 ms. The client
//! asks for immediate ACKs (`TCP_QUICKACK`) before every read, as the kernel clears that mode
//! on its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The largest reply body accepted (jsonrpc's `simple_http` takes up to 1 GiB too): the hex of
/// a block of the largest chain served (Bitcoin Cash's 32 MB) is 64 MB.
pub const MAX_BODY: usize = 1 << 30;

/// What went wrong with an HTTP request (the caller adds the URL and the fix).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The connection failed or broke.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The node answered with another status than 200.
    #[error("HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the reply's body.
        body: String,
    },
    /// The reply is not HTTP as expected.
    #[error("malformed HTTP reply: {0}")]
    Malformed(String),
}

/// One keep-alive HTTP connection to a node.
pub struct HttpClient {
    host: String,
    /// The URL's path (`/` when it has none).
    path: String,
    timeout: Duration,
    conn: Option<BufReader<QuickAck>>,
}

/// A TCP stream that acknowledges what it receives at once (see the module's doc).
struct QuickAck(TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        quick_ack(&self.0);
        self.0.read(buf)
    }
}

/// Turn on `TCP_QUICKACK` (Linux; a no-op elsewhere). A failure only costs speed.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a c_int option of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_: &TcpStream) {}

impl HttpClient {
    /// A client for the node at `url` (`http://HOST:PORT[/PATH]`, or without the scheme; any
    /// `user:password@` is dropped); `None` for another scheme. Connects on the first request.
    pub fn new(url: &str, timeout: Duration) -> Option<HttpClient> {
        let rest = match url.split_once("://") {
            Some((scheme, rest)) => scheme.eq_ignore_ascii_case("http").then_some(rest)?,
            None => url,
        };
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let host = authority.rsplit('@').next()?.to_string();
        (!host.is_empty()).then_some(HttpClient {
            host,
            path: path.to_string(),
            timeout,
            conn: None,
        })
    }

    /// Check the URL names a port and its host resolves; the error says which is wrong.
    pub fn resolve(&self) -> Result<(), String> {
        if self
            .host
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.contains(']'))
        {
            return Err(format!(
                "the URL names no port: give http://{}:PORT with the node's -rpcport",
                self.host
            ));
        }
        self.host
            .to_socket_addrs()
            .map(drop)
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))
    }

    /// `HOST:PORT`, as connected to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL's path (`/` when it has none), where JSON-RPC calls are POSTed.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn connect(&mut self) -> std::io::Result<&mut BufReader<QuickAck>> {
        if self.conn.is_none() {
            let mut last = None;
            let mut stream = None;
            for addr in self.host.to_socket_addrs()? {
                match TcpStream::connect_timeout(&addr, self.timeout) {
                    Ok(s) => {
                        stream = Some(s);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            let stream = stream.ok_or_else(|| {
                last.unwrap_or_else(|| std::io::Error::other("the host resolves to no address"))
            })?;
            stream.set_read_timeout(Some(self.timeout))?;
            stream.set_write_timeout(Some(self.timeout))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::with_capacity(1 << 16, QuickAck(stream)));
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    /// `GET path`: the body of a 200 reply. One retry on a fresh connection when a kept-alive
    /// one turns out closed.
    pub fn get(&mut self, path: &str) -> Result<Vec<u8>, HttpError> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n\r\n",
            self.host
        );
        let (status, body) = self.send(request.as_bytes())?;
        if status != 200 {
            return Err(HttpError::Status {
                status,
                body: body_start(&body),
            });
        }
        Ok(body)
    }

    /// `POST path` of a JSON `body` with the `Authorization` header value `authorization`:
    /// the reply's status and body, whatever the status. One retry on a fresh connection when
    /// a kept-alive one turns out closed.
    pub fn post(
        &mut self,
        path: &str,
        authorization: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), HttpError> {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n\
             Authorization: {authorization}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.send(&request)
    }

    /// Send `request` and read the reply, retrying once on a fresh connection when a
    /// kept-alive one turns out closed.
    fn send(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
        let reused = self.conn.is_some();
        match self.send_once(request) {
            Err(HttpError::Io(_)) if reused => self.send_once(request),
            r => r,
        }
    }

    fn send_once(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
        let result = self.exchange(request);
        if result.is_err() {
            // Drop a connection in an unknown state.
            self.conn = None;
        }
        result
    }

    fn exchange(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
        let conn = self.connect()?;
        conn.get_mut().0.write_all(request)?;
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(HttpError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the node closed the connection",
            )));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| HttpError::Malformed(format!("status line {:?}", line.trim_end())))?;
        let mut length = None;
        let mut close = false;
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                return Err(HttpError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the node closed the connection in the middle of a reply",
                )));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(HttpError::Malformed(format!("unsupported {header}")));
                }
            }
        }
        let length =
            length.ok_or_else(|| HttpError::Malformed("no Content-Length in the reply".into()))?;
        if length > MAX_BODY {
            return Err(HttpError::Malformed(format!(
                "a reply of {length} bytes (more than {MAX_BODY})"
            )));
        }
        let mut body = vec![0u8; length];
        conn.read_exact(&mut body)?;
        if close {
            self.conn = None;
        }
        Ok((status, body))
    }
}

/// The first 200 bytes of a reply's body as text, trimmed: what an error quotes of it.
pub fn body_start(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)])
        .trim()
        .to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-connection HTTP server answering each request with the next canned reply; its URL.
    pub(crate) fn serve(replies: Vec<&'static [u8]>) -> String {
        serve_requests(replies.into_iter().map(<[u8]>::to_vec).collect()).0
    }

    /// An HTTP/1.1 reply with this status line (`200 OK`) and body.
    pub(crate) fn reply(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// As [`serve`], and the requests it received (head and body), when it has answered all.
    pub(crate) fn serve_requests(
        replies: Vec<Vec<u8>>,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        serve_connections(vec![replies])
    }

    /// An HTTP server that accepts one connection for each list of replies, answers as many
    /// requests on it as the list holds, then closes it; its URL, and the requests it received
    /// (head and body) when it has answered all.
    pub(crate) fn serve_connections(
        connections: Vec<Vec<Vec<u8>>>,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for replies in connections {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                for reply in replies {
                    let (mut request, mut line, mut length) = (String::new(), String::new(), 0);
                    while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                        let lower = line.to_ascii_lowercase();
                        if let Some(n) = lower.strip_prefix("content-length:") {
                            length = n.trim().parse().unwrap();
                        }
                        request.push_str(&line);
                        line.clear();
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    request.push_str("\r\n");
                    request.push_str(&String::from_utf8(body).unwrap());
                    requests.push(request);
                    reader.get_mut().write_all(&reply).unwrap();
                }
            }
            requests
        });
        (format!("http://{addr}/wallet/x"), handle)
    }

    #[test]
    fn a_kept_alive_connection_the_node_closed_is_replaced_once() {
        let (url, requests) = serve_connections(vec![
            vec![reply("200 OK", "one")],
            vec![reply("200 OK", "two"), reply("200 OK", "three")],
        ]);
        let mut c = HttpClient::new(&url, Duration::from_secs(5)).unwrap();
        assert_eq!(c.get("/a").unwrap(), b"one");
        // The server closed the first connection: the GET is sent again on a new one.
        assert_eq!(c.get("/b").unwrap(), b"two");
        assert_eq!(
            c.post("/c", "Basic x", b"{}").unwrap(),
            (200, b"three".to_vec())
        );
        let requests = requests.join().unwrap();
        assert_eq!(requests.len(), 3);
        assert!(requests[1].starts_with("GET /b "), "{}", requests[1]);
        assert!(requests[2].starts_with("POST /c "), "{}", requests[2]);
        assert!(requests[2].ends_with("\r\n\r\n{}"), "{}", requests[2]);
    }

    #[test]
    fn a_reply_cut_in_its_headers_is_an_io_error_and_an_oversized_one_is_refused() {
        let (url, _) = serve_connections(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()],
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n".to_vec()],
        ]);
        let mut c = HttpClient::new(&url, Duration::from_secs(5)).unwrap();
        // A fresh connection is not retried: the cut is reported.
        match c.get("/a") {
            Err(HttpError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        match c.get("/b") {
            Err(HttpError::Malformed(m)) => assert!(m.contains("99999999999"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_alive_replies_and_statuses() {
        let url = serve(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        ]);
        let mut c = HttpClient::new(&url, Duration::from_secs(5)).unwrap();
        assert_eq!(c.get("/rest/a.bin").unwrap(), b"abc");
        match c.get("/rest/b.bin") {
            Err(HttpError::Status { status: 404, body }) => assert_eq!(body, "not found"),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.get("/rest/c.bin").unwrap(), b"");
    }

    #[test]
    fn chunked_or_lengthless_replies_are_errors_not_hangs() {
        let url = serve(vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ]);
        let mut c = HttpClient::new(&url, Duration::from_secs(5)).unwrap();
        assert!(matches!(c.get("/x"), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn urls() {
        let c = HttpClient::new("http://u:p@127.0.0.1:9332/wallet/w", Duration::ZERO).unwrap();
        assert_eq!((c.host(), c.path()), ("127.0.0.1:9332", "/wallet/w"));
        assert_eq!(c.resolve(), Ok(()));
        let c = HttpClient::new("http://[::1]:9332", Duration::ZERO).unwrap();
        assert_eq!((c.host(), c.path()), ("[::1]:9332", "/"));
        for no_port in ["http://127.0.0.1/wallet/w", "http://[::1]"] {
            let e = HttpClient::new(no_port, Duration::ZERO).unwrap().resolve();
            assert!(e.unwrap_err().contains("names no port"), "{no_port}");
        }
        assert!(HttpClient::new("https://127.0.0.1:9332", Duration::ZERO).is_none());
        assert_eq!(
            HttpClient::new("127.0.0.1:9332", Duration::ZERO)
                .unwrap()
                .host,
            "127.0.0.1:9332"
        );
    }
}
