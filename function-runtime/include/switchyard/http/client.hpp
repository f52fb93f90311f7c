#pragma once
/// An async HTTP/1.1 client with a keep-alive connection pool per host:port.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

#include "switchyard/http/message.hpp"

namespace switchyard::http {

/// A parsed http:// or https:// URL.
struct Url {
  bool tls = false;  ///< https: TLS 1.2+, the server's certificate checked against the host name
  std::string host;
  std::string port = "80";                 ///< 443 for https when the URL names none
  std::string target = "/";                ///< path + query
  static Url parse(std::string_view url);  ///< throws std::invalid_argument
};

/// Why a call produced no response.
class CallError : public std::runtime_error {
 public:
  enum class Kind { Connect, Timeout, Reset, Protocol, TooLarge };
  CallError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct ClientOptions {
  /// Idle keep-alive connections kept per host:port. Keep it at or above the calls one host
  /// sees at once: past it, every extra call opens (and closes) a TCP connection, which cost
  /// B2 at 128 workflows in flight a third of its steps/s when this was 64.
  size_t max_idle_per_host = 256;
  /// Idle connections older than this are closed, not reused: servers close idle keep-alive
  /// connections themselves (ours after 60 s, many proxies sooner).
  std::chrono::milliseconds max_idle_age{30'000};
  size_t response_body_limit = 8 * 1024 * 1024;  ///< a function answer larger than this is refused
  /// PEM file of the certificate authorities https servers are checked against; empty: the
  /// system's (OpenSSL's default paths: /etc/ssl/certs, or $SSL_CERT_FILE / $SSL_CERT_DIR).
  std::string ca_file{};
};

class Client {
 public:
  Client(boost::asio::any_io_executor ex, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends `req` to url.target (req.target is ignored) and returns the response.
  /// The whole exchange (connect, write, read) is bounded by `timeout`.
  /// Throws CallError. A request on a reused connection that the peer had
  /// closed is retried once on a fresh connection. `req` is read, not copied:
  /// it must outlive the call.
  boost::asio::awaitable<Response> request(const Url& url, const Request& req, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::http
