#pragma once
/// TLS test parts: a throwaway certificate made with OpenSSL, and an HTTPS echo server on
/// 127.0.0.1 (its own thread) for the client's and the binary's https tests.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <string>
#include <thread>

namespace switchyard::testing {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

/// A self-signed certificate (its own authority, an EC P-256 key) for the subject alternative
/// names `san`, e.g. "IP:127.0.0.1" or "DNS:example.test". Throws std::runtime_error.
KeyAndCert make_certificate(const std::string& san);

/// HTTPS on 127.0.0.1: answers every request 200 with the request's body (Content-Type
/// application/json) and the header X-Target: <request target>; keep-alive.
class TlsEchoServer {
 public:
  explicit TlsEchoServer(const KeyAndCert& kc);
  ~TlsEchoServer();
  TlsEchoServer(const TlsEchoServer&) = delete;
  TlsEchoServer& operator=(const TlsEchoServer&) = delete;

  int port() const { return port_; }
  int accepted() const { return accepted_; }  ///< TCP connections accepted so far

 private:
  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace switchyard::testing
