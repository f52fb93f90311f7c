/*
 * The HTTP/1.1 client. Every request owns one connection for the whole exchange:
 * it takes an idle one from the host's pool (most recently used first) or opens a
 * new one, and puts it back only when the response was complete, framed by
 * Content-Length or chunking, and not followed by stray bytes. So concurrent
 * requests to one host open more connections, and the pool keeps up to
 * max_idle_per_host of them for later, closing those idle longer than max_idle_age.
 *
 * https: the same over TLS (1.2 or later), the server's certificate verified
 * against the trusted authorities and the URL's host name (SNI sent for names);
 * a TLS connection is pooled like a plain one, under its own key.
 *
 * A pooled connection may have been closed by the server since (idle timeouts,
 * restarts). Before reuse we peek at the socket; when the close races with our
 * request anyway (the peer ends the connection before any response byte), the
 * request is sent once more on a fresh connection. The fresh attempt is never
 * retried.
 *
 * One deadline covers resolve, connect, write and read. If the awaiting coroutine
 * is cancelled or destroyed, the connection in use is closed with it (it lives in
 * the coroutine frame), so a half-finished exchange never returns to the pool.
 */
#include "switchyard/http/client.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <charconv>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace switchyard::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
// Idle connections younger than this are reused without checking that the peer still has them open.
constexpr std::chrono::seconds kPeekAfterIdle{1};
// Response headers from functions are small; this bounds memory against a broken or hostile peer.
constexpr uint32_t kResponseHeaderLimit = 64 * 1024;
// Interim 1xx responses a server may send before the real one; more than this is a broken peer.
constexpr int kMaxInterimResponses = 4;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A plain loop: find_first_of("\r\n") runs a memchr per character (it was most of a call's header work).
bool has_crlf(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n') {
      return true;
    }
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

Url Url::parse(std::string_view url) {
  Url out;
  std::string_view rest;
  if (url.size() >= 7 && iequals(url.substr(0, 7), "http://")) {
    rest = url.substr(7);
  } else if (url.size() >= 8 && iequals(url.substr(0, 8), "https://")) {
    rest = url.substr(8);
    out.tls = true;
    out.port = "443";
  } else {
    throw std::invalid_argument("not an http:// or https:// URL: " + std::string(url));
  }
  rest = rest.substr(0, rest.find('#'));
  size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view target = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("URLs with user info are not supported: " + std::string(url));
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("bad IPv6 host in URL: " + std::string(url));
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        throw std::invalid_argument("bad host in URL: " + std::string(url));
      }
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty() || has_crlf(host) || host.find_first_of(" \t") != std::string_view::npos) {
    throw std::invalid_argument("missing or bad host in URL: " + std::string(url));
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), value);
    if (r.ec != std::errc{} || r.ptr != port.data() + port.size() || value == 0 || value > 65535) {
      throw std::invalid_argument("bad port in URL: " + std::string(url));
    }
    out.port = std::to_string(value);
  }
  out.host = std::string(host);
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  if (has_crlf(out.target) || out.target.find(' ') != std::string::npos) {
    throw std::invalid_argument("bad path in URL: " + std::string(url));
  }
  return out;
}

// One connection with its read buffer (named outside Client: Client::Impl is private): a plain
// TCP stream, or TLS over one.
struct PooledConn {
  explicit PooledConn(const asio::any_io_executor& ex) : plain(std::in_place, ex) {}
  PooledConn(const asio::any_io_executor& ex, asio::ssl::context& ctx)
      : tls(std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, ctx)) {}
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  std::optional<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
};

struct Client::Impl {
  using Conn = PooledConn;
  using ConnPtr = std::unique_ptr<Conn>;

  Impl(asio::any_io_executor executor, ClientOptions opts) : ex(std::move(executor)), options(opts) {}

  ConnPtr take_idle(const std::string& key);
  void put_idle(const std::string& key, ConnPtr conn);
  asio::awaitable<ConnPtr> connect(const Url& url, std::chrono::steady_clock::time_point deadline);
  asio::ssl::context& tls_context(const std::string& where);

  asio::any_io_executor ex;
  ClientOptions options;
  std::unique_ptr<asio::ssl::context> tls_ctx;                // made at the first https call (loads the CAs)
  std::unordered_map<std::string, std::deque<ConnPtr>> idle;  // host:port -> idle connections, newest last
};

namespace {

// True when the peer has closed (or sent something unasked on) an idle connection.
bool looks_dead(tcp::socket& socket) {
  char c = 0;
  ssize_t r = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r < 0) {
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
  return true;  // 0 = EOF; > 0 = bytes nobody asked for
}

CallError to_call_error(const beast::error_code& ec, const std::string& where) {
  using Kind = CallError::Kind;
  if (ec == beast::error::timeout) {
    return {Kind::Timeout, where + ": timed out"};
  }
  if (ec == bhttp::error::body_limit) {
    return {Kind::TooLarge, where + ": response body too large"};
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return {Kind::TooLarge, where + ": response header too large"};
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
      ec == asio::error::not_connected) {
    return {Kind::Reset, where + ": connection closed: " + ec.message()};
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
    return {Kind::Protocol, where + ": bad response: " + ec.message()};
  }
  return {Kind::Reset, where + ": " + ec.message()};
}

// The request head, built once per call (a retry resends the same bytes).
std::string build_head(const Url& url, const Request& req) {
  for (const auto& [name, value] : req.headers) {
    if (has_crlf(name) || has_crlf(value)) {
      throw CallError(CallError::Kind::Protocol, "header " + lower(name) + " contains a line break");
    }
  }
  if (req.method.empty() || req.method.find_first_of(" \r\n") != std::string::npos) {
    throw CallError(CallError::Kind::Protocol, "bad method: " + req.method);
  }
  std::string head;
  head.reserve(256 + req.headers.size() * 48);
  head += req.method;
  head += ' ';
  head += url.target;
  head += " HTTP/1.1\r\n";
  if (req.header("Host").empty()) {
    head += "Host: ";
    bool v6 = url.host.find(':') != std::string::npos;
    head += v6 ? "[" + url.host + "]" : url.host;
    if (url.port != (url.tls ? "443" : "80")) {
      head += ':';
      head += url.port;
    }
    head += "\r\n";
  }
  for (const auto& [name, value] : req.headers) {
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection")) {
      continue;
    }
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  bool body_expected = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (!req.body.empty() || body_expected) {
    head += "Content-Length: ";
    head += std::to_string(req.body.size());
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

struct Exchange {
  beast::error_code ec;
  bool retriable = false;  // failed before any response byte arrived
  bool reusable = false;   // the connection may carry another request
  Response response;
};

template <typename Stream>
asio::awaitable<Exchange> exchange_on(Stream& stream, beast::flat_buffer& buffer, const std::string& head,
                                      const std::string& body, bool head_only, size_t body_limit) {
  Exchange out;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
  auto [wec, wn] = co_await asio::async_write(stream, bufs, kUse);
  if (wec) {
    out.ec = wec;
    out.retriable = wec != beast::error::timeout && wec != asio::error::operation_aborted;
    co_return out;
  }
  for (int interim = 0;; ++interim) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit);
    parser.header_limit(kResponseHeaderLimit);
    if (head_only) {
      parser.skip(true);
    }
    auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, kUse);
    if (rec) {
      out.ec = rec;
      out.retriable =
          !parser.got_some() && buffer.size() == 0 &&
          (rec == bhttp::error::end_of_stream || rec == asio::error::connection_reset || rec == asio::error::eof);
      co_return out;
    }
    auto& msg = parser.get();
    int status = static_cast<int>(msg.result_int());
    if (status >= 100 && status < 200) {
      if (interim + 1 >= kMaxInterimResponses) {
        out.ec = bhttp::error::bad_status;
        co_return out;
      }
      continue;  // 100 Continue, 103 Early Hints: the real answer follows
    }
    out.reusable = msg.keep_alive() && !parser.need_eof() && buffer.size() == 0;
    out.response.status = status;
    out.response.headers.reserve(16);
    for (const auto& field : msg) {
      out.response.headers.emplace_back(field.name_string(), field.value());
    }
    out.response.body = std::move(msg.body());
    co_return out;
  }
}

// A failed step of setting up a connection (`step`: "" for the TCP connect): a timeout and the
// caller's cancellation as such, anything else as `kind`.
[[noreturn]] void throw_setup_error(const beast::error_code& ec, const std::string& where, const std::string& step,
                                    CallError::Kind kind) {
  const std::string prefix = step.empty() ? ": " : ": " + step + " ";
  if (ec == beast::error::timeout) {
    throw CallError(CallError::Kind::Timeout, where + prefix + "timed out");
  }
  if (ec == asio::error::operation_aborted) {
    throw boost::system::system_error(ec, where);
  }
  throw CallError(kind, where + prefix + (step.empty() ? "" : "failed: ") + ec.message());
}

// Not a coroutine itself (one frame per call, not two): the caller's frame holds the arguments.
asio::awaitable<Exchange> exchange(PooledConn& conn, const std::string& head, const std::string& body, bool head_only,
                                   size_t body_limit) {
  if (conn.tls) {
    return exchange_on(*conn.tls, conn.buffer, head, body, head_only, body_limit);
  }
  return exchange_on(*conn.plain, conn.buffer, head, body, head_only, body_limit);
}

}  // namespace

Client::Impl::ConnPtr Client::Impl::take_idle(const std::string& key) {
  auto it = idle.find(key);
  if (it == idle.end()) {
    return nullptr;
  }
  auto& list = it->second;
  auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    ConnPtr conn = std::move(list.back());
    list.pop_back();
    auto idle_for = now - conn->idle_since;
    // A peek is a syscall per call: skip it for a connection idle for less than
    // kPeekAfterIdle (no server closes keep-alive connections that fast, and a
    // request sent on one that was closed anyway fails before any response byte
    // and is retried once on a fresh connection, see request()).
    if (idle_for < options.max_idle_age && (idle_for < kPeekAfterIdle || !looks_dead(conn->tcp().socket()))) {
      return conn;
    }
  }
  return nullptr;
}

void Client::Impl::put_idle(const std::string& key, ConnPtr conn) {
  auto& list = idle[key];
  auto now = std::chrono::steady_clock::now();
  // The oldest go first: after a burst, calls at a lower rate reuse the newest few, and the rest
  // would hold their sockets (and the server's) until the next burst.
  while (!list.empty() && now - list.front()->idle_since >= options.max_idle_age) {
    list.pop_front();
  }
  if (list.size() >= options.max_idle_per_host) {
    return;  // closes it
  }
  conn->idle_since = now;
  conn->tcp().expires_never();
  list.push_back(std::move(conn));
}

asio::awaitable<Client::Impl::ConnPtr> Client::Impl::connect(const Url& url,
                                                             std::chrono::steady_clock::time_point deadline) {
  std::string where = "connect to " + url.host + ":" + url.port;
  auto conn = url.tls ? std::make_unique<Conn>(ex, tls_context(where)) : std::make_unique<Conn>(ex);
  beast::tcp_stream& stream = conn->tcp();
  unsigned short port = static_cast<unsigned short>(std::stoul(url.port));
  beast::error_code ec;
  auto address = asio::ip::make_address(url.host, ec);
  const bool numeric = !ec;
  if (numeric) {
    // Numeric hosts (the common case on loopback and in clusters with IPs) skip the resolver thread.
    stream.expires_at(deadline);
    auto [cec] = co_await stream.async_connect(tcp::endpoint(address, port), kUse);
    ec = cec;
  } else {
    // getaddrinfo cannot be interrupted; on timeout we stop waiting for it.
    auto resolver = std::make_shared<tcp::resolver>(ex);
    asio::steady_timer timer(ex, deadline);
    timer.async_wait([resolver](const beast::error_code& tec) {
      if (!tec) {
        resolver->cancel();
      }
    });
    auto [rec, results] = co_await resolver->async_resolve(url.host, url.port, kUse);
    timer.cancel();
    if (rec) {
      if (rec == asio::error::operation_aborted && std::chrono::steady_clock::now() >= deadline) {
        throw CallError(CallError::Kind::Timeout, where + ": name resolution timed out");
      }
      throw CallError(CallError::Kind::Connect, where + ": cannot resolve host: " + rec.message());
    }
    stream.expires_at(deadline);
    auto [cec, ep] = co_await stream.async_connect(results, kUse);
    ec = cec;
  }
  if (ec) {
    throw_setup_error(ec, where, "", CallError::Kind::Connect);
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (url.tls) {
    auto& tls = *conn->tls;
    // SNI for names (not for address literals, RFC 6066); the certificate must match the host.
    if (!numeric) {
      // SSL_set_tlsext_host_name, without its C cast.
      SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(url.host.c_str()));
    }
    tls.set_verify_callback(asio::ssl::host_name_verification(url.host));
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kUse);
    if (hec) {
      // Not Connect: a certificate the client does not accept is no cold start to wait out.
      throw_setup_error(hec, where, "TLS handshake", CallError::Kind::Protocol);
    }
  }
  co_return conn;
}

asio::ssl::context& Client::Impl::tls_context(const std::string& where) {
  if (!tls_ctx) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    beast::error_code ec;
    if (options.ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      throw CallError(CallError::Kind::Protocol,
                      where + ": cannot load the trusted certificate authorities" +
                          (options.ca_file.empty() ? std::string() : " from " + options.ca_file) + ": " + ec.message());
    }
    tls_ctx = std::move(ctx);
  }
  return *tls_ctx;
}

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(ex), options)) {}

Client::~Client() = default;

asio::awaitable<Response> Client::request(const Url& url, const Request& req, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string head = build_head(url, req);
  bool head_only = req.method == "HEAD";
  // The pool's key: host:port, "tls:" first for https (short keys stay in the string's own buffer).
  std::string key = (url.tls ? "tls:" : "") + url.host + ":" + url.port;
  std::string where = req.method + (url.tls ? " https://" : " http://") + url.host + ":" + url.port + url.target;
  for (int attempt = 0;; ++attempt) {
    Impl::ConnPtr conn = attempt == 0 ? impl_->take_idle(key) : nullptr;
    bool reused = conn != nullptr;
    if (!conn) {
      conn = co_await impl_->connect(url, deadline);
    }
    conn->tcp().expires_at(deadline);
    Exchange result = co_await exchange(*conn, head, req.body, head_only, impl_->options.response_body_limit);
    if (!result.ec) {
      if (result.reusable) {
        impl_->put_idle(key, std::move(conn));
      }
      co_return std::move(result.response);
    }
    if (reused && result.retriable) {
      continue;  // the server had closed the idle connection; try once on a fresh one
    }
    if (result.ec == asio::error::operation_aborted) {
      throw boost::system::system_error(result.ec, where);  // cancelled by the caller, not a call failure
    }
    throw to_call_error(result.ec, where);
  }
}

}  // namespace switchyard::http
