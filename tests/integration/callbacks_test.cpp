// Callback steps (".waitForTaskToken") end to end: the real `switchyard serve`, real function
// processes (examples/functions/agent, echo, notify) on 127.0.0.1, completions through the REST API,
// function::TaskClient and the CLI. When the test itself plays the agent, the step hands its token
// to fn:echo and the test reads it from the TaskScheduled event's parameters.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "switchyard/function/task_client.hpp"
#include "switchyard/testing/switchyard.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using switchyard::function::TaskClient;
using switchyard::function::TaskClientOptions;
using switchyard::function::TaskError;
using switchyard::testing::http_request;
using switchyard::testing::HttpResult;
using switchyard::testing::Process;
using switchyard::testing::run_cli;
using switchyard::testing::ServeOptions;
using switchyard::testing::SwitchyardServer;
using switchyard::testing::TempDir;
using switchyard::testing::wait_until;
using Clock = std::chrono::steady_clock;

std::string functions_yaml() {
  std::string dir = std::string(SWITCHYARD_BUILD_DIR) + "/examples/functions/";
  std::string out = "functions:\n";
  for (const char* f : {"agent", "echo", "notify"}) {
    out += std::string("  ") + f + ":\n    command: [\"" + dir + f + "\"]\n    concurrency: 64\n" +
           "    idleTimeoutSeconds: 120\n";
  }
  return out;
}

ServeOptions with_functions() {
  ServeOptions o;
  o.functions_yaml = functions_yaml();
  return o;
}

Json body(const HttpResult& r) { return Json::parse(r.body, nullptr, false); }

// The test as the agent: the token goes to fn:echo, which acknowledges at once.
std::string echo_wait(const std::string& extra = "") {
  return R"({"StartAt": "Wait", "States": {"Wait": {
      "Type": "Task", "Resource": "fn:echo.waitForTaskToken",
      "Parameters": {"taskToken.$": "$$.Task.Token", "order.$": "$.order"},
      "ResultPath": "$.result", )" +
         extra + R"( "End": true}}})";
}

// A minimal client for one server port (the restart test needs a fixed port and data dir).
struct Api {
  int port;
  HttpResult req(const std::string& m, const std::string& t, const std::string& b = "") const {
    return http_request(port, m, t, b);
  }
  std::string start(const std::string& machine, const Json& input) const {
    auto r = req("POST", "/v1/state-machines/" + machine + "/executions", Json{{"input", input}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r).value("executionId", std::string());
  }
  Json describe(const std::string& id) const { return body(req("GET", "/v1/executions/" + id)); }
  Json events(const std::string& id) const {
    return body(req("GET", "/v1/executions/" + id + "/history?limit=1000"))["events"];
  }
  // Waits until the execution ends; returns its record.
  Json wait_done(const std::string& id, std::chrono::milliseconds limit = 20s) const {
    Json d;
    wait_until(
        [&] {
          d = describe(id);
          return d.value("status", std::string()) != "RUNNING";
        },
        limit);
    return d;
  }
  // The tokens handed out so far, in order (from TaskScheduled parameters).
  std::vector<std::string> tokens(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& e : events(id)) {
      if (e.value("type", std::string()) == "TaskScheduled") {
        Json p = Json::parse(e["taskScheduledEventDetails"]["parameters"].get<std::string>());
        const Json& where = p.contains("Payload") ? p["Payload"] : p;  // lambda:invoke passes it in Payload
        out.push_back(where.value("taskToken", std::string()));
      }
    }
    return out;
  }
  // Waits until the `n`th hand-off was acknowledged and the step waits (the last event is TaskStarted).
  std::string wait_parked(const std::string& id, size_t n = 1, std::chrono::milliseconds limit = 20s) const {
    std::vector<std::string> t;
    bool ok = wait_until(
        [&] {
          Json ev = events(id);
          t = tokens(id);
          return t.size() == n && !ev.empty() && ev.back().value("type", std::string()) == "TaskStarted";
        },
        limit);
    EXPECT_TRUE(ok) << "step of " << id << " did not park; history: " << events(id).dump();
    return t.empty() ? std::string() : t.back();
  }
  int complete(const std::string& token, const std::string& kind, const Json& b = Json::object()) const {
    return req("POST", "/v1/tasks/" + token + "/" + kind, b.dump()).status;
  }
  void deploy(const std::string& name, const std::string& definition) const {
    auto r = req("PUT", "/v1/state-machines/" + name, R"({"definition":)" + definition + "}");
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.status << " " << r.body;
  }
};

std::vector<std::string> types(const Json& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    out.push_back(e.value("type", std::string()));
  }
  return out;
}

long count_of(const std::vector<std::string>& v, const std::string& s) { return std::count(v.begin(), v.end(), s); }

std::string redis_cli(const fs::path& data_dir, const std::string& args) {
  return switchyard::testing::run_capture("redis-cli -s " + (data_dir / "redis.sock").string() + " " + args);
}

TaskClient client_for(int port) {
  TaskClientOptions o;
  o.request_timeout = 5000ms;
  o.retry_budget = 30000ms;
  return TaskClient("http://127.0.0.1:" + std::to_string(port), o);
}

// ---- the agent function completes its own steps ---------------------------------------------

TEST(Callbacks, AgentAcknowledgesHeartbeatsAndCompletesTheStepThroughTheApi) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("agent", R"({"StartAt": "Hand", "States": {"Hand": {
      "Type": "Task", "Resource": "fn:agent.waitForTaskToken",
      "Parameters": {"taskToken.$": "$$.Task.Token", "job.$": "$.job", "workMs": 800, "heartbeatMs": 150},
      "HeartbeatSeconds": 1, "TimeoutSeconds": 30,
      "ResultSelector": {"job.$": "$.job", "beats.$": "$.heartbeats"},
      "ResultPath": "$.agent", "End": true}}})");
  auto t0 = Clock::now();
  std::string id = api.start("agent", {{"job", "summarize"}});
  Json d = api.wait_done(id);
  auto took = Clock::now() - t0;
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump() << "\n" << s.log();
  EXPECT_EQ(d["output"]["agent"]["job"], "summarize");
  EXPECT_GE(d["output"]["agent"]["beats"].get<int>(), 3);  // about 800 / 150 heartbeats were accepted
  EXPECT_GE(took, 800ms);  // the result came from the background job, not the hand-off answer
  auto t = types(api.events(id));
  std::vector<std::string> want{"ExecutionStarted", "TaskStateEntered", "TaskScheduled",     "TaskStarted",
                                "TaskSucceeded",    "TaskStateExited",  "ExecutionSucceeded"};
  EXPECT_EQ(t, want);
  // The token completed its step: it is spent.
  EXPECT_EQ(api.complete(api.tokens(id).at(0), "success"), 409);
}

TEST(Callbacks, TokensAreUnguessableAndNamedInTheHandOffHeader) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait());
  std::string a = api.wait_parked(api.start("w", {{"order", 1}}));
  std::string b = api.wait_parked(api.start("w", {{"order", 2}}));
  std::smatch m;
  std::regex shape("^([0-9a-f-]{36})_0_([0-9a-f]{64})$");
  ASSERT_TRUE(std::regex_match(a, m, shape)) << a;
  std::string secret_a = m[2];
  ASSERT_TRUE(std::regex_match(b, m, shape)) << b;
  EXPECT_NE(secret_a, std::string(m[2]));  // 256 random bits each
  // Without the token in Parameters the agent completes with the Switchyard-Task-Token header's.
  api.deploy("hdr", R"({"StartAt": "Hand", "States": {"Hand": {
      "Type": "Task", "Resource": "fn:agent.waitForTaskToken", "Parameters": {"job": "h", "workMs": 0},
      "ResultSelector": {"job.$": "$.job"}, "End": true}}})");
  Json d = api.wait_done(api.start("hdr", Json::object()));
  EXPECT_EQ(d["status"], "SUCCEEDED") << d.dump();
  EXPECT_EQ(d["output"], (Json{{"job", "h"}}));
}

TEST(Callbacks, AgentFailureIsCaughtByCatch) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("agent", R"({"StartAt": "Hand", "States": {
      "Hand": {"Type": "Task", "Resource": "fn:agent.waitForTaskToken",
               "Parameters": {"taskToken.$": "$$.Task.Token", "workMs": 100, "outcome": "failure",
                              "error": "Agent.Boom", "cause": "kaput"},
               "Catch": [{"ErrorEquals": ["Agent.Boom"], "ResultPath": "$.err", "Next": "Handled"}],
               "End": true},
      "Handled": {"Type": "Pass", "End": true}}})");
  std::string id = api.start("agent", {{"order", 7}});
  Json d = api.wait_done(id);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump();
  EXPECT_EQ(d["output"], (Json{{"order", 7}, {"err", {{"Error", "Agent.Boom"}, {"Cause", "kaput"}}}}));
  bool saw = false;
  for (const auto& e : api.events(id)) {
    if (e["type"] == "TaskFailed") {
      saw = true;
      EXPECT_EQ(e["taskFailedEventDetails"]["error"], "Agent.Boom");
      EXPECT_EQ(e["taskFailedEventDetails"]["cause"], "kaput");
    }
  }
  EXPECT_TRUE(saw);
}

TEST(Callbacks, RetryHandsOutANewTokenPerAttemptAndOldTokensAreRefused) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("agent", R"({"StartAt": "Hand", "States": {"Hand": {
      "Type": "Task", "Resource": "fn:agent.waitForTaskToken",
      "Parameters": {"taskToken.$": "$$.Task.Token", "workMs": 50, "failAttempts": 2},
      "Retry": [{"ErrorEquals": ["Agent.Flaky"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 3}],
      "ResultSelector": {"attempt.$": "$.attempt"}, "End": true}}})");
  std::string id = api.start("agent", Json::object());
  Json d = api.wait_done(id);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump() << "\n" << s.log();
  EXPECT_EQ(d["output"], (Json{{"attempt", 2}}));
  auto tokens = api.tokens(id);
  ASSERT_EQ(tokens.size(), 3U);
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), 3U);
  auto t = types(api.events(id));
  EXPECT_EQ(count_of(t, "TaskFailed"), 2);
  EXPECT_EQ(count_of(t, "TaskSucceeded"), 1);
  size_t n_events = t.size();
  for (const auto& tok : tokens) {
    EXPECT_EQ(api.complete(tok, "success", {{"output", "late"}}), 409);
    EXPECT_EQ(api.complete(tok, "failure", {{"error", "X"}}), 409);
  }
  EXPECT_EQ(api.describe(id)["output"], (Json{{"attempt", 2}}));
  EXPECT_EQ(api.events(id).size(), n_events);
}

TEST(Callbacks, RetryRefusesTheTokenOfAnAttemptThatTimedOut) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  // Nobody completes the first attempt, so it times out and is retried; the test completes the
  // retry at once (well inside its 2 s).
  api.deploy("w", echo_wait(R"("TimeoutSeconds": 2, "Retry": [{"ErrorEquals": ["States.Timeout"],
      "IntervalSeconds": 1, "MaxAttempts": 1}],)"));
  std::string id = api.start("w", {{"order", 1}});
  std::string first = api.wait_parked(id, 1);
  std::string second = api.wait_parked(id, 2, 10s);  // the first attempt timed out and was retried
  ASSERT_NE(first, second);
  EXPECT_EQ(api.complete(second, "success", {{"output", "fresh"}}), 200);
  EXPECT_EQ(api.complete(first, "success", {{"output", "stale"}}), 410);
  EXPECT_EQ(api.complete(first, "heartbeat"), 410);
  Json d = api.wait_done(id);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump();
  EXPECT_EQ(d["output"]["result"], "fresh");
}

TEST(Callbacks, HttpAndLambdaInvokeResourcesWaitForTheirTokensToo) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  // A function outside the local host, called by URL.
  TempDir dir;
  int fn_port = switchyard::testing::free_port();
  Process echo({std::string(SWITCHYARD_BUILD_DIR) + "/examples/functions/echo"},
               {{"PORT", std::to_string(fn_port)}, {"SWITCHYARD_FUNCTION_HOST", "127.0.0.1"}}, dir.path() / "echo.log");
  ASSERT_TRUE(wait_until([&] { return http_request(fn_port, "GET", "/healthz").status == 200; }, 10s));
  api.deploy("by-url", R"({"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
      "Resource": "http://127.0.0.1:)" +
                           std::to_string(fn_port) + R"(/hand-off.waitForTaskToken",
      "Parameters": {"taskToken.$": "$$.Task.Token"}, "End": true}}})");
  api.deploy("by-lambda", R"({"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "echo", "Payload": {"taskToken.$": "$$.Task.Token"}}, "End": true}}})");
  for (const char* machine : {"by-url", "by-lambda"}) {
    std::string id = api.start(machine, Json::object());
    std::string token = api.wait_parked(id);
    ASSERT_FALSE(token.empty()) << machine;
    EXPECT_EQ(api.complete(token, "success", {{"output", {{"via", machine}}}}), 200);
    Json d = api.wait_done(id);
    EXPECT_EQ(d["status"], "SUCCEEDED") << machine << " " << d.dump();
    EXPECT_EQ(d["output"], (Json{{"via", machine}})) << machine;  // the callback's output, not the ack
  }
}

TEST(Callbacks, AStoppedAgentInterruptsItsJobsAndRetryHandsThemOutAgain) {
  // Scale to zero stops the agent one second after its last call, while its job still runs.
  ServeOptions o;
  o.functions_yaml = "functions:\n  agent:\n    command: [\"" + std::string(SWITCHYARD_BUILD_DIR) +
                     "/examples/functions/agent\"]\n    idleTimeoutSeconds: 1\n";
  SwitchyardServer s(o);
  Api api{s.port()};
  api.deploy("agent", R"({"StartAt": "Hand", "States": {
      "Hand": {"Type": "Task", "Resource": "fn:agent.waitForTaskToken",
               "Parameters": {"taskToken.$": "$$.Task.Token", "workMs": 60000, "heartbeatMs": 200},
               "HeartbeatSeconds": 5,
               "Retry": [{"ErrorEquals": ["Agent.Interrupted"], "IntervalSeconds": 1, "MaxAttempts": 1}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Gave up"}],
               "End": true},
      "Gave up": {"Type": "Pass", "End": true}}})");
  auto t0 = Clock::now();
  std::string id = api.start("agent", Json::object());
  Json d = api.wait_done(id, 30s);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump() << "\n" << s.log();
  EXPECT_EQ(d["output"]["err"]["Error"], "Agent.Interrupted");
  EXPECT_EQ(api.tokens(id).size(), 2U);  // handed out again once, with a new token
  EXPECT_LT(Clock::now() - t0, 20s);     // reported by the agent, not found by a timeout
}

// ---- timeouts while waiting ----------------------------------------------------------------

TEST(Callbacks, HeartbeatsKeepTheStepAlivePastHeartbeatSecondsThenItTimesOut) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  // The agent heartbeats every 200 ms for 2.5 s and then goes silent without completing.
  api.deploy("agent", R"({"StartAt": "Hand", "States": {"Hand": {
      "Type": "Task", "Resource": "fn:agent.waitForTaskToken",
      "Parameters": {"taskToken.$": "$$.Task.Token", "workMs": 2500, "heartbeatMs": 200, "outcome": "none"},
      "HeartbeatSeconds": 1, "TimeoutSeconds": 30, "End": true}}})");
  auto t0 = Clock::now();
  std::string id = api.start("agent", Json::object());
  std::this_thread::sleep_for(2000ms);
  EXPECT_EQ(api.describe(id)["status"], "RUNNING");  // twice HeartbeatSeconds, kept alive by heartbeats
  Json d = api.wait_done(id);
  auto took = Clock::now() - t0;
  ASSERT_EQ(d["status"], "FAILED") << d.dump();
  EXPECT_EQ(d["error"], "States.HeartbeatTimeout");
  EXPECT_GE(took, 3000ms);  // the last heartbeat (~2.4 s) + HeartbeatSeconds
  EXPECT_LT(took, 8000ms);
  EXPECT_EQ(count_of(types(api.events(id)), "TaskTimedOut"), 1);
  EXPECT_EQ(api.complete(api.tokens(id).at(0), "success"), 410);
}

TEST(Callbacks, TimeoutSecondsBoundsTheWholeStepEvenWithHeartbeats) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("agent", R"({"StartAt": "Hand", "States": {"Hand": {
      "Type": "Task", "Resource": "fn:agent.waitForTaskToken",
      "Parameters": {"taskToken.$": "$$.Task.Token", "workMs": 8000, "heartbeatMs": 200, "outcome": "none"},
      "HeartbeatSeconds": 1, "TimeoutSeconds": 2, "End": true}}})");
  auto t0 = Clock::now();
  std::string id = api.start("agent", Json::object());
  Json d = api.wait_done(id);
  auto took = Clock::now() - t0;
  ASSERT_EQ(d["status"], "FAILED") << d.dump();
  EXPECT_EQ(d["error"], "States.Timeout");
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 5000ms);
  std::string token = api.tokens(id).at(0);
  for (const char* kind : {"success", "failure", "heartbeat"}) {
    EXPECT_EQ(api.complete(token, kind), 410) << kind;
  }
}

// ---- misuse of tokens changes nothing ----------------------------------------------------------

TEST(Callbacks, AReusedTokenIsRefusedWith409AndChangesNothing) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait());
  std::string id = api.start("w", {{"order", 1}});
  std::string token = api.wait_parked(id);
  EXPECT_EQ(api.complete(token, "success", {{"output", {{"v", 1}}}}), 200);
  Json d = api.wait_done(id);
  ASSERT_EQ(d["status"], "SUCCEEDED");
  size_t n_events = api.events(id).size();
  auto r = api.req("POST", "/v1/tasks/" + token + "/success", R"({"output": {"v": 2}})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body(r)["error"], "TaskAlreadyCompleted");
  EXPECT_EQ(api.complete(token, "failure", {{"error", "E"}}), 409);
  EXPECT_EQ(api.complete(token, "heartbeat"), 409);
  std::this_thread::sleep_for(300ms);  // anything wrongly enqueued would have run by now
  Json after = api.describe(id);
  EXPECT_EQ(after["output"], (Json{{"order", 1}, {"result", {{"v", 1}}}}));
  EXPECT_EQ(after["stoppedAt"], d["stoppedAt"]);
  EXPECT_EQ(api.events(id).size(), n_events);
}

TEST(Callbacks, AReusedTokenWhileTheExecutionContinuesIsRefused) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  // Two callback steps in a row: the first token must not complete the second step.
  api.deploy("two", R"({"StartAt": "A", "States": {
      "A": {"Type": "Task", "Resource": "fn:echo.waitForTaskToken",
            "Parameters": {"taskToken.$": "$$.Task.Token"}, "ResultPath": "$.a", "Next": "B"},
      "B": {"Type": "Task", "Resource": "fn:echo.waitForTaskToken",
            "Parameters": {"taskToken.$": "$$.Task.Token"}, "ResultPath": "$.b", "End": true}}})");
  std::string id = api.start("two", Json::object());
  std::string a = api.wait_parked(id, 1);
  EXPECT_EQ(api.complete(a, "success", {{"output", "A"}}), 200);
  std::string b = api.wait_parked(id, 2);
  EXPECT_EQ(api.complete(a, "success", {{"output", "again"}}), 409);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api.describe(id)["status"], "RUNNING");
  EXPECT_EQ(api.complete(b, "success", {{"output", "B"}}), 200);
  Json d = api.wait_done(id);
  EXPECT_EQ(d["output"], (Json{{"a", "A"}, {"b", "B"}}));
}

TEST(Callbacks, TheTokenOfAParallelBranchAbandonedByASiblingsFailureIsGone) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("par", R"({"StartAt": "Both", "States": {
      "Both": {"Type": "Parallel", "Next": "After",
               "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "After"}],
               "Branches": [
                 {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "fn:echo.waitForTaskToken",
                   "Parameters": {"taskToken.$": "$$.Task.Token", "branch": "A"}, "End": true}}},
                 {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "fn:echo.waitForTaskToken",
                   "Parameters": {"taskToken.$": "$$.Task.Token", "branch": "B"}, "End": true}}}]},
      "After": {"Type": "Task", "Resource": "fn:echo.waitForTaskToken",
                "Parameters": {"taskToken.$": "$$.Task.Token", "branch": "After"}, "ResultPath": "$.after",
                "End": true}}})");
  std::string id = api.start("par", Json::object());
  api.wait_parked(id, 2);
  std::map<std::string, std::string> by_branch;
  for (const auto& e : api.events(id)) {
    if (e["type"] == "TaskScheduled") {
      Json p = Json::parse(e["taskScheduledEventDetails"]["parameters"].get<std::string>());
      by_branch[p["branch"].get<std::string>()] = p["taskToken"].get<std::string>();
    }
  }
  ASSERT_EQ(by_branch.size(), 2U);
  // B fails: the Parallel fails and is caught, so the execution goes on without A.
  EXPECT_EQ(api.complete(by_branch["B"], "failure", {{"error", "B.Failed"}}), 200);
  std::string after = api.wait_parked(id, 3);
  EXPECT_EQ(api.complete(by_branch["A"], "success", {{"output", "too late"}}), 410);
  EXPECT_EQ(api.complete(by_branch["A"], "heartbeat"), 410);
  EXPECT_EQ(api.complete(after, "success", {{"output", "after"}}), 200);
  Json d = api.wait_done(id);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump();
  EXPECT_EQ(d["output"]["err"]["Error"], "B.Failed");
  EXPECT_EQ(d["output"]["after"], "after");
}

TEST(Callbacks, UnknownTokensGet404AndChangeNothing) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait());
  std::string id = api.start("w", {{"order", 1}});
  std::string token = api.wait_parked(id);
  std::string secret = token.substr(token.rfind('_') + 1);
  size_t n_events = api.events(id).size();
  std::vector<std::string> bad{"nope",
                               "a_b",
                               id + "_0_" + std::string(64, '0'),                   // wrong secret
                               id + "_1_" + secret,                                 // wrong run
                               "00000000-0000-4000-8000-000000000000_0_" + secret,  // wrong execution
                               token + "0",                                         // longer secret
                               std::string(600, 'x')};                              // over the length bound
  for (const auto& t : bad) {
    for (const char* kind : {"success", "failure", "heartbeat"}) {
      auto r = api.req("POST", "/v1/tasks/" + t + "/" + kind, "{}");
      EXPECT_EQ(r.status, 404) << t.substr(0, 80) << " " << kind << " " << r.body;
    }
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api.describe(id)["status"], "RUNNING");
  EXPECT_EQ(api.events(id).size(), n_events);
  EXPECT_EQ(api.complete(token, "success", {{"output", 5}}), 200);  // the real token still works
  EXPECT_EQ(api.wait_done(id)["output"]["result"], 5);
}

TEST(Callbacks, CompletionAfterStopIsGoneAndChangesNothing) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait(R"("HeartbeatSeconds": 30,)"));
  std::string id = api.start("w", {{"order", 1}});
  std::string token = api.wait_parked(id);
  ASSERT_EQ(api.req("POST", "/v1/executions/" + id + "/stop", R"({"error": "Stopped", "cause": "by test"})").status,
            200);
  Json stopped = api.describe(id);
  ASSERT_EQ(stopped["status"], "ABORTED");
  size_t n_events = api.events(id).size();
  for (const char* kind : {"heartbeat", "success", "failure"}) {
    auto r = api.req("POST", "/v1/tasks/" + token + "/" + kind, R"({"output": 1})");
    EXPECT_EQ(r.status, 410) << kind << " " << r.body;
    EXPECT_EQ(body(r)["error"], "TaskGone");
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api.describe(id), stopped);
  EXPECT_EQ(api.events(id).size(), n_events);
}

TEST(Callbacks, FailureWithoutCatchFailsTheExecutionWithTheAgentsError) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait());
  std::string id = api.start("w", {{"order", 1}});
  std::string token = api.wait_parked(id);
  EXPECT_EQ(api.complete(token, "failure", {{"error", "Human.Rejected"}, {"cause", "no budget"}}), 200);
  Json d = api.wait_done(id);
  EXPECT_EQ(d["status"], "FAILED");
  EXPECT_EQ(d["error"], "Human.Rejected");
  EXPECT_EQ(d["cause"], "no budget");
}

TEST(Callbacks, AnOversizedOutputIsRefusedWith413AndTheStepStillWaits) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait());
  std::string id = api.start("w", {{"order", 1}});
  std::string token = api.wait_parked(id);
  Json big{{"output", std::string(300 * 1024, 'a')}};
  EXPECT_EQ(api.complete(token, "success", big), 413);
  EXPECT_EQ(api.describe(id)["status"], "RUNNING");
  EXPECT_EQ(api.complete(token, "success", {{"output", "small"}}), 200);
  EXPECT_EQ(api.wait_done(id)["status"], "SUCCEEDED");
}

// ---- ordering and restarts ----------------------------------------------------------------------------

TEST(Callbacks, ACompletionThatArrivesBeforeTheHandOffAnswerStillCompletesTheStep) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  // The agent completes the token inside the call and answers 400 ms later.
  api.deploy("agent", R"({"StartAt": "Hand", "States": {
      "Hand": {"Type": "Task", "Resource": "fn:agent.waitForTaskToken",
               "Parameters": {"taskToken.$": "$$.Task.Token", "job": "now", "inline": true, "answerDelayMs": 400},
               "HeartbeatSeconds": 1, "TimeoutSeconds": 20, "ResultPath": "$.r", "End": true}}})");
  auto t0 = Clock::now();
  std::string id = api.start("agent", Json::object());
  Json d = api.wait_done(id);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump() << "\n" << s.log();
  EXPECT_LT(Clock::now() - t0, 5s);  // not rescued by a timeout
  EXPECT_EQ(d["output"]["r"]["job"], "now");
  auto t = types(api.events(id));
  EXPECT_EQ(count_of(t, "TaskSucceeded"), 1);
  EXPECT_EQ(count_of(t, "TaskTimedOut"), 0);
  // The timeouts set when the step parked went with the early completion.
  EXPECT_EQ(redis_cli(s.data_dir(), "ZCARD sy:timers"), "0\n");
}

// `switchyard serve` on a fixed data dir and port, so that it can be killed and started again.
class Serve {
 public:
  Serve(const fs::path& dir, int port, int generation) : dir_(dir), port_(port) {
    std::ofstream(dir / "functions.yaml") << functions_yaml();
    std::vector<std::string> argv{SWITCHYARD_BINARY, "serve",
                                  "--listen",        "127.0.0.1:" + std::to_string(port),
                                  "--data-dir",      (dir / "data").string(),
                                  "--functions",     (dir / "functions.yaml").string()};
    process_ = std::make_unique<Process>(argv, std::map<std::string, std::string>{},
                                         dir / ("serve-" + std::to_string(generation) + ".log"));
    bool ready =
        wait_until([&] { return !process_->running() || http_request(port_, "GET", "/readyz").status == 200; }, 30s);
    if (!ready || !process_->running()) {
      throw std::runtime_error("switchyard serve did not become ready:\n" + process_->log());
    }
  }
  ~Serve() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      if (!process_->wait(15s)) {
        process_->signal(SIGKILL);
        process_->wait(5s);
      }
    }
  }
  Process& process() { return *process_; }

  // kill -9 the server, then wait until its embedded redis-server (SIGTERM'd by the kernel as its
  // parent died) has written its AOF and exited.
  void crash() {
    std::ifstream pidfile(dir_ / "data" / "redis.pid");
    pid_t redis = 0;
    pidfile >> redis;
    process_->signal(SIGKILL);
    ASSERT_TRUE(process_->wait(10s));
    ASSERT_GT(redis, 0);
    ASSERT_TRUE(wait_until(
        [&] {
          std::ifstream stat("/proc/" + std::to_string(redis) + "/stat");
          std::string pid, comm, state;
          stat >> pid >> comm >> state;
          return !stat || state == "Z";  // gone, or a zombie nobody reaps in this container
        },
        20s));
  }

 private:
  fs::path dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

TEST(Callbacks, WaitingStepsSurviveTheRouterKilledAndTheirCompletionsStillArrive) {
  TempDir dir;
  int port = switchyard::testing::free_port();
  Api api{port};
  std::vector<std::string> ids;
  std::vector<std::string> tokens;
  std::string short_id;
  {
    Serve first(dir.path(), port, 1);
    api.deploy("w", echo_wait(R"("HeartbeatSeconds": 60, "TimeoutSeconds": 120,)"));
    api.deploy("short", echo_wait(R"("TimeoutSeconds": 3,)"));
    for (int i = 0; i < 20; ++i) {
      ids.push_back(api.start("w", {{"order", i}}));
    }
    for (const auto& id : ids) {
      tokens.push_back(api.wait_parked(id));
    }
    short_id = api.start("short", {{"order", -1}});
    api.wait_parked(short_id);
    first.crash();
  }
  ASSERT_EQ(http_request(port, "GET", "/healthz", "", {}, 1000ms).status, 0);  // nobody listens now

  // An agent completes a step while no server runs: TaskClient retries until the new one answers.
  TaskClient client = client_for(port);
  auto early = std::async(std::launch::async, [&] { client.success(tokens[0], Json{{"n", 0}}); });
  std::this_thread::sleep_for(500ms);
  Serve second(dir.path(), port, 2);
  ASSERT_EQ(early.wait_for(30s), std::future_status::ready);
  EXPECT_NO_THROW(early.get());

  client.heartbeat(tokens[1]);
  client.failure(tokens[1], "Agent.Failed", "after the restart");
  for (size_t i = 2; i < tokens.size(); ++i) {
    client.success(tokens[i], Json{{"n", i}});
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    Json d = api.wait_done(ids[i]);
    if (i == 1) {
      EXPECT_EQ(d["status"], "FAILED");
      EXPECT_EQ(d["cause"], "after the restart");
    } else {
      EXPECT_EQ(d["status"], "SUCCEEDED") << i << " " << d.dump();
      EXPECT_EQ(d["output"]["result"]["n"], i);
    }
  }
  // The TimeoutSeconds timer of the other step fires on the new router.
  Json d = api.wait_done(short_id, 15s);
  EXPECT_EQ(d["status"], "FAILED") << d.dump();
  EXPECT_EQ(d["error"], "States.Timeout");
  // And a used token stays used across the restart.
  EXPECT_THROW(
      {
        try {
          client.success(tokens[0], 1);
        } catch (const TaskError& e) {
          EXPECT_EQ(e.kind(), TaskError::Kind::AlreadyCompleted);
          throw;
        }
      },
      TaskError);
}

// ---- memory --------------------------------------------------------------------------------

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

long redis_used_memory(const fs::path& data_dir) {
  std::istringstream in(redis_cli(data_dir, "INFO memory"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("used_memory:", 0) == 0) {
      return std::stol(line.substr(12));
    }
  }
  return -1;
}

// Starts `n` executions from 4 client threads and waits until every step waits (work stream empty).
std::vector<std::string> start_parked(const Api& api, const fs::path& data_dir, int n) {
  std::vector<std::string> ids(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < n; i += 4) {
        auto r = api.req("POST", "/v1/state-machines/w/executions", R"({"input": {"order": 0}})");
        ids[static_cast<size_t>(i)] = body(r).value("executionId", std::string());
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_TRUE(wait_until([&] { return redis_cli(data_dir, "XLEN sy:work") == "0\n"; }, 120s));
  return ids;
}

TEST(Callbacks, ThousandsOfWaitingStepsCostRedisMemoryNotRouterMemory) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  api.deploy("w", echo_wait(R"("TimeoutSeconds": 600,)"));
  // Warm up (function process, connection pools, allocator arenas), then measure.
  auto warm = start_parked(api, s.data_dir(), 500);
  long rss0 = rss_kib(s.process().pid());
  long mem0 = redis_used_memory(s.data_dir());
  const int n = 3000;
  auto ids = start_parked(api, s.data_dir(), n);
  long rss1 = rss_kib(s.process().pid());
  long mem1 = redis_used_memory(s.data_dir());
  ASSERT_GT(rss0, 0);
  ASSERT_GT(mem0, 0);
  long rss_growth_kib = rss1 - rss0;
  long redis_bytes_per_step = (mem1 - mem0) / n;
  std::printf("waiting steps: %d; router RSS %ld -> %ld KiB (+%ld KiB); redis +%ld bytes per waiting step\n", n, rss0,
              rss1, rss_growth_kib, redis_bytes_per_step);
  ::testing::Test::RecordProperty("router_rss_growth_kib", std::to_string(rss_growth_kib));
  ::testing::Test::RecordProperty("redis_bytes_per_waiting_step", std::to_string(redis_bytes_per_step));
  // Holding a coroutine, a connection or a buffer per waiting step would cost several KiB each
  // (3000 steps: > 6 MiB); flat means well under one KiB per step. Under AddressSanitizer RSS
  // measures its quarantine of freed blocks (up to 256 MiB by design), not what the router holds,
  // so only the plain build asserts it.
  if (!kAddressSanitizer) {
    EXPECT_LT(rss_growth_kib, 3000) << "router RSS grew with the number of waiting steps";
  }
  EXPECT_GT(redis_bytes_per_step, 200);  // the waiting steps are in Redis
  // Every one of them can still be completed.
  TaskClient client = client_for(s.port());
  std::vector<std::string> sample{ids.front(), ids[ids.size() / 2], ids.back(), warm.front()};
  for (const auto& id : sample) {
    client.success(api.tokens(id).at(0), "done");
  }
  for (const auto& id : sample) {
    EXPECT_EQ(api.wait_done(id)["output"]["result"], "done");
  }
}

// ---- the CLI and the two examples ------------------------------------------------------------------

// The approve/reject commands that fn:notify wrote to its log for execution `id`.
std::string token_from_notify_log(const fs::path& data_dir, const std::string& id) {
  std::string token;
  wait_until(
      [&] {
        for (const auto& f : fs::directory_iterator(data_dir / "functions")) {
          if (f.path().filename().string().rfind("notify", 0) != 0) {
            continue;
          }
          std::ifstream in(f.path());
          std::string line;
          bool mine = false;
          while (std::getline(in, line)) {
            if (line.find("notify: execution " + id) != std::string::npos) {
              mine = true;
            } else if (mine && line.find("approve: switchyard task success ") != std::string::npos) {
              std::istringstream words(line);
              std::string w;
              words >> w >> w >> w >> w >> token;  // "approve: switchyard task success TOKEN ..."
              return true;
            }
          }
        }
        return false;
      },
      20s);
  return token;
}

TEST(Callbacks, CliCompletesFailsAndHeartbeatsStepsOfTheApprovalExample) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  auto applied = run_cli(s.port(), {"apply", std::string(SWITCHYARD_EXAMPLES_DIR) + "/state-machines/approval.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  std::string yes = api.start("approval", {{"orderId", "o-1"}, {"amount", 420}});
  std::string token = token_from_notify_log(s.data_dir(), yes);
  ASSERT_FALSE(token.empty()) << s.log();
  EXPECT_EQ(token, api.tokens(yes).at(0));  // the same token is in the history
  auto hb = run_cli(s.port(), {"task", "heartbeat", token});
  EXPECT_EQ(hb.exit_code, 0) << hb.output;
  auto ok = run_cli(s.port(), {"task", "success", token, "--output", R"({"approved": true, "by": "ada"})"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  Json d = api.wait_done(yes);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump();
  EXPECT_EQ(d["output"],
            (Json{{"orderId", "o-1"}, {"decision", "approved"}, {"approval", {{"approved", true}, {"by", "ada"}}}}));
  auto again = run_cli(s.port(), {"task", "success", token, "--output", "{}"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("TaskAlreadyCompleted"), std::string::npos) << again.output;

  std::string no = api.start("approval", {{"orderId", "o-2"}, {"amount", 99999}});
  std::string token2 = token_from_notify_log(s.data_dir(), no);
  ASSERT_FALSE(token2.empty());
  auto rejected = run_cli(s.port(), {"task", "failure", token2, "--error", "Rejected", "--cause", "over budget"});
  EXPECT_EQ(rejected.exit_code, 0) << rejected.output;
  Json d2 = api.wait_done(no);
  ASSERT_EQ(d2["status"], "SUCCEEDED") << d2.dump();
  EXPECT_EQ(d2["output"], (Json{{"orderId", "o-2"}, {"decision", "rejected"}, {"reason", "over budget"}}));

  auto unknown = run_cli(s.port(), {"task", "success", "no_such_token", "--output", "1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("NotFound"), std::string::npos) << unknown.output;
  auto bad_json = run_cli(s.port(), {"task", "success", token2, "--output", "{not json"});
  EXPECT_EQ(bad_json.exit_code, 2);
}

TEST(Callbacks, TheAgentExampleSucceedsRetriesAndCatches) {
  SwitchyardServer s(with_functions());
  Api api{s.port()};
  auto applied = run_cli(s.port(), {"apply", std::string(SWITCHYARD_EXAMPLES_DIR) + "/state-machines/agent.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  std::string ok = api.start("agent", {{"workMs", 400}, {"heartbeatMs", 100}});
  std::string flaky = api.start("agent", {{"workMs", 100}, {"failAttempts", 1}, {"job", "again"}});
  std::string failing = api.start("agent", {{"workMs", 100}, {"outcome", "failure"}});
  Json d = api.wait_done(ok);
  ASSERT_EQ(d["status"], "SUCCEEDED") << d.dump() << "\n" << s.log();
  EXPECT_EQ(d["output"]["failed"], false);
  EXPECT_EQ(d["output"]["result"]["job"], "summarize the report");
  EXPECT_GE(d["output"]["result"]["heartbeats"].get<int>(), 2);
  Json f = api.wait_done(flaky);
  ASSERT_EQ(f["status"], "SUCCEEDED") << f.dump();
  EXPECT_EQ(f["output"]["result"]["attempt"], 1);
  EXPECT_EQ(f["output"]["job"], "again");
  EXPECT_EQ(api.tokens(flaky).size(), 2U);
  Json c = api.wait_done(failing);
  ASSERT_EQ(c["status"], "SUCCEEDED") << c.dump();
  EXPECT_EQ(c["output"]["failed"], true);
  EXPECT_EQ(c["output"]["error"], "Agent.Failed");
}

}  // namespace
