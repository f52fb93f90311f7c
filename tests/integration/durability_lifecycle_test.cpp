// Lifecycle across processes: stop reaches Map iterations running on other
// routers, a start by name is idempotent whichever gateway gets it, and
// retention expires finished executions but never running ones, and the routers'
// index sweep then removes their ids from the execution indexes.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "switchyard/testing/cluster.hpp"
#include "switchyard/testing/history_check.hpp"

namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace switchyard::testing;

int count_type(const std::vector<Json>& h, const std::string& type) {
  int n = 0;
  for (const auto& e : h) {
    n += e.value("type", "") == type ? 1 : 0;
  }
  return n;
}

TEST(DurabilityLifecycle, StopInsideAMapAbortsAndNothingIsAppendedAfterwards) {
  Cluster c;
  c.deploy("mapstop", Json::parse(R"({
    "StartAt": "Each",
    "States": {
      "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 4, "Next": "After",
               "ItemProcessor": {"StartAt": "Work", "States": {
                 "Work": {"Type": "Task", "Resource": "fn:echo", "Parameters": {"sleepMs": 400, "i.$": "$"},
                          "Next": "Rest"},
                 "Rest": {"Type": "Wait", "Seconds": 1, "End": true}}}},
      "After": {"Type": "Pass", "End": true}
    }
  })"));
  Json items = Json::array();
  for (int i = 0; i < 20; ++i) {
    items.push_back(i);
  }
  std::string id = c.start("mapstop", Json{{"items", items}});
  // Stop while iterations are running (calls in flight and Waits parked).
  bool running = wait_until([&] { return count_type(c.history(id), "MapIterationStarted") >= 4; }, seconds{10});
  ASSERT_TRUE(running) << c.logs();
  std::this_thread::sleep_for(milliseconds{300});
  auto r = http_request(c.port(), "POST", "/v1/executions/" + id + "/stop",
                        R"({"error": "Test.Stop", "cause": "stopped by the test"})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["status"], "ABORTED");
  EXPECT_EQ(j["error"], "Test.Stop");
  auto h = c.history(id);
  EXPECT_TRUE(check_structure(h, "ExecutionAborted").empty())
      << ::testing::PrintToString(check_structure(h, "ExecutionAborted"));
  EXPECT_LT(count_type(h, "MapIterationStarted"), 20);
  // Longer than a call, a Wait and a lease: in-flight iterations finish their calls, but
  // every commit is refused and no further iteration is launched.
  std::this_thread::sleep_for(milliseconds{2500});
  auto later = c.history(id);
  EXPECT_EQ(later.size(), h.size()) << "events were appended after the stop: " << later.back().dump();
  EXPECT_EQ(c.describe(id)["status"], "ABORTED");
  bool drained = wait_until(
      [&] { return c.redis().cli_int("XLEN sy:work") == 0 && c.redis().cli_int("ZCARD sy:timers") == 0; }, seconds{10});
  EXPECT_TRUE(drained) << "work or timers left: XLEN " << c.redis().cli("XLEN sy:work") << " timers "
                       << c.redis().cli("ZRANGE sy:timers 0 -1");
  // A second stop changes nothing.
  auto again = http_request(c.port(), "POST", "/v1/executions/" + id + "/stop", "{}");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json::parse(again.body, nullptr, false)["error"], "Test.Stop") << again.body;
  EXPECT_EQ(c.history(id).size(), h.size());
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

TEST(DurabilityLifecycle, StartByNameIsIdempotentAcrossGateways) {
  ClusterOptions o;
  o.gateways = 2;
  Cluster c(o);
  c.deploy("named", Json::parse(R"({
    "StartAt": "Call",
    "States": {"Call": {"Type": "Task", "Resource": "fn:echo", "End": true}}
  })"));
  // 16 concurrent starts of one name through two gateway processes.
  std::mutex mu;
  std::vector<std::pair<int, std::string>> results;
  std::vector<std::thread> pool;
  for (int t = 0; t < 16; ++t) {
    pool.emplace_back([&, t] {
      auto r = http_request(c.port(static_cast<size_t>(t % 2)), "POST", "/v1/state-machines/named/executions",
                            R"({"name": "order-42", "input": {"order": 42}})");
      Json j = Json::parse(r.body, nullptr, false);
      std::lock_guard<std::mutex> lock(mu);
      results.emplace_back(r.status, j.is_object() ? j.value("executionId", std::string()) : std::string());
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  int created = 0;
  for (const auto& [status, eid] : results) {
    EXPECT_TRUE(status == 201 || status == 200) << status;
    created += status == 201 ? 1 : 0;
    EXPECT_EQ(eid, results.front().second);
  }
  EXPECT_EQ(created, 1);
  std::string id = results.front().second;
  ASSERT_FALSE(id.empty());
  for (size_t g = 0; g < 2; ++g) {
    auto conflict = http_request(c.port(g), "POST", "/v1/state-machines/named/executions",
                                 R"({"name": "order-42", "input": {"order": 43}})");
    EXPECT_EQ(conflict.status, 409) << conflict.body;
  }
  ASSERT_TRUE(c.wait_all_finished("named", seconds{20})) << c.logs();
  EXPECT_EQ(c.redis().cli_int("ZCARD sy:xs:named"), 1);
  HistoryExpectation want;
  want.entered = {{"Call", 1}};
  want.task_succeeded = 1;
  auto h = c.history(id);
  EXPECT_TRUE(check_history(h, want).empty()) << ::testing::PrintToString(check_history(h, want));
  // After it finished, the same name still gives the same execution.
  auto same = http_request(c.port(1), "POST", "/v1/state-machines/named/executions",
                           R"({"name": "order-42", "input": {"order": 42}})");
  EXPECT_EQ(same.status, 200);
  EXPECT_EQ(Json::parse(same.body)["status"], "SUCCEEDED");
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

// A start is one write: the execution is created by the commit of its first step. An execution
// whose first state is a Wait is parked by the gateway itself, without a stream entry or a router.
TEST(DurabilityLifecycle, AStartCommitsItsFirstStepWithTheExecutionInOneWrite) {
  ClusterOptions o;
  o.routers = 1;
  Cluster c(o);
  c.deploy("nap", Json::parse(R"({
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 60, "End": true}}
  })"));
  c.redis().cli("CONFIG RESETSTAT");
  auto r = http_request(c.port(), "POST", "/v1/state-machines/nap/executions", R"({"name": "n-1", "input": {"k": 1}})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = Json::parse(r.body)["executionId"];
  auto calls = [&](const std::string& command) { return c.redis().command_calls(command); };
  EXPECT_EQ(calls("hset"), 1);  // the record, the run and the event count, in the one commit
  EXPECT_EQ(calls("rpush"), 1);
  EXPECT_EQ(calls("xadd"), 0);
  std::vector<std::string> types;
  for (const auto& e : c.history(id)) {
    types.push_back(e.value("type", ""));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ExecutionStarted", "WaitStateEntered"}));
  EXPECT_FALSE(c.redis().cli("ZSCORE sy:timers '" + id + "|0|1|timer'").empty())
      << c.redis().cli("ZRANGE sy:timers 0 -1");
  // The same name again: the same execution, nothing written.
  auto again =
      http_request(c.port(), "POST", "/v1/state-machines/nap/executions", R"({"name": "n-1", "input": {"k": 1}})");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json::parse(again.body)["executionId"], id);
  EXPECT_EQ(calls("hset"), 1);
  EXPECT_EQ(c.history(id).size(), 2U);
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

TEST(DurabilityLifecycle, RetentionExpiresFinishedExecutionsButNeverRunningOnes) {
  ClusterOptions o;
  o.routers = 1;
  o.common_args = {"--retention-seconds", "1"};
  Cluster c(o);
  c.deploy("quick", Json::parse(R"({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})"));
  c.deploy("slow", Json::parse(R"({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 4, "End": true}}})"));
  std::vector<std::string> quick;
  for (int i = 0; i < 5; ++i) {
    quick.push_back(c.start("quick", Json{{"i", i}}));
  }
  std::string slow = c.start("slow", Json::object());
  std::string stopped = c.start("slow", Json{{"stop", true}});
  ASSERT_TRUE(c.wait_all_finished("quick", seconds{10})) << c.logs();
  ASSERT_EQ(http_request(c.port(), "POST", "/v1/executions/" + stopped + "/stop", "{}").status, 200);
  auto ttl = [&](const std::string& key) { return c.redis().cli_int("PTTL '" + key + "'").value_or(-99); };
  for (const auto& id : quick) {
    auto t = ttl("sy:x:{" + id + "}");
    EXPECT_TRUE(t > 0 && t <= 1000) << "record TTL " << t;
    auto th = ttl("sy:x:{" + id + "}:h");
    EXPECT_TRUE(th > 0 && th <= 1000) << "history TTL " << th;
  }
  EXPECT_GT(ttl("sy:x:{" + stopped + "}"), 0);
  EXPECT_EQ(ttl("sy:x:{" + slow + "}"), -1) << "a running execution must not expire";
  EXPECT_EQ(ttl("sy:x:{" + slow + "}:h"), -1);

  std::this_thread::sleep_for(milliseconds{2000});
  for (const auto& id : quick) {
    EXPECT_EQ(http_request(c.port(), "GET", "/v1/executions/" + id).status, 404);
    EXPECT_EQ(http_request(c.port(), "GET", "/v1/executions/" + id + "/history").status, 404);
    EXPECT_EQ(c.redis().cli_int("EXISTS 'sy:x:{" + id + "}' 'sy:x:{" + id + "}:h'"), 0);
  }
  EXPECT_EQ(http_request(c.port(), "GET", "/v1/executions/" + stopped).status, 404);
  // 2+ s in, the retention is long past, but the running one is intact.
  Json d = c.describe(slow);
  EXPECT_EQ(d["status"], "RUNNING") << d.dump();
  EXPECT_EQ(ttl("sy:x:{" + slow + "}"), -1);
  // Listing skips the expired ones.
  auto list = http_request(c.port(), "GET", "/v1/executions?stateMachine=quick");
  EXPECT_EQ(Json::parse(list.body)["executions"].size(), 0U) << list.body;

  ASSERT_TRUE(c.wait_all_finished("slow", seconds{10})) << c.logs();
  EXPECT_EQ(c.describe(slow)["status"], "SUCCEEDED");
  bool gone =
      wait_until([&] { return http_request(c.port(), "GET", "/v1/executions/" + slow).status == 404; }, seconds{5});
  EXPECT_TRUE(gone);
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

TEST(DurabilityLifecycle, IndexSweepRemovesExpiredIdsFromTheIndexesButKeepsRunningOnes) {
  ClusterOptions o;
  o.routers = 1;
  o.common_args = {"--retention-seconds", "1", "--index-sweep-ms", "200"};
  Cluster c(o);
  c.deploy("brief", Json::parse(R"({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}})"));
  c.deploy("slow", Json::parse(R"({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}})"));
  c.deploy("doomed", Json::parse(R"({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})"));
  std::vector<std::string> brief;
  for (int i = 0; i < 5; ++i) {
    brief.push_back(c.start("brief", Json{{"i", i}}));
  }
  std::string slow = c.start("slow", Json::object());
  std::string doomed = c.start("doomed", Json::object());
  auto zcard = [&](const std::string& key) { return c.redis().cli_int("ZCARD '" + key + "'").value_or(-1); };
  // Running for a second: nothing can have expired, so every id is listed.
  EXPECT_EQ(zcard("sy:xs:brief"), 5);
  EXPECT_EQ(zcard("sy:xs:slow"), 1);
  ASSERT_TRUE(c.wait_all_finished("doomed", seconds{10})) << c.logs();
  ASSERT_EQ(http_request(c.port(), "DELETE", "/v1/state-machines/doomed").status, 200);
  EXPECT_EQ(c.redis().cli_int("SISMEMBER sy:xsd doomed"), 1);
  ASSERT_TRUE(c.wait_all_finished("brief", seconds{10})) << c.logs();

  // Retention (1 s) plus a few sweeps (200 ms) later the expired ids are gone from both
  // kinds of index, and the deleted state machine's index with its name in sy:xsd.
  bool swept = wait_until([&] { return zcard("sy:xs:brief") == 0 && zcard("sy:xs") == 1; }, seconds{15});
  EXPECT_TRUE(swept) << "sy:xs " << zcard("sy:xs") << ", sy:xs:brief " << zcard("sy:xs:brief") << "\n" << c.logs();
  for (const auto& id : brief) {
    EXPECT_EQ(c.redis().cli_int("EXISTS 'sy:x:{" + id + "}'"), 0) << "swept before its record expired";
  }
  EXPECT_TRUE(wait_until([&] { return c.redis().cli_int("EXISTS sy:xs:doomed sy:xsd") == 0; }, seconds{5}));
  // The running one stays in both indexes, and listed.
  EXPECT_EQ(c.redis().cli("ZRANGE sy:xs 0 -1"), slow + "\n");
  EXPECT_EQ(zcard("sy:xs:slow"), 1);
  EXPECT_EQ(c.describe(slow)["status"], "RUNNING");
  auto list = http_request(c.port(), "GET", "/v1/executions");
  auto listed = Json::parse(list.body)["executions"];
  ASSERT_EQ(listed.size(), 1U) << list.body;
  EXPECT_EQ(listed[0]["executionId"], slow);
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

}  // namespace

namespace {

// An execution's name stays taken exactly as long as the execution exists: while it runs (however
// long) a second start by that name is the same execution; once the record expired, the name is free.
TEST(DurabilityLifecycle, ANameLivesAsLongAsItsExecutionAndIsFreeAfterRetention) {
  using namespace std::chrono;
  ClusterOptions o;
  o.routers = 1;
  o.common_args = {"--retention-seconds", "1"};
  Cluster c(o);
  c.deploy("slow", Json::parse(R"({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": true}}})"));
  c.deploy("fast", Json::parse(R"({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})"), "EXPRESS");
  auto start = [&](const std::string& sm, const std::string& name) {
    return http_request(c.port(), "POST", "/v1/state-machines/" + sm + "/executions",
                        R"({"input": {"k": 1}, "name": ")" + name + "\"}");
  };
  auto pttl = [&](const std::string& key) { return c.redis().cli_int("PTTL '" + key + "'").value_or(-99); };
  auto first = start("slow", "job-1");
  ASSERT_EQ(first.status, 201) << first.body;
  std::string id = Json::parse(first.body)["executionId"];
  EXPECT_EQ(pttl("sy:xn:slow:job-1"), -1) << "a running execution's name must not expire";
  std::this_thread::sleep_for(milliseconds{1500});  // past the retention, still running
  auto again = start("slow", "job-1");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json::parse(again.body)["executionId"], id);
  ASSERT_TRUE(c.wait_all_finished("slow", seconds{10})) << c.logs();
  auto t = pttl("sy:xn:slow:job-1");
  EXPECT_TRUE(t > 0 && t <= 1000) << "name TTL " << t;
  // After the retention the record and the name are gone: the name starts a new execution.
  bool freed = wait_until([&] { return c.redis().cli_int("EXISTS 'sy:xn:slow:job-1'").value_or(1) == 0; }, seconds{5});
  EXPECT_TRUE(freed);
  auto reused = start("slow", "job-1");
  EXPECT_EQ(reused.status, 201) << reused.body;
  EXPECT_NE(Json::parse(reused.body)["executionId"], id);
  // EXPRESS: finished at once, so its record, history and name get the retention at once.
  auto e = http_request(c.port(), "POST", "/v1/state-machines/fast/executions?wait=10",
                        R"({"input": {"k": 1}, "name": "e-1"})");
  ASSERT_EQ(e.status, 200) << e.body;
  std::string eid = Json::parse(e.body)["executionId"];
  for (const std::string& key : {"sy:x:{" + eid + "}", "sy:x:{" + eid + "}:h", std::string("sy:xn:fast:e-1")}) {
    auto k = pttl(key);
    EXPECT_TRUE(k > 0 && k <= 1000) << key << " TTL " << k;
  }
}

}  // namespace
