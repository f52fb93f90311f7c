// The client's https against a real TLS server on 127.0.0.1 with a certificate made for the
// test (OpenSSL, a throwaway EC key): trusted, untrusted, for another host, and a plain server.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "io_fixture.hpp"
#include "switchyard/http/client.hpp"
#include "switchyard/testing/process.hpp"
#include "switchyard/testing/tls.hpp"

namespace switchyard::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using testing::IoThread;
using testing::KeyAndCert;
using testing::make_certificate;
using testing::TlsEchoServer;

class HttpsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    io.stop();
    client.reset();
    server.reset();
  }

  // Trusts the certificate (its own authority) when `trust`, else the system's authorities.
  void start(const std::string& san, bool trust = true) {
    KeyAndCert kc = make_certificate(san);
    server = std::make_unique<TlsEchoServer>(kc);
    ClientOptions options;
    if (trust) {
      ca_file = (dir.path() / "ca.pem").string();
      std::ofstream(ca_file) << kc.cert_pem;
      options.ca_file = ca_file;
    }
    client = std::make_unique<Client>(io.executor(), options);
  }

  Response post(const std::string& url, const std::string& body) {
    return io.run([&]() -> asio::awaitable<Response> {
      Request req;
      req.method = "POST";
      req.body = body;
      co_return co_await client->request(Url::parse(url), req, 5s);
    });
  }

  // The CallError of a request that must fail.
  CallError failure(const std::string& url) {
    try {
      post(url, "x");
    } catch (const CallError& e) {
      return e;
    }
    ADD_FAILURE() << "expected a CallError for " << url;
    return CallError(CallError::Kind::Protocol, "");
  }

  testing::TempDir dir;
  IoThread io;
  std::unique_ptr<TlsEchoServer> server;
  std::unique_ptr<Client> client;
  std::string ca_file;
};

TEST_F(HttpsTest, ATrustedServerAnswersOverOneKeptAliveConnection) {
  start("IP:127.0.0.1");
  std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/fn?x=1";
  for (int i = 0; i < 3; ++i) {
    Response r = post(url, "hello " + std::to_string(i));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello " + std::to_string(i));
    EXPECT_EQ(r.header("x-target"), "/fn?x=1");
  }
  EXPECT_EQ(server->accepted(), 1);
}

TEST_F(HttpsTest, ACertificateForAnotherHostIsRefused) {
  start("DNS:other.example");
  CallError e = failure("https://127.0.0.1:" + std::to_string(server->port()) + "/");
  EXPECT_EQ(e.kind(), CallError::Kind::Protocol);
  EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();
}

TEST_F(HttpsTest, AnUntrustedCertificateIsRefused) {
  start("IP:127.0.0.1", /*trust=*/false);
  CallError e = failure("https://127.0.0.1:" + std::to_string(server->port()) + "/");
  EXPECT_EQ(e.kind(), CallError::Kind::Protocol);
  EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
}

TEST_F(HttpsTest, APlainHttpServerAtAnHttpsUrlIsAClearError) {
  start("IP:127.0.0.1");
  // A listener that answers plain HTTP to whatever arrives.
  tcp::acceptor plain(io.io(), {asio::ip::make_address("127.0.0.1"), 0});
  int port = plain.local_endpoint().port();
  io.call([&] {
    asio::co_spawn(
        io.io(),
        [&plain]() -> asio::awaitable<void> {
          auto [ec, s] = co_await plain.async_accept(asio::as_tuple(asio::use_awaitable));
          if (!ec) {
            std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            co_await asio::async_write(s, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
          }
        },
        asio::detached);
    return 0;
  });
  CallError e = failure("https://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_EQ(e.kind(), CallError::Kind::Protocol);
  EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();
  io.call([&] {
    beast::error_code ec;
    plain.close(ec);
    return 0;
  });
}

TEST_F(HttpsTest, AMissingCaFileIsAClearError) {
  start("IP:127.0.0.1", /*trust=*/false);
  client = std::make_unique<Client>(io.executor(), ClientOptions{.ca_file = (dir.path() / "missing.pem").string()});
  CallError e = failure("https://127.0.0.1:" + std::to_string(server->port()) + "/");
  EXPECT_NE(std::string(e.what()).find("missing.pem"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace switchyard::http
