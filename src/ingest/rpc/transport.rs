//! The JSON-RPC transport under [`Node`](super::Node): bitcoincore-rpc's requests as POSTs over
//! fundtrace's own keep-alive [`HttpClient`], which asks for immediate ACKs. jsonrpc's
//! `simple_http` transport does not, and on a kept-alive connection each `getblock` reply of
//! tens of kilobytes then waited 40 ms for Linux's delayed ACK (the module doc of
//! [`crate::ingest::http`] says why).
//!
//! Failures are worded as `simple_http` words them ("unexpected HTTP code: 401", the socket's
//! own error), so that [`super::classify`] reads them the same way.

use std::sync::{Mutex, PoisonError};

use bitcoincore_rpc::jsonrpc::{self, Request, Response, Transport};

use crate::ingest::http::{body_start, HttpClient, HttpError};

/// JSON-RPC over one keep-alive HTTP connection (requests from several threads take turns).
pub struct QuickHttpTransport {
    client: Mutex<HttpClient>,
    /// `http://HOST:PORT/PATH`, without credentials.
    target: String,
    path: String,
    authorization: String,
}

/// A transport failure, as jsonrpc carries it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

fn transport_error(detail: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error::Transport(Box::new(TransportError(detail.into())))
}

impl QuickHttpTransport {
    /// A transport to the node at `url` (`http://HOST:PORT[/PATH]`, the path being where calls
    /// go, e.g. `/wallet/NAME`), with HTTP basic authentication. The host is resolved now, so a
    /// wrong one is named before any call; the error says what is wrong with the URL.
    pub fn new(
        url: &str,
        user: &str,
        password: &str,
        timeout: std::time::Duration,
    ) -> Result<QuickHttpTransport, String> {
        let client = HttpClient::new(url, timeout).ok_or_else(|| {
            "not a URL of the form http://HOST:PORT (the node's RPC is plain HTTP)".to_string()
        })?;
        client.resolve()?;
        let path = client.path().to_string();
        let target = format!("http://{}{path}", client.host());
        let token = jsonrpc::base64::encode(format!("{user}:{password}"));
        Ok(QuickHttpTransport {
            client: Mutex::new(client),
            target,
            path,
            authorization: format!("Basic {token}"),
        })
    }

    fn request<R: serde::de::DeserializeOwned>(
        &self,
        body: &impl serde::Serialize,
    ) -> Result<R, jsonrpc::Error> {
        let body = serde_json::to_vec(body)?;
        let (status, reply) = self
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .post(&self.path, &self.authorization, &body)
            .map_err(|e| match e {
                // simple_http's words for any socket error, which classify() reads as an
                // unreachable node (or a timeout, by the socket's own words).
                HttpError::Io(io) => transport_error(format!("Couldn't connect to host: {io}")),
                e => transport_error(e.to_string()),
            })?;
        if status == 401 || status == 403 {
            return Err(transport_error(format!("unexpected HTTP code: {status}")));
        }
        // Bitcoin Core answers a failed call with a JSON error under HTTP 500: parse first.
        match serde_json::from_slice(&reply) {
            Ok(r) => Ok(r),
            Err(_) if status != 200 => {
                let text = body_start(&reply);
                Err(transport_error(if text.is_empty() {
                    format!("unexpected HTTP code: {status}")
                } else {
                    format!("unexpected HTTP code: {status} ({text})")
                }))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Transport for QuickHttpTransport {
    fn send_request(&self, request: Request) -> Result<Response, jsonrpc::Error> {
        self.request(&request)
    }

    fn send_batch(&self, requests: &[Request]) -> Result<Vec<Response>, jsonrpc::Error> {
        self.request(&requests)
    }

    fn fmt_target(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::http::tests::{reply, serve_requests};
    use bitcoincore_rpc::{Client, RpcApi};
    use std::time::Duration;

    fn client(url: &str) -> Client {
        let t = QuickHttpTransport::new(url, "user", "pass word", Duration::from_secs(5)).unwrap();
        Client::from_jsonrpc(jsonrpc::Client::with_transport(t))
    }

    #[test]
    fn calls_post_to_the_url_path_with_basic_auth_and_read_results_and_errors() {
        let (url, requests) = serve_requests(vec![
            reply("200 OK", r#"{"result":330,"error":null,"id":1}"#),
            reply(
                "500 Internal Server Error",
                r#"{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":2}"#,
            ),
            reply("401 Unauthorized", ""),
        ]);
        let c = client(&url);
        assert_eq!(c.call::<u64>("getblockcount", &[]).unwrap(), 330);
        let e = c
            .call::<String>("getblockhash", &[9999.into()])
            .unwrap_err();
        assert!(e.to_string().contains("code: -8"), "{e}");
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = c.call::<u64>("getblockcount", &[]).unwrap_err();
        assert!(e.to_string().contains("HTTP code: 401"), "{e}");
        let requests = requests.join().unwrap();
        assert_eq!(requests.len(), 3);
        let first = &requests[0];
        assert!(first.starts_with("POST /wallet/x HTTP/1.1\r\n"), "{first}");
        // base64("user:pass word")
        assert!(
            first.contains("\r\nAuthorization: Basic dXNlcjpwYXNzIHdvcmQ=\r\n"),
            "{first}"
        );
        assert!(first.contains("\"method\":\"getblockcount\""), "{first}");
        assert!(requests[1].contains("\"params\":[9999]"), "{}", requests[1]);
    }

    #[test]
    fn a_reply_that_is_not_json_is_named_by_its_status() {
        let (url, _) = serve_requests(vec![reply(
            "503 Service Unavailable",
            "Work queue depth exceeded",
        )]);
        let e = client(&url).call::<u64>("getblockcount", &[]).unwrap_err();
        assert!(e.to_string().contains("HTTP code: 503"), "{e}");
        assert!(e.to_string().contains("Work queue depth exceeded"), "{e}");
    }

    #[test]
    fn a_closed_port_is_a_connection_refused_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = client(&format!("http://127.0.0.1:{port}"))
            .call::<u64>("getblockcount", &[])
            .unwrap_err();
        assert!(
            e.to_string().to_lowercase().contains("connection refused"),
            "{e}"
        );
    }
}
