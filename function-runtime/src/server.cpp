/*
 * The HTTP/1.1 server: one accept loop and one coroutine per connection, all on
 * one executor (no locks). A connection handles its requests strictly in order
 * (pipelined requests wait in the connection's buffer), so responses can never
 * be reordered.
 *
 * Reading is done by hand around Beast's parser instead of http::async_read, for
 * three reasons: the time a keep-alive connection may sit idle (idle_timeout)
 * differs from the time a started request has to arrive in full (read_timeout,
 * the slowloris bound); "Expect: 100-continue" has to be answered between header
 * and body; and a request that is already in the buffer is parsed without another
 * trip through the executor. Responses are written as one gather write of a head
 * built in a reused string plus the body, which skips Beast's field container.
 *
 * Draining: the acceptor closes, idle keep-alive connections are closed at once,
 * a connection with a request under way finishes it and answers with
 * "Connection: close"; connections still open when the grace period ends are closed.
 */
#include "switchyard/http/server.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <list>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace switchyard::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
// Protocol headers (traceparent, ce-*, task tokens) fit easily; bounds memory per connection.
constexpr uint32_t kHeaderLimit = 16 * 1024;
// A client that stops reading our response cannot pin a connection for longer than this.
constexpr std::chrono::seconds kWriteTimeout{30};
// After an error answer we keep reading (and discarding) briefly so that a client that is still
// sending its body sees our answer instead of a TCP reset; bounded in time and bytes.
constexpr std::chrono::seconds kLingerTime{1};
constexpr size_t kLingerBytes = 4 * 1024 * 1024;
// accept() failures such as EMFILE repeat immediately; back off instead of spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{50};

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

// The Date header, formatted at most once per second.
std::string_view http_date() {
  thread_local std::time_t cached = 0;
  thread_local std::array<char, 64> buf{};
  thread_local size_t len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = now;
  }
  return {buf.data(), len};
}

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

void append_number(std::string& out, uint64_t n) {
  std::array<char, 24> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out.append(buf.data(), r.ptr);
}

// Builds the status line and headers. Framing headers from the handler are replaced by ours.
void build_head(std::string& head, const Response& res, size_t content_length, bool keep_alive, bool http10) {
  head.clear();
  head += "HTTP/1.1 ";
  append_number(head, static_cast<uint64_t>(res.status));
  head += ' ';
  head += bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
  head += "\r\nDate: ";
  head += http_date();
  head += "\r\n";
  for (const auto& [name, value] : res.headers) {
    if (name.empty() || has_crlf(name) || has_crlf(value) || iequals(name, "content-length") ||
        iequals(name, "transfer-encoding") || iequals(name, "connection") || iequals(name, "date")) {
      continue;
    }
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (res.status != 204 && res.status != 304) {
    head += "Content-Length: ";
    append_number(head, content_length);
    head += "\r\n";
  }
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (http10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
}

Response error_response(int status, std::string_view code, std::string_view message) {
  Response res;
  res.status = status;
  res.headers.emplace_back("Content-Type", "application/json");
  res.body = nlohmann::json{{"error", code}, {"message", message}}.dump();
  return res;
}

}  // namespace

// The server's state. Named outside Server so the coroutines below can use it (Server::Impl is private).
struct ServerCore {
  struct Conn {
    beast::tcp_stream* stream;
    bool idle;  // waiting for the next request on a kept-alive connection
  };

  ServerCore(asio::any_io_executor executor, ServerOptions opts, Handler h)
      : ex(std::move(executor)), options(opts), handler(std::move(h)), acceptor(ex), drain_timer(ex) {}

  void close_connections(bool idle_only) {
    for (auto& c : conns) {
      if (!idle_only || c.idle) {
        c.stream->close();
      }
    }
  }

  asio::any_io_executor ex;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::list<Conn> conns;
  ServerStats stats;
  bool listening = false;
  bool draining = false;
  asio::steady_timer drain_timer;  // the end of the grace period; cancelled when the last connection ends
};

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

namespace {

using Impl = ServerCore;

// Removes a connection from the server's books however its coroutine ends (even when the frame
// is destroyed with the io_context).
struct ConnGuard {
  std::shared_ptr<Impl> self;
  std::list<Impl::Conn>::iterator it;
  ~ConnGuard() {
    self->conns.erase(it);
    --self->stats.active_connections;
    if (self->draining && self->stats.active_connections == 0) {
      self->drain_timer.cancel();
    }
  }
};

// Half-closes, then discards what the client still sends for a short while, then closes.
asio::awaitable<void> linger_close(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(kLingerTime);
  size_t total = 0;
  while (!ec && total < kLingerBytes) {
    buffer.clear();
    auto [rec, n] = co_await stream.async_read_some(buffer.prepare(64 * 1024), kUse);
    ec = rec;
    total += n;
  }
  stream.close();
}

asio::awaitable<bool> write_response(beast::tcp_stream& stream, std::string& head, const Response& res, bool head_only,
                                     bool keep_alive, bool http10) {
  build_head(head, res, res.body.size(), keep_alive, http10);
  bool send_body = !head_only && res.status != 204 && res.status != 304;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head),
                                         asio::buffer(res.body.data(), send_body ? res.body.size() : 0)};
  stream.expires_after(kWriteTimeout);
  auto [ec, n] = co_await asio::async_write(stream, bufs, kUse);
  co_return !ec;
}

void fill_request(Request& req, bhttp::request<bhttp::string_body>& msg) {
  // Assign into the per-connection Request so its strings keep their capacity across requests.
  req.method.assign(msg.method_string());
  req.target.assign(msg.target());
  size_t n = 0;
  for (const auto& field : msg) {
    if (n < req.headers.size()) {
      req.headers[n].first.assign(field.name_string());
      req.headers[n].second.assign(field.value());
    } else {
      req.headers.emplace_back(field.name_string(), field.value());
    }
    ++n;
  }
  req.headers.resize(n);
  req.body = std::move(msg.body());
}

enum class ReadOutcome { Request, Closed, BadRequest, TooLarge, HeaderTooLarge };

asio::awaitable<void> session(std::shared_ptr<Impl> self, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  ++self->stats.active_connections;
  ConnGuard guard{self, self->conns.insert(self->conns.end(), Impl::Conn{&stream, false})};
  Impl::Conn& conn = *guard.it;
  const ServerOptions& opts = self->options;

  beast::flat_buffer buffer;
  Request req;
  std::string head;
  bool first = true;

  for (;;) {
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    parser.emplace();
    parser->body_limit(opts.body_limit);
    parser->header_limit(kHeaderLimit);
    parser->eager(true);

    // Read one request. Until its first byte arrives the connection is idle; from then on the
    // whole request must arrive within read_timeout.
    ReadOutcome outcome = ReadOutcome::Request;
    bool started = buffer.size() > 0;
    bool continue_sent = false;
    auto deadline = std::chrono::steady_clock::now() + opts.read_timeout;
    if (!started) {
      if (self->draining && !first) {
        co_return;
      }
      // A fresh connection has read_timeout to send its first request; a kept-alive one may idle.
      stream.expires_after(first ? opts.read_timeout : opts.idle_timeout);
    }
    for (;;) {
      if (buffer.size() > 0) {
        if (!started) {
          started = true;
          deadline = std::chrono::steady_clock::now() + opts.read_timeout;
        }
        beast::error_code ec;
        size_t used = parser->put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == bhttp::error::need_more) {
          ec = {};
        } else if (ec == bhttp::error::body_limit) {
          outcome = ReadOutcome::TooLarge;
          break;
        } else if (ec == bhttp::error::header_limit) {
          outcome = ReadOutcome::HeaderTooLarge;
          break;
        } else if (ec) {
          outcome = ReadOutcome::BadRequest;
          break;
        } else if (parser->is_done()) {
          break;
        } else if (used > 0 && buffer.size() > 0) {
          continue;
        }
      }
      if (started) {
        stream.expires_at(deadline);
      }
      if (!continue_sent && parser->is_header_done() && iequals(parser->get()[bhttp::field::expect], "100-continue")) {
        // The client waits for this before sending its body (curl does for bodies > 1 KiB).
        continue_sent = true;
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(kContinue), kUse);
        if (wec) {
          co_return;
        }
      }
      conn.idle = !started && !first;
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 64 * 1024)), kUse);
      conn.idle = false;
      buffer.commit(n);
      if (ec == asio::error::eof && started) {
        outcome = ReadOutcome::BadRequest;  // the connection ended inside a request
        break;
      }
      if (ec) {
        // EOF between requests, a timeout, a reset, or the server closing the connection.
        co_return;
      }
    }
    first = false;

    if (outcome != ReadOutcome::Request) {
      Response res = outcome == ReadOutcome::TooLarge
                         ? error_response(413, "PayloadTooLarge",
                                          "request body exceeds " + std::to_string(opts.body_limit) + " bytes")
                     : outcome == ReadOutcome::HeaderTooLarge
                         ? error_response(431, "RequestHeaderFieldsTooLarge", "request header is too large")
                         : error_response(400, "BadRequest", "malformed HTTP request");
      if (co_await write_response(stream, head, res, false, false, false)) {
        co_await linger_close(stream, buffer);
      }
      co_return;
    }

    auto& msg = parser->get();
    bool keep_alive = msg.keep_alive();
    bool http10 = msg.version() < 11;
    bool head_only = msg.method() == bhttp::verb::head;
    fill_request(req, msg);
    parser.reset();

    Response res;
    bool failed = false;
    ++self->stats.requests;
    ++self->stats.in_flight;
    try {
      res = co_await self->handler(req);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "http server: handler for %s %s threw: %s\n", req.method.c_str(), req.target.c_str(),
                   e.what());
      failed = true;
    } catch (...) {
      std::fprintf(stderr, "http server: handler for %s %s threw a non-exception\n", req.method.c_str(),
                   req.target.c_str());
      failed = true;
    }
    --self->stats.in_flight;
    if (failed) {
      res = error_response(500, "InternalError", "internal server error");
    } else if (res.status < 200 || res.status > 599) {
      std::fprintf(stderr, "http server: handler for %s %s returned status %d\n", req.method.c_str(),
                   req.target.c_str(), res.status);
      res = error_response(500, "InternalError", "internal server error");
    }
    keep_alive = keep_alive && !self->draining && !iequals(res.header("Connection"), "close");
    if (!co_await write_response(stream, head, res, head_only, keep_alive, http10)) {
      co_return;
    }
    if (!keep_alive) {
      beast::error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

asio::awaitable<void> session_entry(std::shared_ptr<Impl> self, tcp::socket socket) {
  try {
    co_await session(std::move(self), std::move(socket));
  } catch (const std::exception& e) {
    // Only resource exhaustion gets here (bad_alloc); the connection is dropped, the server lives on.
    std::fprintf(stderr, "http server: connection failed: %s\n", e.what());
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
  while (self->acceptor.is_open()) {
    auto [ec, socket] = co_await self->acceptor.async_accept(kUse);
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) {
        co_return;
      }
      std::fprintf(stderr, "http server: accept failed: %s\n", ec.message().c_str());
      asio::steady_timer backoff(self->ex, kAcceptBackoff);
      co_await backoff.async_wait(kUse);
      continue;
    }
    ++self->stats.accepted;
    if (self->draining || self->stats.active_connections >= self->options.max_connections) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(self->ex, session_entry(self, std::move(socket)), asio::detached);
  }
}

}  // namespace

Server::Server(asio::any_io_executor ex, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(std::move(ex), options, std::move(handler))) {}

Server::~Server() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
  impl_->close_connections(false);
}

void Server::listen(const tcp::endpoint& endpoint) {
  if (impl_->listening) {
    throw std::logic_error("Server::listen called twice");
  }
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->listening = true;
  asio::co_spawn(impl_->ex, accept_loop(impl_), asio::detached);
}

tcp::endpoint Server::local_endpoint() const { return impl_->acceptor.local_endpoint(); }

ServerStats Server::stats() const { return impl_->stats; }

asio::awaitable<void> Server::drain(std::chrono::milliseconds grace) {
  auto self = impl_;
  self->draining = true;
  beast::error_code ec;
  self->acceptor.close(ec);
  self->close_connections(true);
  if (self->stats.active_connections > 0) {
    self->drain_timer.expires_after(grace);
    co_await self->drain_timer.async_wait(kUse);
  }
  if (self->stats.active_connections > 0) {
    std::fprintf(stderr, "http server: closing %zu connection(s) still busy after the drain grace period\n",
                 self->stats.active_connections);
    self->close_connections(false);
  }
}

}  // namespace switchyard::http
