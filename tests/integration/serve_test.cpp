// The real `switchyard serve` on the embedded default (its own redis-server
// child) with real example function processes, driven over HTTP on 127.0.0.1.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "switchyard/testing/switchyard.hpp"
#include "switchyard/testing/tls.hpp"

namespace {

using Json = nlohmann::json;
using switchyard::testing::example_functions_yaml;
using switchyard::testing::ServeOptions;
using switchyard::testing::SwitchyardServer;

// Pass, Choice and two Tasks on two different local functions.
const char* kWorkflow = R"({
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Parameters": {"name.$": "$.who", "vip.$": "$.vip"}, "Next": "Greet"},
    "Greet": {"Type": "Task", "Resource": "fn:greet", "Parameters": {"name.$": "$.name"},
              "ResultPath": "$.greeting", "Next": "IsVip"},
    "IsVip": {"Type": "Choice",
              "Choices": [{"Variable": "$.vip", "BooleanEquals": true, "Next": "Echo"}],
              "Default": "Done"},
    "Echo": {"Type": "Task", "Resource": "fn:echo", "Parameters": {"said.$": "$.greeting.greeting"},
             "ResultPath": "$.echoed", "Next": "Done"},
    "Done": {"Type": "Succeed"}
  }
})";

ServeOptions with_functions() {
  ServeOptions o;
  o.functions_yaml = example_functions_yaml();
  return o;
}

Json body(const switchyard::testing::HttpResult& r) { return Json::parse(r.body, nullptr, false); }

std::vector<std::string> event_types(SwitchyardServer& s, const std::string& id) {
  auto h = s.request("GET", "/v1/executions/" + id + "/history");
  EXPECT_EQ(h.status, 200) << h.body;
  std::vector<std::string> types;
  Json doc = body(h);
  for (const auto& e : doc["events"]) {
    types.push_back(e["type"].get<std::string>());
  }
  return types;
}

TEST(Serve, RunsPassChoiceAndTwoTasksToSucceededWithWait) {
  SwitchyardServer s(with_functions());
  s.deploy("hello", kWorkflow);
  auto r =
      s.request("POST", "/v1/state-machines/hello/executions?wait=20", R"({"input": {"who": "Ada", "vip": true}})");
  ASSERT_EQ(r.status, 200) << r.body << "\n" << s.log();
  Json j = body(r);
  EXPECT_EQ(j["status"], "SUCCEEDED") << r.body;
  Json expected = {{"name", "Ada"},
                   {"vip", true},
                   {"greeting", {{"greeting", "Hello, Ada!"}, {"length", 3}}},
                   {"echoed", {{"said", "Hello, Ada!"}}}};
  EXPECT_EQ(j["output"], expected);

  auto types = event_types(s, j["executionId"].get<std::string>());
  std::vector<std::string> want{"ExecutionStarted",   "PassStateEntered",  "PassStateExited",  "TaskStateEntered",
                                "TaskScheduled",      "TaskStarted",       "TaskSucceeded",    "TaskStateExited",
                                "ChoiceStateEntered", "ChoiceStateExited", "TaskStateEntered", "TaskScheduled",
                                "TaskStarted",        "TaskSucceeded",     "TaskStateExited",  "SucceedStateEntered",
                                "SucceedStateExited", "ExecutionSucceeded"};
  EXPECT_EQ(types, want);

  // The non-VIP path skips the second Task.
  auto r2 =
      s.request("POST", "/v1/state-machines/hello/executions?wait=20", R"({"input": {"who": "Bob", "vip": false}})");
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(body(r2)["output"].contains("echoed"), false);
  EXPECT_EQ(body(r2)["output"]["greeting"]["greeting"], "Hello, Bob!");
}

TEST(Serve, HistoryEventsHaveIdsTimestampsAndDetails) {
  SwitchyardServer s(with_functions());
  s.deploy("hello", kWorkflow);
  auto r =
      s.request("POST", "/v1/state-machines/hello/executions?wait=20", R"({"input": {"who": "Al", "vip": false}})");
  ASSERT_EQ(r.status, 200);
  auto h = body(s.request("GET", "/v1/executions/" + body(r)["executionId"].get<std::string>() + "/history"));
  const auto& events = h["events"];
  ASSERT_GT(events.size(), 3U);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["id"], i + 1);
    EXPECT_EQ(events[i]["previousEventId"], i);
    EXPECT_TRUE(events[i]["timestamp"].is_string());
  }
  EXPECT_EQ(events[0]["executionStartedEventDetails"]["input"], R"({"vip":false,"who":"Al"})");
  EXPECT_EQ(events[1]["stateEnteredEventDetails"]["name"], "Prepare");
  // Paging: after=2 starts at the third event.
  auto page = body(
      s.request("GET", "/v1/executions/" + body(r)["executionId"].get<std::string>() + "/history?after=2&limit=2"));
  ASSERT_EQ(page["events"].size(), 2U);
  EXPECT_EQ(page["events"][0]["id"], 3);
}

TEST(Serve, StartWithoutWaitReturns201AndDescribeShowsTheEnd) {
  SwitchyardServer s(with_functions());
  s.deploy("hello", kWorkflow);
  auto r = s.request("POST", "/v1/state-machines/hello/executions", R"({"input": {"who": "Cy", "vip": false}})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = body(r)["executionId"];
  Json d;
  ASSERT_TRUE(switchyard::testing::wait_until(
      [&] {
        d = body(s.request("GET", "/v1/executions/" + id));
        return d["status"] != "RUNNING";
      },
      std::chrono::seconds{20}));
  EXPECT_EQ(d["status"], "SUCCEEDED");
  EXPECT_EQ(d["stateMachine"], "hello");
  EXPECT_EQ(d["input"], Json({{"who", "Cy"}, {"vip", false}}));
  EXPECT_TRUE(d["startedAt"].is_string());
  EXPECT_TRUE(d["stoppedAt"].is_string());
  // Listed, newest first.
  auto list = body(s.request("GET", "/v1/executions?stateMachine=hello"));
  ASSERT_EQ(list["executions"].size(), 1U);
  EXPECT_EQ(list["executions"][0]["executionId"], id);
}

TEST(Serve, TaskErrorFailsTheExecutionWithTheFunctionsErrorName) {
  SwitchyardServer s(with_functions());
  s.deploy("greet-only", R"({"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}})");
  auto r = s.request("POST", "/v1/state-machines/greet-only/executions?wait=20", R"({"input": {"nobody": 1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["status"], "FAILED");
  EXPECT_EQ(body(r)["error"], "InvalidName");
}

TEST(Serve, BadInputGetsClearErrors) {
  SwitchyardServer s(with_functions());
  // Malformed JSON -> 400.
  auto bad = s.request("PUT", "/v1/state-machines/x", "{\"StartAt\": ");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(body(bad).contains("error"));
  // Invalid ASL -> 400 with the path of the offending field.
  auto invalid =
      s.request("PUT", "/v1/state-machines/x", R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}})");
  ASSERT_EQ(invalid.status, 400) << invalid.body;
  Json ij = body(invalid);
  EXPECT_EQ(ij["error"], "InvalidDefinition");
  bool found = false;
  for (const auto& p : ij["problems"]) {
    found = found || p["path"] == "/States/A/Next";
  }
  EXPECT_TRUE(found) << invalid.body;
  // Unknown state machine -> 404; unknown execution -> 404.
  EXPECT_EQ(s.request("POST", "/v1/state-machines/nope/executions", "{}").status, 404);
  EXPECT_EQ(s.request("GET", "/v1/executions/nope").status, 404);
  EXPECT_EQ(s.request("GET", "/v1/state-machines/nope").status, 404);
  // Oversized body -> 413.
  std::string big = "{\"input\": \"" + std::string(2 * 1024 * 1024, 'x') + "\"}";
  EXPECT_EQ(s.request("POST", "/v1/state-machines/nope/executions", big).status, 413);
  // Malformed start body -> 400.
  s.deploy("p", R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  EXPECT_EQ(s.request("POST", "/v1/state-machines/p/executions", "{oops").status, 400);
  // An input over the 256 KiB limit -> 413, nothing started.
  std::string large = "{\"input\": \"" + std::string(300 * 1024, 'x') + "\"}";
  EXPECT_EQ(s.request("POST", "/v1/state-machines/p/executions", large).status, 413);
  // Bad names -> 400.
  EXPECT_EQ(s.request("PUT", "/v1/state-machines/bad%20name", "{}").status, 400);
  // Hostile nesting (which would overflow a recursive printer) -> 400.
  std::string deep = "{\"input\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(s.request("POST", "/v1/state-machines/p/executions", deep).status, 400);
  // A stop whose error or cause is not a string -> 400, the execution untouched.
  auto started = s.request("POST", "/v1/state-machines/p/executions", "{}");
  ASSERT_EQ(started.status, 201) << started.body;
  std::string id = body(started)["executionId"];
  auto bad_stop = s.request("POST", "/v1/executions/" + id + "/stop", R"({"error": 5})");
  EXPECT_EQ(bad_stop.status, 400) << bad_stop.body;
  EXPECT_EQ(body(bad_stop)["error"], "InvalidParameter");
  EXPECT_EQ(s.request("POST", "/v1/executions/" + id + "/stop", R"({"cause": {"x": 1}})").status, 400);
  // The server is still healthy.
  EXPECT_EQ(s.request("GET", "/healthz").status, 200);
}

TEST(Serve, SameExecutionNameIsIdempotentAndConflictsOnOtherInput) {
  SwitchyardServer s;
  s.deploy("p", R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  auto first = s.request("POST", "/v1/state-machines/p/executions?wait=10", R"({"input": {"n": 1}, "name": "job-1"})");
  ASSERT_EQ(first.status, 200) << first.body;
  auto again = s.request("POST", "/v1/state-machines/p/executions", R"({"input": {"n": 1}, "name": "job-1"})");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(body(again)["executionId"], body(first)["executionId"]);
  auto other = s.request("POST", "/v1/state-machines/p/executions", R"({"input": {"n": 2}, "name": "job-1"})");
  EXPECT_EQ(other.status, 409) << other.body;
}

// The same name again under ?wait= answers as a new start would: 202 while it still runs, 200 once it ended.
TEST(Serve, SameExecutionNameUnderWaitIs202WhileItRuns) {
  SwitchyardServer s;
  s.deploy("slow", R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3,"End":true}}})");
  auto first = s.request("POST", "/v1/state-machines/slow/executions", R"({"input": {}, "name": "job-2"})");
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = s.request("POST", "/v1/state-machines/slow/executions?wait=0.2", R"({"input": {}, "name": "job-2"})");
  EXPECT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(body(again)["executionId"], body(first)["executionId"]);
  EXPECT_EQ(body(again)["status"], "RUNNING");
  auto done = s.request("POST", "/v1/state-machines/slow/executions?wait=10", R"({"input": {}, "name": "job-2"})");
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(body(done)["status"], "SUCCEEDED");
}

// An EXPRESS execution's name again is the same execution (or a conflict) without running it
// again: its functions are not called a second time.
TEST(Serve, SameExpressExecutionNameDoesNotRunItAgain) {
  SwitchyardServer s(with_functions());
  ASSERT_EQ(s.request("PUT", "/v1/state-machines/x",
                      R"({"type":"EXPRESS","definition":{"StartAt":"T","States":{"T":{"Type":"Task",)"
                      R"("Resource":"fn:echo","End":true}}}})")
                .status,
            201);
  auto calls = [&s] {
    std::string text = s.request("GET", "/metrics").body;
    const std::string series = "switchyard_task_calls_total{outcome=\"succeeded\"} ";
    auto at = text.find(series);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size()));
  };
  auto first = s.request("POST", "/v1/state-machines/x/executions?wait=10", R"({"input": {"n": 1}, "name": "e1"})");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(body(first)["status"], "SUCCEEDED");
  EXPECT_EQ(calls(), 1.0);
  auto again = s.request("POST", "/v1/state-machines/x/executions?wait=10", R"({"input": {"n": 1}, "name": "e1"})");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(body(again)["executionId"], body(first)["executionId"]);
  auto other = s.request("POST", "/v1/state-machines/x/executions", R"({"input": {"n": 2}, "name": "e1"})");
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_EQ(calls(), 1.0);
}

// An EXPRESS machine that loops forever (no TimeoutSeconds) fails at the history event limit, as a
// STANDARD one does, instead of growing in memory.
TEST(Serve, AnExpressLoopFailsAtTheHistoryLimit) {
  SwitchyardServer s;
  ASSERT_EQ(s.request("PUT", "/v1/state-machines/loop",
                      R"({"type":"EXPRESS","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"C"},)"
                      R"("C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],)"
                      R"("Default":"A"},"Done":{"Type":"Succeed"}}}})")
                .status,
            201);
  auto r = s.request("POST", "/v1/state-machines/loop/executions?wait=30", "{}");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  Json rec = body(r);
  EXPECT_EQ(rec["status"], "FAILED");
  EXPECT_EQ(rec["error"], "States.DataLimitExceeded");
  std::string id = rec["executionId"];
  // Its history, page by page (a step runs a chain of Pass and Choice states at once, so the
  // step that would pass 25,000 ends it somewhat before).
  Json last;
  for (int64_t after = 0, page = 0; page < 30; ++page) {
    auto r2 = s.request("GET", "/v1/executions/" + id + "/history?limit=1000&after=" + std::to_string(after));
    ASSERT_EQ(r2.status, 200) << r2.body.substr(0, 300);
    Json events = body(r2)["events"];
    if (events.empty()) {
      break;
    }
    last = events.back();
    after = last["id"].get<int64_t>();
  }
  ASSERT_TRUE(last.is_object());
  EXPECT_EQ(last["type"], "ExecutionFailed");
  EXPECT_GT(last["id"].get<int64_t>(), 20000);
  EXPECT_LE(last["id"].get<int64_t>(), 25001);
}

// A Task whose Resource is an https URL: TLS checked against the authorities the process trusts
// (here $SSL_CERT_FILE names the test's own); without them, the step fails with why.
TEST(Serve, ATaskCallsAnHttpsUrl) {
  auto kc = switchyard::testing::make_certificate("IP:127.0.0.1");
  switchyard::testing::TlsEchoServer tls(kc);
  switchyard::testing::TempDir dir;
  std::string ca = (dir.path() / "ca.pem").string();
  std::ofstream(ca) << kc.cert_pem;
  std::string def = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"https://127.0.0.1:)" +
                    std::to_string(tls.port()) + R"(/echo","End":true}}})";
  {
    ServeOptions o;
    o.env["SSL_CERT_FILE"] = ca;
    SwitchyardServer s(o);
    s.deploy("secure", def);
    auto r = s.request("POST", "/v1/state-machines/secure/executions?wait=10", R"({"input": {"n": 7}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body(r)["status"], "SUCCEEDED") << r.body;
    EXPECT_EQ(body(r)["output"], Json::parse(R"({"n": 7})"));
  }
  ServeOptions untrusting;
  untrusting.env["SSL_CERT_FILE"] = (dir.path() / "none.pem").string();  // trusts nothing
  SwitchyardServer s(untrusting);
  s.deploy("secure", def);
  auto r = s.request("POST", "/v1/state-machines/secure/executions?wait=10", R"({"input": {"n": 7}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["status"], "FAILED") << r.body;
  EXPECT_NE(body(r).value("cause", "").find("TLS handshake failed"), std::string::npos) << r.body;
}

// `switchyard history` prints the whole history, past the API's 1,000 events a page.
TEST(Serve, TheCliPrintsAHistoryOfMoreThanOnePage) {
  SwitchyardServer s;
  s.deploy("count", R"json({"StartAt":"Inc","States":{
    "Inc":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"Next":"More"},
    "More":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":400,"Next":"Inc"}],"Default":"Done"},
    "Done":{"Type":"Succeed"}}})json");
  auto r = s.request("POST", "/v1/state-machines/count/executions?wait=30", R"({"input": {"n": 0}})");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  ASSERT_EQ(body(r)["status"], "SUCCEEDED");
  std::string id = body(r)["executionId"];
  auto cli = switchyard::testing::run_cli(s.port(), {"history", id});
  ASSERT_EQ(cli.exit_code, 0) << cli.output.substr(0, 300);
  Json doc = Json::parse(cli.output, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << cli.output.substr(0, 300);
  const Json& events = doc["events"];
  ASSERT_GT(events.size(), 1600U);  // 400 rounds of 4 events
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i]["id"], i + 1);
  }
  EXPECT_EQ(events.front()["type"], "ExecutionStarted");
  EXPECT_EQ(events.back()["type"], "ExecutionSucceeded");
}

// The payload and history limits are settings (AWS's 256 KiB and 25,000 by default).
TEST(Serve, PayloadAndHistoryLimitsAreSettings) {
  ServeOptions o;
  o.extra_args = {"--max-payload-bytes", "2048", "--max-history-events", "200"};
  SwitchyardServer s(o);
  s.deploy("p", R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})");
  std::string big = R"({"input": ")" + std::string(3000, 'x') + R"("})";
  EXPECT_EQ(s.request("POST", "/v1/state-machines/p/executions", big).status, 413);
  std::string fits = R"({"input": ")" + std::string(1500, 'x') + R"("})";
  EXPECT_EQ(s.request("POST", "/v1/state-machines/p/executions?wait=10", fits).status, 200);
  s.deploy("loop", R"({"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":0,"Next":"C"},)"
                   R"("C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],)"
                   R"("Default":"A"},"Done":{"Type":"Succeed"}}})");
  auto r = s.request("POST", "/v1/state-machines/loop/executions?wait=30", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["status"], "FAILED");
  EXPECT_EQ(body(r)["error"], "States.DataLimitExceeded");
  auto h = s.request("GET", "/v1/executions/" + body(r)["executionId"].get<std::string>() + "/history?limit=1000");
  Json events = body(h)["events"];
  ASSERT_FALSE(events.empty());
  EXPECT_LE(events.size(), 201U);
  EXPECT_EQ(events.back()["type"], "ExecutionFailed");
}

// An EXPRESS start answers as a STANDARD one does (DESIGN §3): 201 at once without ?wait=, 202
// when it still runs after the wait, 200 with the end; while it runs, GET shows it RUNNING.
TEST(Serve, ExpressStartsAnswerLikeStandardOnes) {
  SwitchyardServer s;
  ASSERT_EQ(s.request("PUT", "/v1/state-machines/xw",
                      R"({"type":"EXPRESS","definition":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,)"
                      R"("Next":"P"},"P":{"Type":"Pass","Result":{"done":true},"End":true}}}})")
                .status,
            201);
  auto started = s.request("POST", "/v1/state-machines/xw/executions", R"({"input": {"n": 1}})");
  ASSERT_EQ(started.status, 201) << started.body;
  EXPECT_EQ(body(started)["status"], "RUNNING");
  std::string id = body(started)["executionId"];
  auto during = s.request("GET", "/v1/executions/" + id);
  ASSERT_EQ(during.status, 200) << during.body;
  EXPECT_EQ(body(during)["status"], "RUNNING");
  EXPECT_EQ(body(during)["type"], "EXPRESS");
  auto stop = s.request("POST", "/v1/executions/" + id + "/stop", "{}");
  EXPECT_EQ(stop.status, 400) << stop.body;
  EXPECT_EQ(body(stop)["error"], "InvalidOperation");
  auto waited = s.request("POST", "/v1/state-machines/xw/executions?wait=0.1", R"({"input": {"n": 2}, "name": "w2"})");
  EXPECT_EQ(waited.status, 202) << waited.body;
  EXPECT_EQ(body(waited)["status"], "RUNNING");
  // Its name again while it runs: the same execution, or a conflict.
  auto same = s.request("POST", "/v1/state-machines/xw/executions", R"({"input": {"n": 2}, "name": "w2"})");
  EXPECT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(body(same)["executionId"], body(waited)["executionId"]);
  EXPECT_EQ(s.request("POST", "/v1/state-machines/xw/executions", R"({"input": {"n": 9}, "name": "w2"})").status, 409);
  auto whole = s.request("POST", "/v1/state-machines/xw/executions?wait=10", R"({"input": {"n": 3}})");
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(body(whole)["status"], "SUCCEEDED");
  EXPECT_EQ(body(whole)["output"], Json::parse(R"({"done": true})"));
  // The first one ended meanwhile and is recorded.
  auto after = s.request("GET", "/v1/executions/" + id);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(body(after)["status"], "SUCCEEDED");
}

TEST(Serve, YamlDefinitionsAndRevisions) {
  SwitchyardServer s;
  std::string yaml = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {v: 1}\n    End: true\n";
  auto put = s.request("PUT", "/v1/state-machines/y", yaml, {{"Content-Type", "application/yaml"}});
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(body(put)["revision"], 1);
  auto r1 = s.request("POST", "/v1/state-machines/y/executions?wait=10", "{}");
  EXPECT_EQ(body(r1)["output"], Json({{"v", 1}}));
  std::string yaml2 = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {v: 2}\n    End: true\n";
  auto put2 = s.request("PUT", "/v1/state-machines/y", yaml2, {{"Content-Type", "application/yaml"}});
  ASSERT_EQ(put2.status, 200) << put2.body;
  EXPECT_EQ(body(put2)["revision"], 2);
  auto r2 = s.request("POST", "/v1/state-machines/y/executions?wait=10", "{}");
  EXPECT_EQ(body(r2)["output"], Json({{"v", 2}}));
  EXPECT_EQ(body(r2)["revision"], 2);
  auto list = body(s.request("GET", "/v1/state-machines"));
  ASSERT_EQ(list["stateMachines"].size(), 1U);
  EXPECT_EQ(list["stateMachines"][0]["name"], "y");
}

TEST(Serve, KilledServerLeavesNoOrphanedRedis) {
  auto s = std::make_unique<SwitchyardServer>();
  std::ifstream pidfile(s->data_dir() / "redis.pid");
  pid_t redis_pid = 0;
  pidfile >> redis_pid;
  ASSERT_GT(redis_pid, 0);
  ASSERT_EQ(kill(redis_pid, 0), 0);
  s->process().signal(SIGKILL);
  ASSERT_TRUE(s->process().wait(std::chrono::seconds{5}));
  // redis-server gets SIGTERM when its parent dies; it is reaped by init (or us as subreaper).
  bool gone = switchyard::testing::wait_until(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(redis_pid) + "/stat");
        std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        return content.empty() || content.find(") Z ") != std::string::npos;
      },
      std::chrono::seconds{10});
  EXPECT_TRUE(gone) << "redis-server " << redis_pid << " outlived a killed switchyard";
}

// The settings the embedded redis-server must run with: durability (AOF, no RDB snapshots), the
// compact encodings the memory figures assume, and AOF rewrites rare enough not to eat its CPU.
TEST(Serve, EmbeddedRedisRunsWithTheAofAndEncodingSettings) {
  SwitchyardServer s;
  auto config = [&](const std::string& name) {
    std::string out = switchyard::testing::run_capture("redis-cli --raw -s '" + (s.data_dir() / "redis.sock").string() +
                                                       "' CONFIG GET " + name + " 2>/dev/null");
    // --raw prints the name and the value on two lines.
    auto nl = out.find('\n');
    std::string value = nl == std::string::npos ? "" : out.substr(nl + 1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
      value.pop_back();
    }
    return value;
  };
  EXPECT_EQ(config("appendonly"), "yes");
  EXPECT_EQ(config("appendfsync"), "everysec");
  EXPECT_EQ(config("save"), "");
  EXPECT_EQ(config("auto-aof-rewrite-percentage"), "400");
  EXPECT_EQ(config("hash-max-listpack-value"), "1024");
  EXPECT_EQ(config("zset-max-listpack-entries"), "32");
}

TEST(Serve, SigtermStopsGracefullyAndStopsRedis) {
  SwitchyardServer s;
  std::ifstream pidfile(s.data_dir() / "redis.pid");
  pid_t redis_pid = 0;
  pidfile >> redis_pid;
  s.process().signal(SIGTERM);
  auto st = s.process().wait(std::chrono::seconds{20});
  ASSERT_TRUE(st.has_value()) << s.log();
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << s.log();
  std::ifstream stat("/proc/" + std::to_string(redis_pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(content.empty() || content.find(") Z ") != std::string::npos);
}

}  // namespace

namespace {

TEST(ServeAuth, TokenGuardsTheApiButNotHealthTasksOrHooks) {
  switchyard::testing::ServeOptions o;
  o.env = {{"SWITCHYARD_TOKEN", "s3cret-token"}};
  SwitchyardServer s(o);
  EXPECT_EQ(s.request("GET", "/healthz").status, 200);
  auto denied = s.request("GET", "/v1/state-machines");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(s.request("GET", "/v1/state-machines", "", {{"Authorization", "Bearer wrong-token!"}}).status, 401);
  EXPECT_EQ(s.request("GET", "/v1/state-machines", "", {{"Authorization", "Bearer s3cret-token"}}).status, 200);
  // A task token is its own credential: an unknown one is 404, not 401.
  EXPECT_EQ(s.request("POST", "/v1/tasks/nope_0_abc/success", "{}").status, 404);
}

}  // namespace

namespace {

TEST(ServeCli, AnUnknownOptionIsAnErrorNotIgnored) {
  using namespace std::chrono_literals;
  switchyard::testing::TempDir dir;
  // --port is not an option (--listen is): starting on some other port instead would be a trap.
  switchyard::testing::Process p(
      {SWITCHYARD_BINARY, "serve", "--port", "18080", "--data-dir", (dir.path() / "data").string()}, {},
      dir.path() / "serve.log");
  auto st = p.wait(10s);
  ASSERT_TRUE(st.has_value()) << "serve kept running with an unknown option";
  ASSERT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 2);
  EXPECT_NE(p.log().find("unknown option --port"), std::string::npos) << p.log();
  // The same for a client verb.
  switchyard::testing::Process c({SWITCHYARD_BINARY, "describe", "x", "--sever", "http://127.0.0.1:1"}, {},
                                 dir.path() / "cli.log");
  auto cst = c.wait(10s);
  ASSERT_TRUE(cst.has_value());
  EXPECT_EQ(WEXITSTATUS(*cst), 2);
  EXPECT_NE(c.log().find("unknown option --sever"), std::string::npos) << c.log();
}

// --listen takes a host name (resolved once, at start) as well as an address; what it cannot use
// stops the server with why.
TEST(ServeCli, ListenTakesAHostNameAndRejectsWhatItCannotUse) {
  using namespace std::chrono_literals;
  switchyard::testing::TempDir dir;
  {
    switchyard::testing::Process p(
        {SWITCHYARD_BINARY, "serve", "--listen", "localhost:0", "--data-dir", (dir.path() / "data").string()}, {},
        dir.path() / "serve.log");
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (p.log().find("listening on http://") == std::string::npos && std::chrono::steady_clock::now() < deadline &&
           p.running()) {
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_NE(p.log().find("listening on http://"), std::string::npos) << p.log();
  }
  struct Case {
    std::string listen, expected;
  };
  for (const Case& c :
       {Case{"no-such-host.invalid:0", "--listen: cannot resolve 'no-such-host.invalid'"},
        Case{"127.0.0.1:http", "--listen wants HOST:PORT"}, Case{"127.0.0.1", "--listen wants HOST:PORT"},
        Case{"127.0.0.1:70000", "--listen wants HOST:PORT"}}) {
    SCOPED_TRACE(c.listen);
    switchyard::testing::Process p(
        {SWITCHYARD_BINARY, "serve", "--listen", c.listen, "--data-dir", (dir.path() / "data2").string()}, {},
        dir.path() / "bad.log");
    auto st = p.wait(30s);
    ASSERT_TRUE(st.has_value()) << "serve kept running with --listen " << c.listen;
    EXPECT_EQ(WEXITSTATUS(*st), 1);
    EXPECT_NE(p.log().find(c.expected), std::string::npos) << p.log();
  }
}

TEST(ServeCli, ANumberSettingOutOfItsRangeIsAnError) {
  using namespace std::chrono_literals;
  switchyard::testing::TempDir dir;
  for (const char* bad : {"0", "12x", "99999999999"}) {
    SCOPED_TRACE(bad);
    switchyard::testing::Process p({SWITCHYARD_BINARY, "serve", "--listen", "127.0.0.1:0", "--max-history-events", bad,
                                    "--data-dir", (dir.path() / "data").string()},
                                   {}, dir.path() / "serve.log");
    auto st = p.wait(30s);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(WEXITSTATUS(*st), 1);
    EXPECT_NE(p.log().find("max-history-events must be a whole number from 100 to 1000000, got '" + std::string(bad)),
              std::string::npos)
        << p.log();
  }
}

TEST(ServeCli, AnUnknownOrNonScalarConfigSettingIsAnError) {
  using namespace std::chrono_literals;
  switchyard::testing::TempDir dir;
  struct Case {
    std::string yaml, expected;
  };
  for (const Case& c : {Case{"listen: 127.0.0.1:0\ndata_dir: /tmp/x\n", "config.yaml:2: setting 'data_dir' is unknown"},
                        Case{"roles: [gateway]\n", "config.yaml:1: setting 'roles' must be a single value"}}) {
    SCOPED_TRACE(c.yaml);
    std::ofstream(dir.path() / "config.yaml") << c.yaml;
    switchyard::testing::Process p({SWITCHYARD_BINARY, "serve", "--config", (dir.path() / "config.yaml").string(),
                                    "--data-dir", (dir.path() / "data").string()},
                                   {}, dir.path() / "serve.log");
    auto st = p.wait(10s);
    ASSERT_TRUE(st.has_value()) << "serve kept running with a bad config file";
    ASSERT_TRUE(WIFEXITED(*st));
    EXPECT_EQ(WEXITSTATUS(*st), 1);
    EXPECT_NE(p.log().find(c.expected), std::string::npos) << p.log();
  }
}

}  // namespace
