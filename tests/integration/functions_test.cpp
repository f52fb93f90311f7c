// The example function binaries (build/examples/functions/*) as real processes on 127.0.0.1:
// the protocol of DESIGN.md §4 (result body, error envelope, attempt header) and SIGTERM drain.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <future>
#include <nlohmann/json.hpp>

#include "switchyard/testing/process.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// One example function process on a free port, up and answering /healthz.
class FunctionProcess {
 public:
  explicit FunctionProcess(const std::string& name)
      : port_(free_port()),
        process_({std::string(SWITCHYARD_BUILD_DIR) + "/examples/functions/" + name},
                 {{"PORT", std::to_string(port_)}, {"SWITCHYARD_FUNCTION_HOST", "127.0.0.1"}},
                 dir_.path() / "function.log") {
    bool up = wait_until([&] { return http_request(port_, "GET", "/healthz", "", {}, 1s).status == 200; }, 10s);
    if (!up) {
      throw std::runtime_error(name + " did not start: " + process_.log());
    }
  }
  int port() const { return port_; }
  Process& process() { return process_; }

  HttpResult call(const Json& input, const std::map<std::string, std::string>& headers = {}) {
    return http_request(port_, "POST", "/", input.dump(), headers, 15s);
  }

 private:
  TempDir dir_;
  int port_;
  Process process_;
};

TEST(FunctionsTest, EchoReturnsItsInput) {
  FunctionProcess echo("echo");
  for (const Json& input : {Json{{"a", 1}, {"b", {true, nullptr, "x"}}}, Json("text"), Json(42), Json::array()}) {
    auto res = echo.call(input);
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.headers["content-type"], "application/json");
    EXPECT_EQ(Json::parse(res.body), input);
  }
  auto empty = http_request(echo.port(), "POST", "/", "");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "null");
  EXPECT_EQ(http_request(echo.port(), "GET", "/").status, 200);
}

TEST(FunctionsTest, EchoSleepsForSleepMs) {
  FunctionProcess echo("echo");
  auto begin = std::chrono::steady_clock::now();
  auto res = echo.call({{"sleepMs", 300}});
  EXPECT_EQ(res.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 290ms);
}

TEST(FunctionsTest, BadJsonIsInvalidInput) {
  FunctionProcess echo("echo");
  auto res = http_request(echo.port(), "POST", "/", "{not json");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(Json::parse(res.body).value("errorType", ""), "InvalidInput");
}

TEST(FunctionsTest, GreetGreetsOrFailsWithInvalidName) {
  FunctionProcess greet("greet");
  auto ok = greet.call({{"name", "Ada"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Json::parse(ok.body), (Json{{"greeting", "Hello, Ada!"}, {"length", 3}}));
  for (const Json& bad : {Json::object(), Json{{"name", 7}}, Json("Ada"), Json()}) {
    SCOPED_TRACE(bad.dump());
    auto res = greet.call(bad);
    EXPECT_EQ(res.status, 500);
    Json body = Json::parse(res.body);
    EXPECT_EQ(body.value("errorType", ""), "InvalidName");
    EXPECT_FALSE(body.value("errorMessage", "").empty());
  }
}

TEST(FunctionsTest, FlakyFailsUntilTheAttemptReachesFailTimes) {
  FunctionProcess flaky("flaky");
  Json input{{"failTimes", 2}, {"error", "Boom"}};
  for (int attempt = 0; attempt < 4; ++attempt) {
    SCOPED_TRACE(attempt);
    auto res = flaky.call(input, {{"Switchyard-Attempt", std::to_string(attempt)}});
    Json body = Json::parse(res.body);
    if (attempt < 2) {
      EXPECT_EQ(res.status, 500);
      EXPECT_EQ(body.value("errorType", ""), "Boom");
    } else {
      EXPECT_EQ(res.status, 200);
      EXPECT_EQ(body, (Json{{"attempt", attempt}, {"input", input}}));
    }
  }
  // Without the header the attempt is 0; the default error name is Flaky.
  EXPECT_EQ(Json::parse(flaky.call({{"failTimes", 1}}).body).value("errorType", ""), "Flaky");
}

TEST(FunctionsTest, SigtermFinishesTheInFlightCallThenExitsZero) {
  FunctionProcess echo("echo");
  auto pending = std::async(std::launch::async, [&] { return echo.call({{"sleepMs", 800}}); });
  std::this_thread::sleep_for(250ms);  // the call is inside the handler by now
  echo.process().signal(SIGTERM);
  auto res = pending.get();
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(Json::parse(res.body), (Json{{"sleepMs", 800}}));
  auto status = echo.process().wait(5s);
  ASSERT_TRUE(status.has_value()) << "still running after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_EQ(http_request(echo.port(), "GET", "/healthz", "", {}, 1s).status, 0);  // no longer listening
}

}  // namespace
}  // namespace switchyard::testing
