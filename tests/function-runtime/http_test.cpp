// The HTTP server and client against each other and against raw sockets, on 127.0.0.1.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "io_fixture.hpp"
#include "switchyard/http/client.hpp"
#include "switchyard/http/server.hpp"
#include "switchyard/testing/process.hpp"

namespace switchyard::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using testing::IoThread;
using testing::RawConn;
using Json = nlohmann::json;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// Answers "<method> <target>|<x-test header>|<body>"; /slow/<ms> waits first, /boom throws.
asio::awaitable<Response> echo_handler(Request& req) {
  if (req.path().starts_with("/slow/")) {
    co_await sleep_for(std::chrono::milliseconds(std::stoi(std::string(req.path().substr(6)))));
  }
  if (req.path() == "/boom") {
    throw std::runtime_error("handler failed on purpose");
  }
  Response res;
  res.status = req.path() == "/created" ? 201 : 200;
  res.headers.emplace_back("X-Reply", "yes");
  res.body = req.method + " " + req.target + "|" + std::string(req.header("x-test")) + "|" + req.body;
  co_return res;
}

// A hand-written server for client behaviour our own server never shows. `script(conn_index, socket)`
// handles each accepted connection; `accepted` counts them.
class ScriptedServer {
 public:
  using Script = std::function<asio::awaitable<void>(int, tcp::socket&)>;
  ScriptedServer(IoThread& io, Script script) : io_(io), acceptor_(io.io()) {
    io_.call([&] {
      acceptor_.open(tcp::v4());
      acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
      acceptor_.listen();
      port_ = acceptor_.local_endpoint().port();
      asio::co_spawn(acceptor_.get_executor(), accept_loop(std::move(script)), asio::detached);
      return 0;
    });
  }
  int port() const { return port_; }
  int accepted() {
    return io_.call([&] { return accepted_; });
  }

  // Reads one request head (these tests send GETs without bodies).
  static asio::awaitable<bool> read_head(tcp::socket& s, asio::streambuf& buf) {
    auto [ec, n] = co_await asio::async_read_until(s, buf, "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
    buf.consume(n);
    co_return !ec;
  }
  static asio::awaitable<void> write(tcp::socket& s, std::string data) {
    co_await asio::async_write(s, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  }

 private:
  asio::awaitable<void> accept_loop(Script script) {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      int index = accepted_++;
      asio::co_spawn(
          acceptor_.get_executor(),
          [script, index, s = std::move(socket)]() mutable -> asio::awaitable<void> { co_await script(index, s); },
          asio::detached);
    }
  }

  IoThread& io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  int accepted_ = 0;
};

class HttpTest : public ::testing::Test {
 protected:
  void TearDown() override {
    io.stop();  // first, so nothing on the loop runs while the servers and client go away
    client.reset();
    server.reset();
    scripted.reset();
  }

  void start(ServerOptions options = {}, Handler handler = echo_handler, ClientOptions client_options = {}) {
    io.call([&] {
      server = std::make_unique<Server>(io.executor(), options, std::move(handler));
      server->listen({asio::ip::make_address("127.0.0.1"), 0});
      client = std::make_unique<Client>(io.executor(), client_options);
      return 0;
    });
    port = io.call([&] { return static_cast<int>(server->local_endpoint().port()); });
  }

  ServerStats stats() {
    return io.call([&] { return server->stats(); });
  }

  Url url(const std::string& target) const { return Url::parse("http://127.0.0.1:" + std::to_string(port) + target); }

  // One client request on the io thread; rethrows CallError.
  Response call(const std::string& method, const std::string& target, std::string body = "",
                std::chrono::milliseconds timeout = 5s) {
    return io.run([&, body = std::move(body)]() -> asio::awaitable<Response> {
      Request req;
      req.method = method;
      req.headers.emplace_back("X-Test", "abc");
      req.body = body;
      co_return co_await client->request(url(target), std::move(req), timeout);
    });
  }

  // Starts a request without waiting for it.
  std::future<Response> call_async(const std::string& target, std::chrono::milliseconds timeout = 5s) {
    return io.spawn([this, target, timeout]() -> asio::awaitable<Response> {
      Request req;
      co_return co_await client->request(url(target), std::move(req), timeout);
    });
  }

  CallError::Kind error_kind(const std::string& target, std::chrono::milliseconds timeout = 5s) {
    try {
      call("GET", target, "", timeout);
    } catch (const CallError& e) {
      return e.kind();
    }
    ADD_FAILURE() << "expected a CallError for " << target;
    return CallError::Kind::Protocol;
  }

  IoThread io;
  std::unique_ptr<Server> server;
  std::unique_ptr<Client> client;
  std::unique_ptr<ScriptedServer> scripted;
  int port = 0;
};

std::string raw_get(const std::string& target, bool keep_alive = true) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

TEST_F(HttpTest, RoundTripCarriesMethodTargetHeadersBodyAndStatus) {
  start();
  Response res = call("POST", "/created?x=1", "hello");
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, "POST /created?x=1|abc|hello");
  EXPECT_EQ(res.header("x-reply"), "yes");
  EXPECT_EQ(res.header("content-length"), "27");
}

TEST_F(HttpTest, SequentialRequestsReuseOneKeepAliveConnection) {
  start();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(call("GET", "/n").status, 200);
  }
  auto s = stats();
  EXPECT_EQ(s.accepted, 1U);
  EXPECT_EQ(s.requests, 5U);
}

TEST_F(HttpTest, ConcurrentRequestsTakeTheirOwnConnectionsAndThePoolKeepsThem) {
  struct Case {
    size_t max_idle;
    uint64_t accepted_after_second_round;
  };
  for (Case c : {Case{64, 4}, Case{2, 6}}) {
    SCOPED_TRACE(c.max_idle);
    start({}, echo_handler, ClientOptions{.max_idle_per_host = c.max_idle});
    for (int round = 0; round < 2; ++round) {
      std::vector<std::future<Response>> calls;
      for (int i = 0; i < 4; ++i) {
        calls.push_back(call_async("/slow/100"));
      }
      for (auto& f : calls) {
        EXPECT_EQ(io.wait(f).status, 200);
      }
      if (round == 0) {
        EXPECT_EQ(stats().accepted, 4U);
      }
    }
    EXPECT_EQ(stats().accepted, c.accepted_after_second_round);
    io.call([&] {
      client.reset();
      server.reset();
      return 0;
    });
  }
}

// Calls beyond the pool's size would each open and close a TCP connection: at 128 workflows in
// flight against one function that cost B2 a third of its throughput when the default was 64.
TEST_F(HttpTest, TheDefaultPoolKeepsEveryConnectionOfA128CallBurst) {
  start();
  constexpr uint64_t kBurst = 128;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::future<Response>> calls;
    for (uint64_t i = 0; i < kBurst; ++i) {
      calls.push_back(call_async("/slow/200"));
    }
    for (auto& f : calls) {
      EXPECT_EQ(io.wait(f).status, 200);
    }
  }
  auto s = stats();
  EXPECT_EQ(s.requests, 2 * kBurst);
  EXPECT_EQ(s.accepted, kBurst);
}

TEST_F(HttpTest, IdleConnectionsPastTheirAgeAreClosedWhileTheNewestIsInUse) {
  start({}, echo_handler, ClientOptions{.max_idle_age = 300ms});
  std::vector<std::future<Response>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(call_async("/slow/100"));
  }
  for (auto& f : calls) {
    EXPECT_EQ(io.wait(f).status, 200);
  }
  EXPECT_EQ(stats().active_connections, 4U);
  // One call at a time reuses the newest connection; the three older ones age past 300 ms meanwhile.
  auto until = std::chrono::steady_clock::now() + 600ms;
  while (std::chrono::steady_clock::now() < until) {
    EXPECT_EQ(call("GET", "/n").status, 200);
    std::this_thread::sleep_for(50ms);
  }
  // The server sees the closes a moment later.
  for (int i = 0; i < 100 && stats().active_connections != 1; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  auto s = stats();
  EXPECT_EQ(s.active_connections, 1U);
  EXPECT_EQ(s.accepted, 4U);
}

TEST_F(HttpTest, BodyOverTheLimitGets413WithJsonError) {
  start(ServerOptions{.body_limit = 1024});
  auto res = testing::http_request(port, "POST", "/", std::string(100 * 1024, 'x'), {}, 5s);
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(Json::parse(res.body).value("error", ""), "PayloadTooLarge");
  // The client sees the answer too, although the server stopped reading the body.
  EXPECT_EQ(call("POST", "/", std::string(100 * 1024, 'x')).status, 413);
  // A body at the limit is fine.
  EXPECT_EQ(call("POST", "/", std::string(1024, 'x')).status, 200);
}

TEST_F(HttpTest, GarbageGets400AndTheConnectionIsClosed) {
  start();
  RawConn conn(port);
  conn.send("THIS IS NOT HTTP\r\n\r\n");
  bool closed = false;
  std::string out = conn.read_for(3s, &closed);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400")) << out;
  EXPECT_NE(out.find("\"error\":\"BadRequest\""), std::string::npos) << out;
  EXPECT_TRUE(closed);
}

TEST_F(HttpTest, OversizedHeaderGets431) {
  start();
  RawConn conn(port);
  conn.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  std::string out = conn.read_for(3s);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 431")) << out.substr(0, 100);
}

TEST_F(HttpTest, SlowSenderIsCutOffAtTheReadTimeout) {
  start(ServerOptions{.read_timeout = 200ms});
  RawConn conn(port);
  // One byte every 50 ms never trips a per-read timeout; the whole request must still come in 200 ms.
  std::string request = "GET /never-finished HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaa";
  auto begin = std::chrono::steady_clock::now();
  bool closed = false;
  for (char c : request) {
    if (!conn.send(std::string_view(&c, 1)) || conn.wait_closed(50ms)) {
      closed = true;
      break;
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(stats().requests, 0U);
}

TEST_F(HttpTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  start(ServerOptions{.idle_timeout = 200ms});
  RawConn conn(port);
  conn.send(raw_get("/a"));
  EXPECT_EQ(RawConn::complete_responses(conn.read_responses(1)), 1U);
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(conn.wait_closed(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 150ms);
}

TEST_F(HttpTest, HandlerExceptionGives500AndTheServerKeepsServing) {
  start();
  Response res = call("GET", "/boom");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(Json::parse(res.body).value("error", ""), "InternalError");
  EXPECT_EQ(call("GET", "/ok").status, 200);
}

TEST_F(HttpTest, HeadAnswersWithTheLengthButNoBody) {
  start();
  Response res = call("HEAD", "/abc");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "");
  EXPECT_EQ(res.header("content-length"), std::to_string(std::string("HEAD /abc|abc|").size()));
  // Framing stayed right: the same connection carries the next request.
  EXPECT_EQ(call("GET", "/abc").body, "GET /abc|abc|");
  EXPECT_EQ(stats().accepted, 1U);
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawConn conn(port);
  conn.send(raw_get("/slow/100") + raw_get("/fast"));
  std::string out = conn.read_responses(2);
  auto first = out.find("GET /slow/100");
  auto second = out.find("GET /fast");
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(second, std::string::npos) << out;
  EXPECT_LT(first, second);
}

TEST_F(HttpTest, ExpectContinueGets100BeforeTheBody) {
  start();
  RawConn conn(port);
  conn.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = conn.read_responses(1);
  EXPECT_TRUE(interim.starts_with("HTTP/1.1 100 Continue\r\n\r\n")) << interim;
  conn.send("hello");
  std::string out = conn.read_responses(1);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200")) << out;
  EXPECT_NE(out.find("POST /e||hello"), std::string::npos) << out;
}

TEST_F(HttpTest, ConnectionsBeyondTheCapAreClosed) {
  start(ServerOptions{.max_connections = 1});
  RawConn first(port);
  first.send(raw_get("/1"));
  EXPECT_EQ(RawConn::complete_responses(first.read_responses(1)), 1U);
  RawConn second(port);
  bool closed = false;
  std::string out = second.read_for(2s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(out, "");
  first.send(raw_get("/2"));
  EXPECT_EQ(RawConn::complete_responses(first.read_responses(1)), 1U);
}

TEST_F(HttpTest, ClientTimeoutIsCallErrorTimeout) {
  start();
  auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(error_kind("/slow/3000", 100ms), CallError::Kind::Timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1500ms);
}

TEST_F(HttpTest, RefusedConnectionIsCallErrorConnect) {
  start();
  port = testing::free_port();  // nothing listens there
  EXPECT_EQ(error_kind("/"), CallError::Kind::Connect);
}

TEST_F(HttpTest, ResponseOverTheClientLimitIsCallErrorTooLarge) {
  start({}, echo_handler, ClientOptions{.response_body_limit = 8});
  EXPECT_EQ(error_kind("/this-answer-is-longer-than-eight-bytes"), CallError::Kind::TooLarge);
}

TEST_F(HttpTest, PooledConnectionClosedByTheServerIsReplaced) {
  start(ServerOptions{.idle_timeout = 100ms});
  EXPECT_EQ(call("GET", "/1").status, 200);
  std::this_thread::sleep_for(300ms);  // the server closes the idle connection meanwhile
  EXPECT_EQ(call("GET", "/2").status, 200);
  EXPECT_EQ(stats().accepted, 2U);
}

TEST_F(HttpTest, APostOnAConnectionTheServerJustClosedIsSentOnceOnAFreshOne) {
  // Idle for less than a second: reused without a liveness peek, so the write
  // goes to a closed connection, fails before any response byte, and is retried.
  start(ServerOptions{.idle_timeout = 50ms});
  EXPECT_EQ(call("POST", "/1").status, 200);
  ASSERT_TRUE(testing::wait_until([&] { return stats().active_connections == 0; }, 2s));
  Response second = call("POST", "/2", "payload");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "POST /2|abc|payload");
  EXPECT_EQ(stats().accepted, 2U);
  EXPECT_EQ(stats().requests, 2U);  // neither call reached the handler twice
}

TEST_F(HttpTest, DrainLetsTheInFlightRequestFinishThenStopsAccepting) {
  start();
  auto pending = call_async("/slow/300");
  ASSERT_TRUE(testing::wait_until([&] { return stats().in_flight == 1; }, 3s));
  auto begin = std::chrono::steady_clock::now();
  io.run([&]() -> asio::awaitable<void> { co_await server->drain(5s); });
  auto drain_time = std::chrono::steady_clock::now() - begin;
  Response res = io.wait(pending);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("connection"), "close");
  EXPECT_GE(drain_time, 150ms);
  EXPECT_LT(drain_time, 3s);
  EXPECT_EQ(error_kind("/after"), CallError::Kind::Connect);
}

TEST_F(HttpTest, DrainClosesIdleKeepAliveConnectionsAtOnce) {
  start();
  EXPECT_EQ(call("GET", "/1").status, 200);  // leaves an idle keep-alive connection
  EXPECT_EQ(stats().active_connections, 1U);
  auto begin = std::chrono::steady_clock::now();
  io.run([&]() -> asio::awaitable<void> { co_await server->drain(5s); });
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_TRUE(testing::wait_until([&] { return stats().active_connections == 0; }, 2s));
}

TEST_F(HttpTest, DrainCutsRequestsThatOutliveTheGracePeriod) {
  start();
  auto pending = call_async("/slow/5000");
  ASSERT_TRUE(testing::wait_until([&] { return stats().in_flight == 1; }, 3s));
  auto begin = std::chrono::steady_clock::now();
  io.run([&]() -> asio::awaitable<void> { co_await server->drain(100ms); });
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  // The server closed the connection under the request; its handler is still waiting.
  try {
    io.wait(pending);
    ADD_FAILURE() << "the request should have failed";
  } catch (const CallError& e) {
    EXPECT_EQ(e.kind(), CallError::Kind::Reset) << e.what();
  }
}

TEST_F(HttpTest, CancelledRequestEndsPromptlyAndLeavesTheClientUsable) {
  start();
  auto begin = std::chrono::steady_clock::now();
  size_t winner = io.run([&]() -> asio::awaitable<size_t> {
    using namespace asio::experimental::awaitable_operators;
    Request req;
    auto result = co_await (client->request(url("/slow/3000"), std::move(req), 5s) || sleep_for(50ms));
    co_return result.index();
  });
  EXPECT_EQ(winner, 1U);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_EQ(call("GET", "/after").body, "GET /after|abc|");
  EXPECT_EQ(stats().accepted, 2U);  // the cancelled exchange's connection was not reused
}

TEST(UrlTest, ParsesHttpUrls) {
  struct Case {
    std::string url, host, port, target;
  };
  for (const auto& c : std::vector<Case>{
           {"http://example.com", "example.com", "80", "/"},
           {"http://127.0.0.1:8080/fn/echo?x=1&y=2", "127.0.0.1", "8080", "/fn/echo?x=1&y=2"},
           {"HTTP://Host:9/", "Host", "9", "/"},
           {"http://h?q=1", "h", "80", "/?q=1"},
           {"http://h/p#frag", "h", "80", "/p"},
           {"http://[::1]:8081/x", "::1", "8081", "/x"},
           {"https://example.com/a", "example.com", "443", "/a"},
           {"HTTPS://h:8443", "h", "8443", "/"},
       }) {
    SCOPED_TRACE(c.url);
    Url u = Url::parse(c.url);
    EXPECT_EQ(u.host, c.host);
    EXPECT_EQ(u.port, c.port);
    EXPECT_EQ(u.target, c.target);
    EXPECT_EQ(u.tls, c.url.starts_with("https") || c.url.starts_with("HTTPS"));
  }
}

TEST(UrlTest, RejectsWhatTheClientCannotCall) {
  for (const char* bad : {"ftp://h/", "example.com", "http://", "https://", "http://:80/", "http://h:0/",
                          "http://h:65536/", "http://h:8x/", "http://user@h/", "http://[::1/"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(Url::parse(bad), std::invalid_argument);
  }
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST_F(HttpTest, RequestIsRetriedOnceWhenAReusedConnectionDiesBeforeAnswering) {
  start();
  // Connection 0 answers one request, then reads the next and hangs up; later connections answer.
  scripted = std::make_unique<ScriptedServer>(io, [](int index, tcp::socket& s) -> asio::awaitable<void> {
    asio::streambuf buf;
    if (index == 0) {
      if (co_await ScriptedServer::read_head(s, buf)) {
        co_await ScriptedServer::write(s, std::string(kOk));
        if (co_await ScriptedServer::read_head(s, buf)) {
          s.close();
        }
      }
      co_return;
    }
    while (co_await ScriptedServer::read_head(s, buf)) {
      co_await ScriptedServer::write(s, std::string(kOk));
    }
  });
  port = scripted->port();
  EXPECT_EQ(call("GET", "/1").body, "ok");
  EXPECT_EQ(call("GET", "/2").body, "ok");
  EXPECT_EQ(scripted->accepted(), 2);
}

TEST_F(HttpTest, FreshConnectionClosedWithoutAnswerIsCallErrorResetAndNotRetried) {
  start();
  scripted = std::make_unique<ScriptedServer>(io, [](int, tcp::socket& s) -> asio::awaitable<void> {
    asio::streambuf buf;
    if (co_await ScriptedServer::read_head(s, buf)) {
      s.close();
    }
  });
  port = scripted->port();
  EXPECT_EQ(error_kind("/"), CallError::Kind::Reset);
  EXPECT_EQ(scripted->accepted(), 1);
}

TEST_F(HttpTest, MalformedResponseIsCallErrorProtocol) {
  start();
  scripted = std::make_unique<ScriptedServer>(io, [](int, tcp::socket& s) -> asio::awaitable<void> {
    asio::streambuf buf;
    if (co_await ScriptedServer::read_head(s, buf)) {
      co_await ScriptedServer::write(s, "SPLAT 200 what\r\n\r\n");
    }
  });
  port = scripted->port();
  EXPECT_EQ(error_kind("/"), CallError::Kind::Protocol);
}

}  // namespace
}  // namespace switchyard::http
