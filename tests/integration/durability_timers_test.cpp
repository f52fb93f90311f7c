// Timers live in Redis, not in a router: a thousand+ parked Waits survive every
// router dying at once, and fire (once each, never early) soon after new routers
// start. Lateness figures go to the log; loadtests/b4_parked.sh records them at scale.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "switchyard/testing/cluster.hpp"
#include "switchyard/testing/history_check.hpp"

namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace switchyard::testing;

int64_t timestamp_of(const std::vector<Json>& h, const std::string& type) {
  for (const auto& e : h) {
    if (e.value("type", "") == type) {
      return parse_rfc3339_ms(e.value("timestamp", "")).value_or(-1);
    }
  }
  return -1;
}

TEST(DurabilityTimers, ParkedWaitsFireAfterAllRoutersAreKilledAndRestarted) {
  const int n = scaled(1200, 400);
  const int64_t wait_ms = 3000;
  ClusterOptions options;
  options.router_metrics = true;
  Cluster c(options);
  c.deploy("nap", Json::parse(R"({
    "StartAt": "Nap",
    "States": {
      "Nap": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
      "Done": {"Type": "Succeed"}
    }
  })"));
  std::vector<Json> inputs(n, Json{{"k", 1}});
  auto ids = c.start_many("nap", inputs);
  // Every execution is parked: one Wait timer each ("...|timer"; a step a router holds
  // as a lease is a member of sy:timers too, with its step's kind).
  auto wait_timers = [&] {
    auto out = c.redis().cli("ZRANGE sy:timers 0 -1");
    int k = 0;
    for (auto p = out.find("|timer\n"); p != std::string::npos; p = out.find("|timer\n", p + 1)) {
      ++k;
    }
    return k;
  };
  bool parked =
      wait_until([&] { return wait_timers() == n && c.redis().cli_int("ZCARD sy:timers") == n; }, seconds{20});
  ASSERT_TRUE(parked) << c.redis().cli("ZCARD sy:timers") << c.logs();

  for (size_t i = 0; i < c.router_count(); ++i) {
    c.router(i).kill9();
  }
  // Down for 3.5 s: (nearly) every timer comes due while no router runs, so the new
  // routers start with a backlog of due timers.
  std::this_thread::sleep_for(milliseconds{3500});
  int64_t sets_before = c.redis().command_calls("set");
  int64_t restart_ms = wall_ms();
  for (size_t i = 0; i < c.router_count(); ++i) {
    c.router(i).start();
  }
  ASSERT_TRUE(c.wait_all_finished("nap", seconds{60})) << c.logs();

  auto hs = c.histories(ids);
  HistoryExpectation want;
  want.entered = {{"Nap", 1}, {"Done", 1}};
  std::vector<int64_t> lateness;
  int early = 0;
  int bad = 0;
  for (size_t i = 0; i < hs.size(); ++i) {
    auto problems = check_history(hs[i], want);
    if (!problems.empty() && ++bad <= 3) {
      ADD_FAILURE() << ids[i] << ": " << ::testing::PrintToString(problems);
    }
    int64_t due = timestamp_of(hs[i], "WaitStateEntered") + wait_ms;
    int64_t fired = timestamp_of(hs[i], "WaitStateExited");
    early += fired < due ? 1 : 0;
    lateness.push_back(fired - std::max(due, restart_ms));
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(early, 0) << "timers fired before their due time";
  int64_t p50 = quantile(lateness, 0.5);
  int64_t p99 = quantile(lateness, 0.99);
  int64_t max = quantile(lateness, 1.0);
  std::cerr << "[durability] " << n << " timers after a full router restart: lateness from max(due, restart) p50 "
            << p50 << " ms, p99 " << p99 << " ms, max " << max << " ms\n";
  // Generous: new processes start, connect and drain a backlog on 2 shared cores.
  EXPECT_LT(max, 10000);
  EXPECT_EQ(c.redis().cli_int("ZCARD sy:timers"), 0);
  // Seconds-late timers: the routers said they were behind (which holds new starts back,
  // router/admission.hpp), and lowered the flag once they had caught up.
  double behind = 0;
  for (size_t i = 0; i < c.router_count(); ++i) {
    behind += c.router(i).metric("switchyard_timer_polls_behind_total");
  }
  EXPECT_GT(behind, 0);
  EXPECT_GT(c.redis().command_calls("set"), sets_before) << "the flag was never raised in Redis";
  EXPECT_TRUE(wait_until([&] { return c.redis().cli_int("EXISTS sy:timers:behind") == 0; }, seconds{10}));
  EXPECT_EQ(c.health(), "") << "a process died or reported a sanitizer error on its own";
}

// The gateway's side of it: while a router says it is behind on due timers (the flag set here
// as a router sets it), a new start waits; it goes on when the flag is lowered.
TEST(DurabilityTimers, NewStartsWaitWhileRoutersAreBehindOnTimers) {
  ClusterOptions options;
  options.routers = 1;
  options.gateway_args = {"--start-hold-ms", "20000"};
  Cluster c(options);
  c.deploy("quick", Json::parse(R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})"));
  c.redis().cli("SET sy:timers:behind 1 PX 60000");
  std::string id;
  std::string error;
  std::thread starter([&] {
    try {
      id = c.start("quick", Json{{"k", 1}});
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  std::this_thread::sleep_for(milliseconds{500});
  EXPECT_EQ(c.redis().cli_int("ZCARD sy:xs"), 0) << "started while the routers were behind";
  c.redis().cli("DEL sy:timers:behind");
  starter.join();
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(c.describe(id).value("status", ""), "SUCCEEDED") << c.logs();
  EXPECT_EQ(c.gateway().metric("switchyard_starts_held_total"), 1);
  // With the flag down a start is not held.
  c.start("quick", Json{{"k", 2}});
  EXPECT_EQ(c.gateway().metric("switchyard_starts_held_total"), 1);
  EXPECT_EQ(c.health(), "");
}

}  // namespace
