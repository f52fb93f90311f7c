#pragma once
/// A small async HTTP/1.1 server on Boost.Beast with C++20 coroutines:
/// keep-alive, body size limit (413), header/body read timeouts, a cap on
/// connections, and a graceful drain (stop accepting, finish in-flight requests).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "switchyard/http/message.hpp"

namespace switchyard::http {

struct ServerOptions {
  size_t body_limit = 1024 * 1024;                ///< larger bodies get 413 (bounded memory per client)
  std::chrono::milliseconds read_timeout{10000};  ///< a request must arrive this fast (slowloris)
  std::chrono::milliseconds idle_timeout{60000};  ///< keep-alive connections close after this
  size_t max_connections = 10000;                 ///< beyond this, new connections are closed
};

/// Counters for /metrics and tests (read on the server's executor).
struct ServerStats {
  uint64_t accepted = 0;          ///< connections accepted since listen (including ones closed at the cap)
  uint64_t requests = 0;          ///< requests handed to the handler
  size_t active_connections = 0;  ///< open connections now
  size_t in_flight = 0;           ///< requests inside the handler now
};

/// The request handler. It may throw: the server answers 500 and logs.
using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

class Server {
 public:
  Server(boost::asio::any_io_executor ex, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts accepting (throws on bind failure). Port 0 picks a free port.
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  /// The bound endpoint (after listen).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  ServerStats stats() const;
  /// Stops accepting, lets in-flight requests finish (up to `grace`), closes idle connections.
  boost::asio::awaitable<void> drain(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace switchyard::http
