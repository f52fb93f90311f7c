// The function SDK's request mapping (function::invoke), which serve() runs for every request.
#include "switchyard/function/function.hpp"

#include <gtest/gtest.h>

namespace switchyard::function {
namespace {

http::Request post(std::string body, http::Headers headers = {}) {
  http::Request r;
  r.method = "POST";
  r.target = "/";
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

Json body_of(const http::Response& res) { return Json::parse(res.body); }

TEST(FunctionInvokeTest, HealthChecksAnswer200WithoutCallingTheHandler) {
  bool called = false;
  Handler h = [&](const Call&) -> Json {
    called = true;
    return nullptr;
  };
  struct Case {
    std::string method, target;
    int status;
  };
  for (const auto& c : std::vector<Case>{{"GET", "/", 200},
                                         {"GET", "/healthz", 200},
                                         {"HEAD", "/healthz", 200},
                                         {"GET", "/healthz?probe=1", 200},
                                         {"GET", "/other", 404},
                                         {"PUT", "/", 405},
                                         {"DELETE", "/x", 405}}) {
    http::Request r;
    r.method = c.method;
    r.target = c.target;
    EXPECT_EQ(invoke(h, r).status, c.status) << c.method << " " << c.target;
  }
  EXPECT_FALSE(called);
}

TEST(FunctionInvokeTest, PostPassesInputAndProtocolHeadersAndReturnsTheResultAsJson) {
  Call seen;
  Handler h = [&](const Call& call) -> Json {
    seen = call;
    return {{"ok", true}, {"in", call.input}};
  };
  auto req = post(R"({"x": [1, 2]})", {{"idempotency-key", "exec1/A/0"},
                                       {"Switchyard-Execution", "exec1"},
                                       {"Switchyard-State", "A"},
                                       {"Switchyard-Attempt", "3"},
                                       {"Switchyard-Task-Token", "tok"}});
  auto res = invoke(h, req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("content-type"), "application/json");
  EXPECT_EQ(body_of(res), (Json{{"ok", true}, {"in", {{"x", {1, 2}}}}}));
  EXPECT_EQ(seen.input, (Json{{"x", {1, 2}}}));
  EXPECT_EQ(seen.idempotency_key, "exec1/A/0");
  EXPECT_EQ(seen.execution, "exec1");
  EXPECT_EQ(seen.state, "A");
  EXPECT_EQ(seen.attempt, 3);
  EXPECT_EQ(seen.task_token, "tok");
  EXPECT_EQ(seen.request, &req);
}

TEST(FunctionInvokeTest, EmptyBodyIsNullAndBadAttemptHeaderIsZero) {
  Call seen;
  seen.input = 1;
  Handler h = [&](const Call& call) -> Json {
    seen = call;
    return call.input;
  };
  auto res = invoke(h, post("", {{"Switchyard-Attempt", "x1"}}));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "null");
  EXPECT_TRUE(seen.input.is_null());
  EXPECT_EQ(seen.attempt, 0);
}

TEST(FunctionInvokeTest, ErrorsBecomeTheEnvelope) {
  struct Case {
    std::string name;
    std::string body;
    Handler handler;
    int status;
    std::string error_type, error_message;
  };
  auto ok = [](const Call&) -> Json { return 1; };
  std::vector<Case> cases{
      {"bad json", "{nope", ok, 400, "InvalidInput", ""},
      {"failure", "{}", [](const Call&) -> Json { throw Failure("InvalidName", "no name"); }, 500, "InvalidName",
       "no name"},
      {"std exception", "{}", [](const Call&) -> Json { throw std::runtime_error("boom"); }, 500, "Error", "boom"},
      {"other throw", "{}", [](const Call&) -> Json { throw 42; }, 500, "Error", "unknown error"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto res = invoke(c.handler, post(c.body));
    EXPECT_EQ(res.status, c.status);
    Json body = body_of(res);
    EXPECT_EQ(body.value("errorType", ""), c.error_type);
    EXPECT_TRUE(body["errorMessage"].is_string());
    if (!c.error_message.empty()) {
      EXPECT_EQ(body.value("errorMessage", ""), c.error_message);
    }
  }
}

TEST(FunctionInvokeTest, InvalidUtf8InAResultDoesNotThrow) {
  Handler h = [](const Call&) -> Json { return std::string("\xff\xfe"); };
  auto res = invoke(h, post("{}"));
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(body_of(res).is_string());
}

}  // namespace
}  // namespace switchyard::function
