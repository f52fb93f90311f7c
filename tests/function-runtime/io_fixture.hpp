#pragma once
/// Test helpers for the HTTP library: an io_context on a background thread (the
/// code under test stays single-threaded; the test thread only hands it work
/// and waits with a bound), and blocking raw-socket helpers for the cases a
/// well-behaved client cannot produce (garbage, slow senders, pipelining).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace switchyard::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() { stop(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  asio::io_context& io() { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }

  /// Stops the loop and joins; suspended coroutines never resume after this.
  void stop() {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  /// Starts coroutine function `f` on the io thread; the future holds its result.
  template <typename F>
  auto spawn(F f) {
    return asio::co_spawn(io_, std::move(f), asio::use_future);
  }

  /// Waits for a future from spawn()/call() up to `limit`; on timeout stops the loop first (so
  /// nothing on it touches the test's locals any more) and throws.
  template <typename T>
  T wait(std::future<T>& fut, std::chrono::milliseconds limit = 10s) {
    if (fut.wait_for(limit) != std::future_status::ready) {
      stop();
      throw std::runtime_error("io work did not finish in time");
    }
    return fut.get();
  }

  /// Runs coroutine function `f` on the io thread and returns its result (rethrows its exception).
  template <typename F>
  auto run(F f, std::chrono::milliseconds limit = 10s) {
    auto fut = spawn(std::move(f));
    return wait(fut, limit);
  }

  /// Runs plain function `f` on the io thread and returns its result.
  template <typename F>
  auto call(F f) -> decltype(f()) {
    using T = decltype(f());
    std::packaged_task<T()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return wait(fut);
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

/// A blocking loopback TCP connection.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  /// False when the peer has gone (EPIPE/ECONNRESET).
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// Reads what arrives within `limit`; `closed` tells whether the peer closed (EOF or reset).
  std::string read_for(std::chrono::milliseconds limit, bool* closed = nullptr) {
    std::string out;
    bool eof = read_some_until(out, limit, [](const std::string&) { return false; });
    if (closed != nullptr) {
      *closed = eof;
    }
    return out;
  }

  /// Reads until `count` complete responses (framed by Content-Length) arrived, the peer closed,
  /// or `limit` passed.
  std::string read_responses(size_t count, std::chrono::milliseconds limit = 5s, bool* closed = nullptr) {
    std::string out;
    bool eof = read_some_until(out, limit, [count](const std::string& s) { return complete_responses(s) >= count; });
    if (closed != nullptr) {
      *closed = eof;
    }
    return out;
  }

  /// Waits until the peer closes the connection; false if it is still open after `limit`.
  bool wait_closed(std::chrono::milliseconds limit) {
    std::string ignored;
    return read_some_until(ignored, limit, [](const std::string&) { return false; });
  }

  /// Counts complete responses in `s` (status line + headers + Content-Length body).
  static size_t complete_responses(const std::string& s) {
    size_t count = 0;
    size_t pos = 0;
    while (true) {
      auto end = s.find("\r\n\r\n", pos);
      if (end == std::string::npos) {
        return count;
      }
      std::string head = s.substr(pos, end - pos);
      size_t len = 0;
      for (auto& c : head) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      auto cl = head.find("content-length:");
      if (cl != std::string::npos) {
        len = std::stoul(head.substr(cl + 15));
      }
      if (head.rfind("http/1.1 100", 0) == 0) {
        len = 0;
      }
      if (s.size() < end + 4 + len) {
        return count;
      }
      pos = end + 4 + len;
      ++count;
    }
  }

 private:
  template <typename Done>
  bool read_some_until(std::string& out, std::chrono::milliseconds limit, Done done) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[65536];
    while (!done(out)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return false;
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        return true;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return false;
  }

  int fd_ = -1;
};

}  // namespace switchyard::testing
