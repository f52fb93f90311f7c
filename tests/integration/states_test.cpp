// Every state type through the real server, Redis and function processes:
// Parallel, Map (MaxConcurrency, tolerated failures), Wait, Retry with
// backoff, Catch, execution timeout, stop, and EXPRESS.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "switchyard/testing/switchyard.hpp"

namespace {

using Json = nlohmann::json;
using switchyard::testing::SwitchyardServer;

class States : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    switchyard::testing::ServeOptions o;
    o.functions_yaml = switchyard::testing::example_functions_yaml();
    server_ = new SwitchyardServer(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static Json run(const std::string& name, const std::string& definition, const Json& input,
                  const std::string& type = "STANDARD", int wait = 30) {
    server_->deploy(name, definition, type);
    auto r = server_->request("POST", "/v1/state-machines/" + name + "/executions?wait=" + std::to_string(wait),
                              Json{{"input", input}}.dump());
    EXPECT_TRUE(r.status == 200 || r.status == 202) << r.status << " " << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  static Json history(const std::string& id) {
    auto r = server_->request("GET", "/v1/executions/" + id + "/history?limit=1000");
    return Json::parse(r.body, nullptr, false)["events"];
  }

  static SwitchyardServer* server_;
};

SwitchyardServer* States::server_ = nullptr;

int64_t ms_of(const Json& event) {
  // "2026-11-22T15:35:30.961Z" -> ms within the day (tests span seconds, not days)
  std::string ts = event["timestamp"];
  int h = std::stoi(ts.substr(11, 2));
  int m = std::stoi(ts.substr(14, 2));
  int s = std::stoi(ts.substr(17, 2));
  int ms = std::stoi(ts.substr(20, 3));
  return ((h * 60 + m) * 60 + s) * 1000 + ms;
}

TEST_F(States, ParallelRunsBranchesAndKeepsTheirOrder) {
  Json out = run("par", R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"fn:echo","Parameters":{"b.$":"$.x","sleepMs":100},"End":true}}},
      {"StartAt":"B","States":{"B":{"Type":"Pass","Result":"second","End":true}}}]}}})",
                 Json{{"x", 7}});
  EXPECT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"], Json::parse(R"([{"b":7,"sleepMs":100},"second"])"));
}

TEST_F(States, MapKeepsResultsInOrderAndNeverExceedsMaxConcurrency) {
  Json items = Json::array();
  for (int i = 0; i < 8; ++i) {
    items.push_back({{"i", i}, {"sleepMs", 50 + (7 - i) * 20}});  // later items finish sooner
  }
  Json out = run("map", R"({"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,"ItemsPath":"$.items",
      "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","OutputPath":"$.i","End":true}}},
      "End":true}}})",
                 Json{{"items", items}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"], Json::parse("[0,1,2,3,4,5,6,7]"));
  int in_flight = 0;
  int peak = 0;
  int started = 0;
  for (const auto& e : history(out["executionId"])) {
    if (e["type"] == "MapIterationStarted") {
      ++started;
      peak = std::max(peak, ++in_flight);
    } else if (e["type"] == "MapIterationSucceeded" || e["type"] == "MapIterationFailed") {
      --in_flight;
    }
  }
  EXPECT_EQ(started, 8);
  EXPECT_LE(peak, 2);
  EXPECT_EQ(peak, 2);
}

// A Map launching thousands of iterations at once (here as the first state, so its commit also
// creates the execution) writes two fields per iteration in one transition: 2,100 iterations are
// more values than one Lua unpack() takes (~8,000), so the commit passes them in chunks.
TEST_F(States, AMapOfThousandsOfItemsLaunchesThemAllInOneCommit) {
  Json items = Json::array();
  for (int i = 0; i < 2100; ++i) {
    items.push_back(i);
  }
  server_->deploy("wide-map", R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}})");
  auto r =
      server_->request("POST", "/v1/state-machines/wide-map/executions", Json{{"input", {{"items", items}}}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = Json::parse(r.body)["executionId"];
  // Polled, not ?wait=: 2,100 child runs take a while in the sanitizer build.
  Json out;
  for (int i = 0; i < 1200; ++i) {  // up to 4 minutes
    out = Json::parse(server_->request("GET", "/v1/executions/" + id).body, nullptr, false);
    if (out.is_object() && out.value("status", "") != "RUNNING") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump().substr(0, 500);
  EXPECT_EQ(out["output"], items);
}

TEST_F(States, MapToleratesFailuresUpToTheCountAndFailsBeyond) {
  const char* def = R"({"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,"ItemsPath":"$.names",
      "ItemSelector":{"name.$":"$$.Map.Item.Value"},
      "ItemProcessor":{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}},
      "End":true}}})";
  Json ok = run("map-tol", def, Json{{"names", Json::array({"Ada", 5, "Bob"})}});
  EXPECT_EQ(ok["status"], "SUCCEEDED") << ok.dump();
  ASSERT_TRUE(ok["output"].is_array());
  EXPECT_EQ(ok["output"][0]["greeting"], "Hello, Ada!");
  EXPECT_EQ(ok["output"][2]["greeting"], "Hello, Bob!");
  Json bad = run("map-tol", def, Json{{"names", Json::array({1, "Ada", 2})}});
  EXPECT_EQ(bad["status"], "FAILED") << bad.dump();
}

TEST_F(States, WaitSecondsIsADurableTimer) {
  Json out = run("wait", R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}})", Json{{"a", 1}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"], Json({{"a", 1}}));
  auto h = history(out["executionId"]);
  int64_t entered = 0;
  int64_t exited = 0;
  for (const auto& e : h) {
    if (e["type"] == "WaitStateEntered") {
      entered = ms_of(e);
    }
    if (e["type"] == "WaitStateExited") {
      exited = ms_of(e);
    }
  }
  EXPECT_GE(exited - entered, 1000);
}

TEST_F(States, RetryBacksOffThenSucceeds) {
  Json out = run("retry", R"({"StartAt":"F","States":{"F":{"Type":"Task","Resource":"fn:flaky",
      "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":3}],"End":true}}})",
                 Json{{"failTimes", 2}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"]["attempt"], 2);
  std::vector<int64_t> starts;
  for (const auto& e : history(out["executionId"])) {
    if (e["type"] == "TaskStarted") {
      starts.push_back(ms_of(e));
    }
  }
  ASSERT_EQ(starts.size(), 3U);
  EXPECT_GE(starts[1] - starts[0], 1000);  // IntervalSeconds
  EXPECT_GE(starts[2] - starts[1], 2000);  // * BackoffRate
}

TEST_F(States, CatchRoutesTheErrorToTheHandler) {
  Json out = run("catch", R"({"StartAt":"F","States":{"F":{"Type":"Task","Resource":"fn:flaky",
      "Catch":[{"ErrorEquals":["Flaky"],"ResultPath":"$.err","Next":"H"}],"End":true},
      "H":{"Type":"Pass","End":true}}})",
                 Json{{"failTimes", 5}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"]["err"]["Error"], "Flaky");
  EXPECT_EQ(out["output"]["failTimes"], 5);
}

TEST_F(States, ParallelBranchFailureIsCaughtOnTheParallel) {
  Json out = run("par-fail", R"({"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
      {"StartAt":"A","States":{"A":{"Type":"Fail","Error":"Boom","Cause":"bad"}}},
      {"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":5,"End":true}}}],
      "Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},
      "H":{"Type":"Pass","End":true}}})",
                 Json::object());
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"]["Error"], "Boom");
  EXPECT_EQ(out["output"]["Cause"], "bad");
}

TEST_F(States, ExecutionTimeoutEndsTimedOut) {
  Json out =
      run("timeout", R"({"TimeoutSeconds":1,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}})",
          Json::object(), "STANDARD", 10);
  EXPECT_EQ(out["status"], "TIMED_OUT") << out.dump();
  EXPECT_EQ(out["error"], "States.Timeout");
}

// Its timeout timer goes with an execution that ends in time (here in its first commit, which
// also set it), so nothing is left to fire; a machine without TimeoutSeconds has none to remove.
TEST_F(States, AnExecutionThatEndsInTimeLeavesNoTimeoutTimerBehind) {
  Json out = run("in-time", R"({"TimeoutSeconds":60,"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})",
                 Json::object());
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  std::string id = out["executionId"];
  std::string timer =
      switchyard::testing::run_capture("redis-cli --raw -s '" + (server_->data_dir() / "redis.sock").string() +
                                       "' ZSCORE sy:timers '" + id + "|0|*|timeout'");
  EXPECT_EQ(timer.find_first_not_of(" \r\n"), std::string::npos) << "timeout timer left: " << timer;
}

TEST_F(States, StopAbortsAndNothingRunsAfterwards) {
  server_->deploy("stoppable", R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.w",
      "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2,"Next":"E"},
      "E":{"Type":"Task","Resource":"fn:echo","End":true}}},"End":true}}})");
  auto r = server_->request("POST", "/v1/state-machines/stoppable/executions", R"({"input":{"w":[1,2,3]}})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = Json::parse(r.body)["executionId"];
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  auto s = server_->request("POST", "/v1/executions/" + id + "/stop", R"({"error":"Halt","cause":"test"})");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(Json::parse(s.body)["status"], "ABORTED");
  size_t events = history(id).size();
  std::this_thread::sleep_for(std::chrono::milliseconds{2500});  // past the iterations' Wait
  auto h = history(id);
  EXPECT_EQ(h.size(), events);
  EXPECT_EQ(h.back()["type"], "ExecutionAborted");
  EXPECT_EQ(Json::parse(server_->request("GET", "/v1/executions/" + id).body)["status"], "ABORTED");
}

TEST_F(States, ExpressRunsInMemoryAndRecordsTheEnd) {
  Json out = run("express", R"({"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","End":true}}})",
                 Json{{"hello", "world"}}, "EXPRESS");
  EXPECT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"], Json({{"hello", "world"}}));
  auto d = Json::parse(server_->request("GET", "/v1/executions/" + out["executionId"].get<std::string>()).body);
  EXPECT_EQ(d["type"], "EXPRESS");
  EXPECT_EQ(d["status"], "SUCCEEDED");
}

TEST_F(States, LambdaStyleResourcesMapToFunctions) {
  Json out = run("lambda", R"({"StartAt":"A","States":{
      "A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","Next":"B"},
      "B":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
           "Parameters":{"FunctionName":"greet","Payload":{"name.$":"$.n"}},"End":true}}})",
                 Json{{"n", "Ada"}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"]["StatusCode"], 200);
  EXPECT_EQ(out["output"]["Payload"]["greeting"], "Hello, Ada!");
  // A Lambda error's cause is the JSON text of the error object, as Lambda reports it.
  Json err = run("lambda-err", R"({"StartAt":"A","States":{
      "A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:greet","End":true}}})",
                 Json::object());
  ASSERT_EQ(err["status"], "FAILED") << err.dump();
  EXPECT_EQ(err["error"], "InvalidName");
  Json cause = Json::parse(err["cause"].get<std::string>(), nullptr, false);
  EXPECT_EQ(cause["errorType"], "InvalidName");
}

}  // namespace
