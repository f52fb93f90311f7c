// Fault injection against a real deployment: one redis-server (AOF on), one
// gateway and three routers as separate `switchyard serve` processes, real
// example functions. Routers are SIGKILLed and restarted under load, Redis is
// crashed and restarted, a router is SIGSTOPped past its lease and resumed.
// Every execution must finish SUCCEEDED with the right output, and no history
// may show a transition committed twice (history_check.hpp's invariants).
//
// Sizes are bounded for the shared 2-core CI machine; SWITCHYARD_DURABILITY_N
// raises the execution count of the kill test for a longer soak.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "switchyard/testing/cluster.hpp"
#include "switchyard/testing/history_check.hpp"

namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace switchyard::testing;

// The first call takes this long, so a router killed while executions start holds some (a start
// commits its first step in the gateway: the routers' work begins with that call). Longer in a
// sanitizer build, where fewer executions start per second.
constexpr int kEcho1SleepMs = scaled(50, 200);

// Tasks, a short Wait, a Retry (flaky fails its first attempt), a Parallel and a Map.
Json mixed_definition() {
  Json d = Json::parse(R"({
    "StartAt": "Echo1",
    "States": {
      "Echo1": {"Type": "Task", "Resource": "fn:echo", "Parameters": {"n.$": "$.n", "step": "echo1"},
                "ResultPath": "$.e1", "Next": "Nap"},
      "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Flaky"},
      "Flaky": {"Type": "Task", "Resource": "fn:flaky", "Parameters": {"failTimes": 1, "n.$": "$.n"},
                "ResultSelector": {"attempt.$": "$.attempt", "n.$": "$.input.n"}, "ResultPath": "$.flaky",
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "Next": "Fan"},
      "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Each", "Branches": [
        {"StartAt": "BranchA", "States": {"BranchA": {"Type": "Task", "Resource": "fn:echo",
                                                      "Parameters": {"a.$": "$.n"}, "End": true}}},
        {"StartAt": "BranchB", "States": {"BranchB": {"Type": "Task", "Resource": "fn:echo",
                                                      "Parameters": {"b.$": "$.n"}, "End": true}}}]},
      "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.each", "Next": "Done",
               "ItemProcessor": {"StartAt": "Item", "States": {
                 "Item": {"Type": "Task", "Resource": "fn:echo", "Parameters": {"item.$": "$"}, "End": true}}}},
      "Done": {"Type": "Succeed"}
    }
  })");
  d["States"]["Echo1"]["Parameters"]["sleepMs"] = kEcho1SleepMs;
  return d;
}

Json mixed_input(int n) { return Json{{"n", n}, {"items", {n, n + 1, n + 2}}}; }

Json mixed_output(int n) {
  return Json{{"n", n},
              {"items", {n, n + 1, n + 2}},
              {"e1", {{"n", n}, {"sleepMs", kEcho1SleepMs}, {"step", "echo1"}}},
              {"flaky", {{"attempt", 1}, {"n", n}}},
              {"fan", {{{"a", n}}, {{"b", n}}}},
              {"each", {{{"item", n}}, {{"item", n + 1}}, {{"item", n + 2}}}}};
}

HistoryExpectation mixed_expectation() {
  HistoryExpectation want;
  want.entered = {{"Echo1", 1},   {"Nap", 1},  {"Flaky", 1}, {"Fan", 1}, {"BranchA", 1},
                  {"BranchB", 1}, {"Each", 1}, {"Item", 3},  {"Done", 1}};
  want.task_succeeded = 7;  // Echo1, Flaky, BranchA, BranchB, 3 x Item
  want.task_failed = 1;     // Flaky's first attempt, retried once
  want.map_iterations = 3;
  return want;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// Checks every execution: SUCCEEDED, the expected output, and the history invariants.
// `inputs_n[i]` is the n of ids[i]. Reports at most a few failures in full.
void expect_all_correct(Cluster& c, const std::vector<std::string>& ids, const std::vector<int>& inputs_n) {
  auto hs = c.histories(ids);
  auto want = mixed_expectation();
  int bad = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& h = hs[i];
    auto problems = check_history(h, want);
    if (problems.empty()) {
      Json out = Json::parse(h.back()["executionSucceededEventDetails"]["output"].get<std::string>(), nullptr, false);
      if (out != mixed_output(inputs_n[i])) {
        problems.push_back("output " + out.dump() + " != " + mixed_output(inputs_n[i]).dump());
      }
    }
    if (!problems.empty() && ++bad <= 3) {
      std::string types;
      for (const auto& t : event_types(h)) {
        types += t + " ";
      }
      ADD_FAILURE() << "execution " << ids[i] << ":\n  " << ::testing::PrintToString(problems)
                    << "\n  events: " << types;
    }
  }
  EXPECT_EQ(bad, 0) << bad << " of " << ids.size() << " executions broke an invariant";
  // The record agrees with the history (a sample; the statuses are all counted by running_count).
  for (size_t i = 0; i < ids.size(); i += std::max<size_t>(1, ids.size() / 50)) {
    Json d = c.describe(ids[i]);
    EXPECT_EQ(d["status"], "SUCCEEDED") << d.dump();
    EXPECT_EQ(d["output"], mixed_output(inputs_n[i])) << d.dump();
  }
}

// Nothing is left behind once everything finished: no pending or queued work, no timers.
void expect_drained(Cluster& c) {
  bool drained = wait_until(
      [&] { return c.redis().cli_int("XLEN sy:work") == 0 && c.redis().cli_int("ZCARD sy:timers") == 0; }, seconds{10});
  EXPECT_TRUE(drained) << "XLEN " << c.redis().cli("XLEN sy:work") << " ZCARD " << c.redis().cli("ZCARD sy:timers")
                       << " pending " << c.redis().cli("XPENDING sy:work routers");
}

// The checker itself: a history with one transition applied twice must be flagged.
TEST(Durability, HistoryCheckFlagsATransitionCommittedTwice) {
  auto ev = [](int id, const std::string& type, const Json& extra = Json::object()) {
    Json e{{"id", id}, {"previousEventId", id - 1}, {"type", type}, {"timestamp", "2026-01-01T00:00:00.000Z"}};
    e.update(extra);
    return e;
  };
  auto entered = [](const std::string& n) { return Json{{"stateEnteredEventDetails", {{"name", n}}}}; };
  auto exited = [](const std::string& n) { return Json{{"stateExitedEventDetails", {{"name", n}}}}; };
  std::vector<Json> good{ev(1, "ExecutionStarted"),  ev(2, "TaskStateEntered", entered("A")),
                         ev(3, "TaskScheduled"),     ev(4, "TaskStarted"),
                         ev(5, "TaskSucceeded"),     ev(6, "TaskStateExited", exited("A")),
                         ev(7, "ExecutionSucceeded")};
  HistoryExpectation want;
  want.entered = {{"A", 1}};
  want.task_succeeded = 1;
  EXPECT_TRUE(check_history(good, want).empty()) << ::testing::PrintToString(check_history(good, want));
  // The outcome commit applied twice (TaskStarted + TaskSucceeded + exit again).
  std::vector<Json> doubled(good.begin(), good.end() - 1);
  doubled.push_back(ev(7, "TaskStarted"));
  doubled.push_back(ev(8, "TaskSucceeded"));
  doubled.push_back(ev(9, "TaskStateExited", exited("A")));
  doubled.push_back(ev(10, "ExecutionSucceeded"));
  EXPECT_FALSE(check_history(doubled, want).empty());
  // A re-entry without a retry.
  std::vector<Json> reentered(good.begin(), good.end() - 1);
  reentered.push_back(ev(7, "TaskStateEntered", entered("A")));
  reentered.push_back(ev(8, "ExecutionSucceeded"));
  EXPECT_FALSE(check_history(reentered, want).empty());
  // A gap in the ids.
  std::vector<Json> gap = good;
  gap[3]["id"] = 5;
  EXPECT_FALSE(check_history(gap, want).empty());
}

TEST(Durability, RoutersKilledEveryFewSecondsLoseAndDoubleNothing) {
  const int n = env_int("SWITCHYARD_DURABILITY_N", scaled(2000, 400));
  const int kill_ms = env_int("SWITCHYARD_DURABILITY_KILL_MS", 2000);  // mean time between kills
  Cluster c;
  c.deploy("mixed", mixed_definition());

  std::vector<std::string> ids;
  std::vector<int> ns;
  std::atomic<bool> done{false};
  std::atomic<int> kills{0};
  std::atomic<int> held_at_kill{0};  // work items the victims held when they died
  // The killer: every ~2 s one random router dies (SIGKILL) and a new incarnation starts
  // (SWITCHYARD_DURABILITY_KILL_MS sets the mean interval for a harsher soak).
  std::thread killer([&] {
    std::mt19937 rng(12345);
    auto deadline = std::chrono::steady_clock::now() + seconds{150};
    while (!done && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds{kill_ms / 2 + static_cast<int>(rng() % static_cast<unsigned>(kill_ms))});
      if (done) {
        break;
      }
      auto& r = c.router(rng() % c.router_count());
      auto pending = c.redis().cli("XPENDING sy:work routers - + 10000 " + r.consumer());
      // Steps a router goes on with itself are leases in sy:timers (router fast path); they
      // name no router, so every lease counts (all three routers work all the time).
      auto leases = c.redis().cli("ZRANGE sy:timers 0 -1");
      r.kill9();
      held_at_kill += static_cast<int>(std::count(pending.begin(), pending.end(), '\n') / 4);
      for (auto p = leases.find("|invoke"); p != std::string::npos; p = leases.find("|invoke", p + 1)) {
        ++held_at_kill;
      }
      r.start();
      ++kills;
    }
  });
  // Starts arrive in batches over ~20 s, so crashes hit every phase of the workflow.
  const int batches = 40;
  for (int b = 0; b < batches; ++b) {
    std::vector<Json> inputs;
    for (int i = b * n / batches; i < (b + 1) * n / batches; ++i) {
      inputs.push_back(mixed_input(i));
      ns.push_back(i);
    }
    auto batch_ids = c.start_many("mixed", inputs);
    ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
    std::this_thread::sleep_for(milliseconds{500});
  }
  bool finished = c.wait_all_finished("mixed", seconds{120});
  done = true;
  killer.join();
  ASSERT_TRUE(finished) << c.running_count("mixed").value_or(-1) << " still running after " << kills << " kills\n"
                        << c.logs();
  std::cerr << "[durability] " << ids.size() << " executions, " << kills << " router kills holding " << held_at_kill
            << " work items\n";
  EXPECT_GE(kills.load(), 5);
  EXPECT_GT(held_at_kill.load(), 0) << "the kills should hit routers in the middle of work";
  expect_all_correct(c, ids, ns);
  expect_drained(c);
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

TEST(Durability, RedisCrashAndRestartMidRunLosesNothing) {
  const int n = scaled(300, 100);
  Cluster c;
  c.deploy("mixed", mixed_definition());
  std::vector<Json> inputs;
  std::vector<int> ns;
  for (int i = 0; i < n; ++i) {
    inputs.push_back(mixed_input(i));
    ns.push_back(i);
  }
  auto ids = c.start_many("mixed", inputs);
  // A crash (SIGKILL; AOF everysec) while executions are in every phase, back at once.
  std::this_thread::sleep_for(milliseconds{1500});
  auto before = c.running_count("mixed");
  ASSERT_TRUE(before.has_value());
  EXPECT_GT(*before, 0) << "the crash should hit running executions";
  c.redis().kill();
  c.redis().start();
  // Then a clean shutdown with a two-second outage.
  std::this_thread::sleep_for(milliseconds{1500});
  c.redis().terminate();
  std::this_thread::sleep_for(milliseconds{2000});
  c.redis().start();

  ASSERT_TRUE(c.wait_all_finished("mixed", seconds{90})) << c.running_count("mixed").value_or(-1) << " still running\n"
                                                         << c.logs();
  // Every accepted start survived: the index still has all of them.
  EXPECT_EQ(c.redis().cli_int("ZCARD sy:xs:mixed"), n);
  expect_all_correct(c, ids, ns);
  expect_drained(c);
  for (size_t i = 0; i < c.router_count(); ++i) {
    EXPECT_TRUE(c.router(i).running()) << "a router exited when Redis went away\n" << c.router(i).log();
  }
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

// A router paused (SIGSTOP) longer than its lease while it holds work: the others
// reclaim its items and move the executions on; when it resumes, its commits for the
// old versions are refused (version guard), so nothing is applied twice.
TEST(Durability, StaleRouterAfterSigstopCannotCommitOverNewerState) {
  ClusterOptions o;
  o.routers = 3;
  o.router_metrics = true;
  Cluster c(o);
  // Slow calls so the paused router surely holds in-flight calls; a long Wait
  // afterwards so the executions sit at a newer version when it comes back.
  c.deploy("slow", Json::parse(R"({
    "StartAt": "Call",
    "States": {
      "Call": {"Type": "Task", "Resource": "fn:echo", "Parameters": {"sleepMs": 200, "n.$": "$.n"},
               "ResultSelector": {"n.$": "$.n"}, "ResultPath": "$.call", "Next": "Park"},
      "Park": {"Type": "Wait", "Seconds": 15, "Next": "Done"},
      "Done": {"Type": "Succeed"}
    }
  })"));
  // Only router 0 runs while the work is handed out, so it holds all of it. Its echo
  // process is warmed up first, so the calls are running (not waiting for a cold
  // start) when it is paused, and their answers wait in its sockets.
  c.router(1).terminate();
  c.router(2).terminate();
  c.deploy("warm",
           Json::parse(R"({"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "fn:echo", "End": true}}})"));
  c.start("warm", Json::object());
  ASSERT_TRUE(c.wait_all_finished("warm", seconds{20})) << c.logs();
  const int n = 20;
  std::vector<Json> inputs;
  for (int i = 0; i < n; ++i) {
    inputs.push_back(Json{{"n", i}});
  }
  auto ids = c.start_many("slow", inputs);
  auto& stale = c.router(0);
  std::string consumer = stale.consumer();
  // Pause it while it holds invoke items (its calls take 200 ms each, a few at a time). A
  // router holds a step as a pending stream entry, or as a lease in sy:timers when it goes
  // on with a run itself (router fast path); router 0 is the only one running here.
  bool holding = wait_until(
      [&] {
        auto out = c.redis().cli("XPENDING sy:work routers - + 1000 " + consumer);
        auto held = std::count(out.begin(), out.end(), '\n') / 4;  // 4 lines per entry
        auto leases = c.redis().cli("ZRANGE sy:timers 0 -1");
        for (auto p = leases.find("|invoke"); p != std::string::npos; p = leases.find("|invoke", p + 1)) {
          ++held;
        }
        return held >= 10;
      },
      seconds{20});
  ASSERT_TRUE(holding) << c.redis().cli("XPENDING sy:work routers") << stale.log();
  double committed_before = stale.metric("switchyard_transitions_committed_total");
  EXPECT_GT(committed_before, 0) << "its metrics should be readable";
  stale.pause();
  std::string pending_at_pause = c.redis().cli("XPENDING sy:work routers");

  // The others take over after the lease (1 s) and move every execution into the Wait.
  c.router(1).start();
  c.router(2).start();
  auto in_park = [&](const std::string& id) {
    for (const auto& e : c.history(id)) {
      if (e.value("type", "") == "WaitStateEntered") {
        return true;
      }
    }
    return false;
  };
  bool all_parked = wait_until(
      [&] {
        for (const auto& id : ids) {
          if (!in_park(id)) {
            return false;
          }
        }
        return true;
      },
      seconds{20});
  ASSERT_TRUE(all_parked) << "executions did not move on while the router was paused\n"
                          << pending_at_pause << "\n"
                          << c.logs();
  std::vector<size_t> lengths;
  for (const auto& id : ids) {
    lengths.push_back(c.history(id).size());
  }
  // The stale router wakes up: its calls' answers are waiting in its sockets and it
  // tries to commit them at the old versions.
  const std::string rejected = "switchyard_commits_rejected_total{reason=\"stale\"}";
  const std::string dropped = "switchyard_work_items_dropped_total";
  stale.resume();
  // It finishes what it held (bounded; well before the 15 s Wait ends).
  bool settled = wait_until([&] { return stale.metric("switchyard_work_in_flight") == 0; }, seconds{6});
  EXPECT_TRUE(settled) << "the resumed router still holds work";
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(c.history(ids[i]).size(), lengths[i]) << "a stale commit landed on " << ids[i];
  }
  // It did try: the calls it held ended and their commits were refused by the version guard
  // (items it had not started yet are dropped when it sees the newer version).
  double refused = stale.metric(rejected);
  double skipped = stale.metric(dropped);
  std::cerr << "[durability] stale router after SIGCONT: " << refused << " commits refused (stale), " << skipped
            << " items dropped\n";
  EXPECT_GE(refused, 1) << "the paused router should have held calls whose commits are now stale";
  ASSERT_TRUE(c.wait_all_finished("slow", seconds{30})) << c.logs();
  HistoryExpectation want;
  want.entered = {{"Call", 1}, {"Park", 1}, {"Done", 1}};
  want.task_succeeded = 1;
  auto hs = c.histories(ids);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto problems = check_history(hs[i], want);
    EXPECT_TRUE(problems.empty()) << ids[i] << ": " << ::testing::PrintToString(problems);
    Json out = Json::parse(hs[i].back()["executionSucceededEventDetails"]["output"].get<std::string>());
    EXPECT_EQ(out, (Json{{"n", static_cast<int>(i)}, {"call", {{"n", static_cast<int>(i)}}}}));
  }
  EXPECT_TRUE(stale.running()) << stale.log();
  expect_drained(c);
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

// A router going on with a run's steps itself keeps the run's lease member as it is while it is
// due far enough ahead (no ZADD per step), and a router killed mid-chain still leaves it to
// fire: another router finishes the execution, each step committed once.
TEST(Durability, AChainKeepsItsLeaseAsItIsAndAKilledRoutersKeptLeaseStillFires) {
  ClusterOptions o;
  o.routers = 1;
  o.lease_ms = 4000;  // a chain of quick steps stays within the first quarter of a lease
  Cluster c(o);
  auto chain = [](int steps, int sleep_ms) {
    Json states = Json::object();
    for (int i = 0; i < steps; ++i) {
      Json s{{"Type", "Task"}, {"Resource", "fn:echo"}, {"Parameters", {{"sleepMs", sleep_ms}, {"i", i}}}};
      if (i + 1 < steps) {
        s["Next"] = "S" + std::to_string(i + 1);
      } else {
        s["End"] = true;
      }
      states["S" + std::to_string(i)] = s;
    }
    return Json{{"StartAt", "S0"}, {"States", states}};
  };
  c.deploy("quick", chain(8, 0));
  c.start("quick", Json::object());  // warms the echo process up
  ASSERT_TRUE(c.wait_all_finished("quick", seconds{20})) << c.logs();
  c.redis().cli("CONFIG RESETSTAT");
  std::string quick = c.start("quick", Json::object());
  ASSERT_TRUE(c.wait_all_finished("quick", seconds{20})) << c.logs();
  EXPECT_EQ(c.describe(quick)["status"], "SUCCEEDED");
  int64_t zadds = c.redis().command_calls("zadd");
  // The start adds the execution to two index zsets (two ZADDs); its first call comes to the
  // router through the stream, and that step's commit leases the next one (one ZADD); the other
  // six keep that lease (one more would be a renewal that happened to fall in the chain). One
  // ZADD per step without.
  EXPECT_LE(zadds, 4) << c.redis().cli("INFO commandstats");

  c.deploy("slow", chain(6, 300));
  std::string slow = c.start("slow", Json::object());
  bool third_step = wait_until(
      [&] {
        int done = 0;
        for (const auto& e : c.history(slow)) {
          done += e.value("type", "") == "TaskSucceeded" ? 1 : 0;
        }
        return done >= 2;
      },
      seconds{20});
  ASSERT_TRUE(third_step) << c.logs();
  c.router(0).kill9();  // holding step 3 under the lease step 1's commit wrote
  c.router(0).start();
  ASSERT_TRUE(c.wait_all_finished("slow", seconds{30})) << c.logs();
  Json d = c.describe(slow);
  EXPECT_EQ(d["status"], "SUCCEEDED") << d.dump();
  auto h = c.history(slow);
  EXPECT_TRUE(check_structure(h, "ExecutionSucceeded").empty())
      << ::testing::PrintToString(check_structure(h, "ExecutionSucceeded"));
  expect_drained(c);
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

// Reclaim must find a dead router's items wherever they sit in the pending list.
// XAUTOCLAIM examines at most 10 x COUNT entries per call; when more live items
// (held and renewed by running routers, e.g. long calls) come first, a reclaim
// that always starts at the head never reaches the dead router's items.
TEST(Durability, ReclaimReachesDeadWorkBehindManyLiveItems) {
  AofRedis redis;
  TempDir dir;
  // 1500 live items first (a busy router renews them), then 500 of a dead router.
  redis.cli("XGROUP CREATE sy:work routers 0 MKSTREAM");
  redis.cli(
      "EVAL \"for i = 1, 2000 do redis.call('XADD', KEYS[1], '*', 'x', 'gone-' .. i, 'r', '0', 'v', '0', 'k', "
      "'enter', 'd', '') end\" 1 sy:work");
  redis.cli("XREADGROUP GROUP routers live COUNT 1500 STREAMS sy:work '>'");
  redis.cli("XREADGROUP GROUP routers dead COUNT 500 STREAMS sy:work '>'");
  auto pending_of = [&](const std::string& consumer) {
    auto out = redis.cli("XPENDING sy:work routers - + 5000 " + consumer);
    return std::count(out.begin(), out.end(), '\n') / 4;
  };
  ASSERT_EQ(pending_of("live"), 1500);
  ASSERT_EQ(pending_of("dead"), 500);
  std::atomic<bool> stop{false};
  std::thread renewer([&] {
    // Renews the live items every 200 ms, as their router would (XCLAIM with min-idle 0).
    const char* renew =
        "EVAL \"local ids = {} for _, e in ipairs(redis.call('XPENDING', KEYS[1], 'routers', '-', '+', 5000, "
        "'live')) do ids[#ids + 1] = e[1] end if #ids > 0 then redis.call('XCLAIM', KEYS[1], 'routers', 'live', 0, "
        "unpack(ids)) end return #ids\" 1 sy:work";
    while (!stop) {
      redis.cli(std::string(renew) + " > /dev/null");
      std::this_thread::sleep_for(milliseconds{200});
    }
  });
  std::this_thread::sleep_for(milliseconds{1200});  // the dead router's items are past the lease
  ServeProcess router("router", dir.path(), {"--roles", "router", "--redis", redis.url(), "--lease-ms", "1000"});
  // Its items belong to executions that do not exist: a reclaiming router drops them.
  bool reclaimed = wait_until([&] { return pending_of("dead") == 0; }, seconds{10});
  stop = true;
  renewer.join();
  EXPECT_TRUE(reclaimed) << pending_of("dead") << " items of the dead router were never reclaimed\n" << router.log();
  EXPECT_EQ(pending_of("live"), 1500) << "renewed items must not be taken";
}

}  // namespace
