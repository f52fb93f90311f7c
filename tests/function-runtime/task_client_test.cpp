// function::TaskClient against a real HTTP server on 127.0.0.1 that plays the gateway's
// /v1/tasks API with scripted answers: request shape, status mapping, retries and their bounds.
#include "switchyard/function/task_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <mutex>

#include "io_fixture.hpp"
#include "switchyard/http/server.hpp"

namespace switchyard::function {
namespace {

using switchyard::testing::IoThread;
using Json = nlohmann::json;
using namespace std::chrono_literals;

struct Answer {
  int status = 200;
  std::string body = R"({"accepted": true})";
  std::chrono::milliseconds delay{0};
};

// A fake gateway: answers requests from a script (then 200), records what it got.
class FakeGateway {
 public:
  FakeGateway() {
    server_ = io_.call([this] {
      auto s = std::make_unique<http::Server>(io_.executor(), http::ServerOptions{},
                                              [this](http::Request& req) { return handle(req); });
      s->listen({boost::asio::ip::make_address("127.0.0.1"), 0});
      return s;
    });
    port_ = io_.call([this] { return static_cast<int>(server_->local_endpoint().port()); });
  }
  ~FakeGateway() {
    io_.call([this] {
      server_.reset();
      return 0;
    });
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void script(std::vector<Answer> answers) {
    std::lock_guard lock(mu_);
    answers_.assign(answers.begin(), answers.end());
  }
  std::vector<http::Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  boost::asio::awaitable<http::Response> handle(http::Request& req) {
    Answer a;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      if (!answers_.empty()) {
        a = answers_.front();
        answers_.pop_front();
      }
    }
    if (a.delay.count() > 0) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, a.delay);
      co_await t.async_wait(boost::asio::use_awaitable);
    }
    http::Response res;
    res.status = a.status;
    res.headers.emplace_back("Content-Type", "application/json");
    res.body = a.body;
    co_return res;
  }

  IoThread io_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  std::deque<Answer> answers_;
  std::vector<http::Request> requests_;
};

TaskClientOptions quick(std::chrono::milliseconds budget = 0ms) {
  TaskClientOptions o;
  o.request_timeout = 2000ms;
  o.retry_budget = budget;
  return o;
}

TEST(TaskClientTest, SendsEachCompletionToItsRouteWithItsBody) {
  FakeGateway gw;
  TaskClientOptions o = quick();
  o.bearer_token = "s3cret";
  TaskClient client(gw.url() + "/", o);  // a trailing slash is tolerated
  client.success("x_0_ab", Json{{"answer", 42}});
  client.failure("x_0_cd", "Agent.Failed", "it broke");
  client.heartbeat("x_0_ef");
  auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 3U);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/tasks/x_0_ab/success");
  EXPECT_EQ(Json::parse(reqs[0].body), (Json{{"output", {{"answer", 42}}}}));
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].header("authorization"), "Bearer s3cret");
  EXPECT_EQ(reqs[1].target, "/v1/tasks/x_0_cd/failure");
  EXPECT_EQ(Json::parse(reqs[1].body), (Json{{"error", "Agent.Failed"}, {"cause", "it broke"}}));
  EXPECT_EQ(reqs[2].target, "/v1/tasks/x_0_ef/heartbeat");
}

TEST(TaskClientTest, TokenStaysOnePathSegment) {
  FakeGateway gw;
  TaskClient client(gw.url(), quick());
  client.heartbeat("a/b c?d");
  ASSERT_EQ(gw.requests().size(), 1U);
  EXPECT_EQ(gw.requests()[0].target, "/v1/tasks/a%2Fb%20c%3Fd/heartbeat");
}

TEST(TaskClientTest, RefusalsThrowTheirKindWithoutRetrying) {
  struct Case {
    int status;
    TaskError::Kind kind;
  };
  for (const auto& c : std::vector<Case>{{404, TaskError::Kind::Unknown},
                                         {409, TaskError::Kind::AlreadyCompleted},
                                         {410, TaskError::Kind::Gone},
                                         {413, TaskError::Kind::TooLarge},
                                         {400, TaskError::Kind::Rejected},
                                         {500, TaskError::Kind::Unavailable}}) {
    FakeGateway gw;
    gw.script({{c.status, R"({"error": "X", "message": "the server says no"})"}});
    TaskClient client(gw.url(), quick(5000ms));  // a retry budget, which refusals must not use
    try {
      client.success("x_0_ab", nullptr);
      ADD_FAILURE() << "no exception for " << c.status;
    } catch (const TaskError& e) {
      EXPECT_EQ(e.kind(), c.kind) << c.status;
      EXPECT_EQ(e.status(), c.status);
      EXPECT_NE(std::string(e.what()).find("the server says no"), std::string::npos) << e.what();
    }
    EXPECT_EQ(gw.requests().size(), 1U) << c.status;
  }
}

TEST(TaskClientTest, RetriesUnavailableAnswersInsideTheBudget) {
  FakeGateway gw;
  gw.script({{503, "{}"}, {502, "{}"}, {200}});
  TaskClient client(gw.url(), quick(5000ms));
  client.heartbeat("x_0_ab");
  EXPECT_EQ(gw.requests().size(), 3U);
}

TEST(TaskClientTest, A409AfterALostAnswerSaysThatTheEarlierAttemptMayHaveCompletedIt) {
  FakeGateway gw;
  gw.script({{503, "{}"}, {409, R"({"message": "this task token was already used"})"}});
  TaskClient client(gw.url(), quick(5000ms));
  try {
    client.success("x_0_ab", 1);
    ADD_FAILURE() << "no exception";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.kind(), TaskError::Kind::AlreadyCompleted);
    EXPECT_NE(std::string(e.what()).find("may have completed it"), std::string::npos) << e.what();
  }
}

TEST(TaskClientTest, RefusedConnectionsAreRetriedUntilTheBudgetThenUnavailable) {
  int port = 0;
  {
    FakeGateway gone;  // a port that was just listening and is closed now
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  TaskClient client("http://127.0.0.1:" + std::to_string(port), quick(700ms));
  auto start = std::chrono::steady_clock::now();
  try {
    client.success("x_0_ab", 1);
    ADD_FAILURE() << "no exception";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.kind(), TaskError::Kind::Unavailable);
    EXPECT_EQ(e.status(), 0);
  }
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);   // it did retry (backoff 100, 200 ms, ...)
  EXPECT_LT(took, 3000ms);  // and stopped near the budget
}

TEST(TaskClientTest, AHungServerIsBoundedByTheRequestTimeout) {
  FakeGateway gw;
  gw.script({{200, "{}", 5000ms}});
  TaskClientOptions o;
  o.request_timeout = 300ms;
  o.retry_budget = 0ms;
  TaskClient client(gw.url(), o);
  auto start = std::chrono::steady_clock::now();
  try {
    client.heartbeat("x_0_ab");
    ADD_FAILURE() << "no exception";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.kind(), TaskError::Kind::Unavailable);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms);
}

TEST(TaskClientTest, FromEnvNeedsTheCallbackUrl) {
  ::unsetenv("SWITCHYARD_CALLBACK_URL");
  EXPECT_THROW(TaskClient::from_env(), std::invalid_argument);
  ::setenv("SWITCHYARD_CALLBACK_URL", "http://127.0.0.1:9/base", 1);
  EXPECT_EQ(TaskClient::from_env().server_url(), "http://127.0.0.1:9/base");
  ::unsetenv("SWITCHYARD_CALLBACK_URL");
  EXPECT_THROW(TaskClient("not a url"), std::invalid_argument);
}

TEST(TaskClientTest, UsableFromManyThreadsAtOnce) {
  FakeGateway gw;
  TaskClient client(gw.url(), quick());
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&client, i] {
      for (int k = 0; k < 5; ++k) {
        client.heartbeat("t" + std::to_string(i) + "_0_" + std::to_string(k));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(gw.requests().size(), 40U);
}

}  // namespace
}  // namespace switchyard::function
