use std::io::Error as IoError;
use std::io::{self, Cursor, ErrorKind, Read, Write};

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::{HTTPVersion, Header, Method, Response, StatusCode};

/// Represents an HTTP request made by a client.
///
/// A `Request` object is what is produced by the server, and is your what
/// your code must analyse and answer.
///
/// This object implements the `Send` trait, therefore you can dispatch your requests to
/// worker threads.
///
/// # Pipelining
///
/// mt-trafmon patch: a connection's next request is read only once the
/// answer to the previous one has been written, so there is at most one
/// `Request` per connection at a time; a pipelining client waits for its
/// answers in order.
///
/// # Automatic cleanup
///
/// If a `Request` object is destroyed without `into_writer` or `respond` being called,
/// an empty response with a 500 status code (internal server error) will automatically be
/// sent back to the client.
/// This means that if your code fails during the handling of a request, this "internal server
/// error" response will automatically be sent during the stack unwinding.
///
/// # Testing
///
/// If you want to build fake requests to test your server, use [`TestRequest`](crate::test::TestRequest).
pub struct Request {
    // where to read the body from
    data_reader: Option<Box<dyn Read + Send + 'static>>,

    // if this writer is empty, then the request has been answered
    response_writer: Option<Box<dyn AnswerWrite + 'static>>,

    remote_addr: Option<SocketAddr>,

    // true if HTTPS, false if HTTP
    secure: bool,

    method: Method,

    path: String,

    http_version: HTTPVersion,

    headers: Vec<Header>,

    body_length: Option<usize>,

    // mt-trafmon patch: the hold on a large body, given back when the
    // request is dropped
    large: Option<crate::client::LargeBody>,
}

/// mt-trafmon patch: where a request's answer is written. `append` takes
/// a body that is already in memory as it is, without copying it (the
/// connection's thread writes it to the socket after what was written).
pub trait AnswerWrite: Write + Send {
    /// Appends `body` to the answer.
    fn append(&mut self, body: Vec<u8>) -> io::Result<()> {
        self.write_all(&body)
    }
}

impl AnswerWrite for io::Sink {}

/// Builds a new request.
///
/// mt-trafmon patch: the connection reads the body (bounded, see
/// `client.rs`) before the request is built, so `body` is all of it; the
/// `Content-Length`, `Transfer-Encoding` and `Expect` headers have been
/// dealt with there.
///
/// The `Write` object will be used by the `Request` to write the response.
#[allow(clippy::too_many_arguments)]
pub fn new_request<W>(
    secure: bool,
    method: Method,
    path: String,
    version: HTTPVersion,
    headers: Vec<Header>,
    remote_addr: Option<SocketAddr>,
    body: Vec<u8>,
    writer: W,
) -> Request
where
    W: AnswerWrite + 'static,
{
    let body_length = Some(body.len());
    Request {
        data_reader: Some(Box::new(Cursor::new(body)) as Box<dyn Read + Send + 'static>),
        response_writer: Some(Box::new(writer) as Box<dyn AnswerWrite + 'static>),
        remote_addr,
        secure,
        method,
        path,
        http_version: version,
        headers,
        body_length,
        large: None,
    }
}

impl Request {
    /// mt-trafmon patch: keeps `large` (a large body's hold) as long as
    /// the request.
    pub(crate) fn hold(&mut self, large: Option<crate::client::LargeBody>) {
        self.large = large;
    }

    /// Returns true if the request was made through HTTPS.
    #[inline]
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Returns the method requested by the client (eg. `GET`, `POST`, etc.).
    #[inline]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Returns the resource requested by the client.
    #[inline]
    pub fn url(&self) -> &str {
        &self.path
    }

    /// Returns a list of all headers sent by the client.
    #[inline]
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Returns the HTTP version of the request.
    #[inline]
    pub fn http_version(&self) -> &HTTPVersion {
        &self.http_version
    }

    /// Returns the length of the body in bytes.
    ///
    /// Returns `None` if the length is unknown.
    #[inline]
    pub fn body_length(&self) -> Option<usize> {
        self.body_length
    }

    /// Returns the address of the client that sent this request.
    ///
    /// The address is always `Some` for TCP listeners, but always `None` for UNIX listeners
    /// (as the remote address of a UNIX client is almost always unnamed).
    ///
    /// Note that this is gathered from the socket. If you receive the request from a proxy,
    /// this function will return the address of the proxy and not the address of the actual
    /// user.
    #[inline]
    pub fn remote_addr(&self) -> Option<&SocketAddr> {
        self.remote_addr.as_ref()
    }

    /// Allows to read the body of the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # extern crate rustc_serialize;
    /// # extern crate tiny_http;
    /// # use rustc_serialize::json::Json;
    /// # use std::io::Read;
    /// # fn get_content_type(_: &tiny_http::Request) -> &'static str { "" }
    /// # fn main() {
    /// # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
    /// let mut request = server.recv().unwrap();
    ///
    /// if get_content_type(&request) == "application/json" {
    ///     let mut content = String::new();
    ///     request.as_reader().read_to_string(&mut content).unwrap();
    ///     let json: Json = content.parse().unwrap();
    /// }
    /// # }
    /// ```
    ///
    /// mt-trafmon patch: the body was read whole before the request was
    /// made (an `Expect: 100-continue` was answered then).
    #[inline]
    pub fn as_reader(&mut self) -> &mut dyn Read {
        self.data_reader.as_mut().unwrap()
    }

    /// Turns the `Request` into a writer.
    ///
    /// The writer takes the whole answer, status line and headers included.
    /// This function is useful for things like CGI.
    ///
    /// mt-trafmon patch: what is written goes to the client once the
    /// writer is dropped (the connection's thread writes it), so drop it as
    /// soon as possible.
    #[inline]
    pub fn into_writer(mut self) -> Box<dyn AnswerWrite + 'static> {
        self.extract_writer_impl()
    }

    /// Extract the response `Writer` object from the Request, dropping this `Writer` has the same side effects
    /// as the object returned by `into_writer` above.
    ///
    /// This may only be called once on a single request.
    fn extract_writer_impl(&mut self) -> Box<dyn AnswerWrite + 'static> {
        use std::mem;

        assert!(self.response_writer.is_some());

        let mut writer = None;
        mem::swap(&mut self.response_writer, &mut writer);
        writer.unwrap()
    }

    /// Sends a response to this request.
    #[inline]
    pub fn respond<R>(mut self, response: Response<R>) -> Result<(), IoError>
    where
        R: Read,
    {
        self.respond_impl(response)
    }

    /// mt-trafmon patch: like [`Request::respond`] for a body in memory,
    /// which is handed on as it is instead of being copied into the answer
    /// (a series answer is hundreds of KB); sent with its length, not
    /// chunked (unless the client asks for chunks with `TE`, then it is
    /// copied as `respond` does).
    pub fn respond_data(mut self, response: Response<Cursor<Vec<u8>>>) -> Result<(), IoError> {
        let (head, body) = match response.into_head_and_body(&self.headers, &self.http_version) {
            Ok(split) => split,
            Err(response) => return self.respond_impl(response),
        };
        let send_body =
            self.method != Method::Head && !matches!(head.status_code().0, 100..=199 | 204 | 304);
        let mut writer = self.extract_writer_impl();
        Self::ignore_client_closing_errors(head.raw_print(
            writer.by_ref(),
            self.http_version.clone(),
            &self.headers,
            true,
            None,
        ))?;
        if send_body {
            Self::ignore_client_closing_errors(writer.append(body))?;
        }
        Self::ignore_client_closing_errors(writer.flush())
    }

    fn respond_impl<R>(&mut self, response: Response<R>) -> Result<(), IoError>
    where
        R: Read,
    {
        let mut writer = self.extract_writer_impl();

        let do_not_send_body = self.method == Method::Head;

        Self::ignore_client_closing_errors(response.raw_print(
            writer.by_ref(),
            self.http_version.clone(),
            &self.headers,
            do_not_send_body,
            None,
        ))?;

        Self::ignore_client_closing_errors(writer.flush())
    }

    fn ignore_client_closing_errors(result: io::Result<()>) -> io::Result<()> {
        result.or_else(|err| match err.kind() {
            ErrorKind::BrokenPipe => Ok(()),
            ErrorKind::ConnectionAborted => Ok(()),
            ErrorKind::ConnectionRefused => Ok(()),
            ErrorKind::ConnectionReset => Ok(()),
            _ => Err(err),
        })
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> Result<(), fmt::Error> {
        write!(
            formatter,
            "Request({} {} from {:?})",
            self.method, self.path, self.remote_addr
        )
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if self.response_writer.is_some() {
            let response = Response::empty(500);
            let _ = self.respond_impl(response); // ignoring any potential error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn must_be_send() {
        #![allow(dead_code)]
        fn f<T: Send>(_: &T) {}
        fn bar(rq: &Request) {
            f(rq);
        }
    }
}
