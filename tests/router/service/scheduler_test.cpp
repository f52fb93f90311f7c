// Schedule triggers and the trigger indexes against a real redis-server: the
// scheduler is driven with explicit times, so minutes pass instantly.
#include "switchyard/router/scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <set>
#include <thread>

#include "switchyard/common/metrics.hpp"
#include "switchyard/http/client.hpp"
#include "switchyard/knative/function_host.hpp"
#include "switchyard/store/keys.hpp"
#include "switchyard/testing/process.hpp"

namespace switchyard::router {
namespace {

namespace asio = boost::asio;
using namespace std::chrono;
using namespace std::chrono_literals;

// Runs one coroutine to its end (bounded: a hang fails the test instead of blocking ctest).
template <typename T>
T run(asio::io_context& ioc, asio::awaitable<T> aw) {
  auto f = asio::co_spawn(ioc, std::move(aw), asio::use_future);
  ioc.restart();
  auto deadline = steady_clock::now() + 10s;
  while (f.wait_for(0s) != std::future_status::ready && steady_clock::now() < deadline) {
    ioc.run_one_for(20ms);
  }
  if (f.wait_for(0s) != std::future_status::ready) {
    throw std::runtime_error("test coroutine did not finish in time");
  }
  return f.get();
}

sys_seconds at(int hour, int minute, int second = 0) {
  return sys_days{year{2030} / 1 / 1} + hours{hour} + minutes{minute} + seconds{second};
}

const Json kPass = Json::parse(R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})");

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : redis_(ioc_.get_executor(), store::Address::parse(server_.url())),
        executions_(redis_),
        state_machines_(redis_),
        definitions_(state_machines_),
        client_(ioc_.get_executor()),
        resolver_(nullptr),
        invoker_(client_, resolver_, nullptr, options_),
        service_(ioc_.get_executor(), executions_, state_machines_, definitions_, invoker_, options_),
        index_(redis_) {
    run(ioc_, redis_.connect());
  }

  ExecutionService::PutResult put(const std::string& name, const std::string& triggers) {
    return run(ioc_, service_.put_state_machine(name, kPass, "STANDARD", Json::parse(triggers)));
  }

  // name -> input of the executions of a state machine
  std::map<std::string, Json> executions_of(const std::string& sm) {
    std::map<std::string, Json> out;
    auto ids = run(ioc_, executions_.list(store::keys::executions_of(sm), 0, 1000));
    for (const auto& id : ids) {
      auto rec = run(ioc_, service_.describe(id));
      EXPECT_TRUE(rec);
      out[(*rec)["name"].get<std::string>()] = (*rec)["input"];
    }
    return out;
  }

  testing::RedisServer server_;
  asio::io_context ioc_;
  RouterOptions options_;
  store::Redis redis_;
  store::ExecutionStore executions_;
  store::StateMachineStore state_machines_;
  DefinitionCache definitions_;
  http::Client client_;
  knative::Resolver resolver_;
  Invoker invoker_;
  ExecutionService service_;
  store::TriggerIndex index_;
};

TEST_F(SchedulerTest, FiresDueMinutesOnceAndOnlyTheLatestMissedOne) {
  ASSERT_TRUE(
      put("every10", R"([{"type": "schedule", "cron": "*/10 * * * *", "input": {"tick": 1}}])").problems.empty());
  Scheduler s(ioc_.get_executor(), service_, state_machines_, redis_, options_);

  // Deployed at 10:03: 10:00 was before the trigger existed, so nothing fires yet.
  EXPECT_EQ(run(ioc_, s.tick(at(10, 3))), 0);
  EXPECT_EQ(run(ioc_, s.tick(at(10, 9, 59))), 0);
  EXPECT_EQ(run(ioc_, s.tick(at(10, 10, 1))), 1);
  EXPECT_EQ(run(ioc_, s.tick(at(10, 10, 30))), 0);  // same minute: already fired
  EXPECT_EQ(run(ioc_, s.tick(at(10, 19))), 0);
  // All routers were down from 10:19 to 11:25: 10:20 ... 11:20 were missed; only 11:20 starts.
  EXPECT_EQ(run(ioc_, s.tick(at(11, 25))), 1);

  auto runs = executions_of("every10");
  ASSERT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs.count("schedule-20300101T1010Z"), 1U);
  EXPECT_EQ(runs.count("schedule-20300101T1120Z"), 1U);
  EXPECT_EQ(runs["schedule-20300101T1120Z"], Json({{"tick", 1}}));
}

// A schedule in an IANA zone follows its wall clock through daylight saving: 02:30 in Berlin
// fires once on the night the clock falls back (2030-10-27, 03:00 CEST -> 02:00 CET).
TEST_F(SchedulerTest, ASchedulesTimeZoneIsItsWallClock) {
  ASSERT_TRUE(
      put("nightly", R"([{"type": "schedule", "cron": "30 2 * * *", "timezone": "Europe/Berlin"}])").problems.empty());
  Scheduler s(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  sys_days night = year{2030} / 10 / 27;
  EXPECT_EQ(run(ioc_, s.tick(night + minutes{29})), 0);
  EXPECT_EQ(run(ioc_, s.tick(night + minutes{30} + seconds{10})), 1);             // 02:30 CEST
  EXPECT_EQ(run(ioc_, s.tick(night + hours{1} + minutes{30} + seconds{10})), 0);  // 02:30 CET: the same time again
  EXPECT_EQ(run(ioc_, s.tick(night + days{1} + hours{1} + minutes{30} + seconds{10})), 1);  // 02:30 CET next night
  auto runs = executions_of("nightly");
  EXPECT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs.count("schedule-20301027T0030Z"), 1U);
  EXPECT_EQ(runs.count("schedule-20301028T0130Z"), 1U);
}

double starts_held() {
  std::string text = metrics::default_registry().render();
  const std::string series = "\nswitchyard_starts_held_total ";
  auto p = text.find(series);
  return p == std::string::npos ? 0 : std::stod(text.substr(p + series.size()));
}

// While routers are behind on due timers a tick waits once (up to the start hold), then starts
// every due schedule: not once per schedule, which would stretch a tick to N holds.
TEST_F(SchedulerTest, ATickWaitsOnceForRoutersBehindOnTimers) {
  ASSERT_TRUE(put("a", R"([{"type": "schedule", "cron": "* * * * *"}])").problems.empty());
  ASSERT_TRUE(put("b", R"([{"type": "schedule", "cron": "* * * * *"}])").problems.empty());
  Scheduler s(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  double before = starts_held();
  EXPECT_EQ(run(ioc_, s.tick(at(9, 0, 10))), 2);
  EXPECT_EQ(starts_held() - before, 0);  // nobody behind: no hold
  run(ioc_, executions_.set_timers_behind(true, 60s));
  std::this_thread::sleep_for(2 * StartAdmission::kRefresh);  // past the cached answer
  EXPECT_EQ(run(ioc_, s.tick(at(9, 1, 10))), 2);
  EXPECT_EQ(starts_held() - before, 1);
}

TEST_F(SchedulerTest, RestartedRouterResumesFromTheStoredLastMinute) {
  ASSERT_TRUE(put("hourly", R"([{"type": "schedule", "cron": "0 * * * *"}])").problems.empty());
  {
    Scheduler first(ioc_.get_executor(), service_, state_machines_, redis_, options_);
    EXPECT_EQ(run(ioc_, first.tick(at(10, 30))), 0);
  }
  // A new process (fresh memory) after an outage over 11:00 starts 11:00 once.
  Scheduler second(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  EXPECT_EQ(run(ioc_, second.tick(at(11, 40))), 1);
  Scheduler third(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  EXPECT_EQ(run(ioc_, third.tick(at(11, 41))), 0);
  EXPECT_EQ(executions_of("hourly").count("schedule-20300101T1100Z"), 1U);
}

TEST_F(SchedulerTest, TwoRoutersStartOneExecutionPerMinute) {
  ASSERT_TRUE(put("minutely", R"([{"type": "schedule", "cron": "* * * * *"},
                                  {"type": "schedule", "cron": "* * * * *", "input": {"second": true}}])")
                  .problems.empty());
  Scheduler a(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  Scheduler b(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  int created = run(ioc_, a.tick(at(9, 0, 10))) + run(ioc_, b.tick(at(9, 0, 20)));
  EXPECT_EQ(created, 2);  // one per trigger, not per router
  auto runs = executions_of("minutely");
  EXPECT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs["schedule-20300101T0900Z-1"], Json({{"second", true}}));
}

TEST_F(SchedulerTest, ReloadsWhenTriggersChange) {
  ASSERT_TRUE(put("sm", R"([{"type": "schedule", "cron": "* * * * *"}])").problems.empty());
  Scheduler s(ioc_.get_executor(), service_, state_machines_, redis_, options_);
  EXPECT_EQ(run(ioc_, s.tick(at(9, 0))), 1);
  ASSERT_TRUE(put("sm", R"([])").problems.empty());
  EXPECT_EQ(run(ioc_, s.tick(at(9, 1))), 0);
  ASSERT_TRUE(put("sm", R"([{"type": "schedule", "cron": "* * * * *"}])").problems.empty());
  EXPECT_EQ(run(ioc_, s.tick(at(9, 2))), 1);
  EXPECT_TRUE(run(ioc_, state_machines_.remove("sm")));
  EXPECT_EQ(run(ioc_, s.tick(at(9, 3))), 0);
  EXPECT_TRUE(run(ioc_, index_.scheduled()).empty());
}

TEST_F(SchedulerTest, TriggerIndexesFollowStateMachineWrites) {
  const char* hook = R"([{"type": "webhook", "name": "deploy", "auth": {"scheme": "token", "secretFrom": {"env": "T"}}},
                         {"type": "cloudevent", "eventType": "build.done"}])";
  auto first = put("a", hook);
  ASSERT_TRUE(first.problems.empty());
  EXPECT_EQ(first.outcome.kind, store::PutOutcome::Kind::Created);
  EXPECT_EQ(run(ioc_, index_.hook_owner("deploy")), std::optional<std::string>("a"));
  EXPECT_EQ(run(ioc_, index_.event_subscribers("build.done")), std::vector<std::string>{"a"});

  // Another state machine cannot take the hook name; nothing of it is written.
  auto taken = put("b", hook);
  EXPECT_EQ(taken.outcome.kind, store::PutOutcome::Kind::Conflict);
  EXPECT_NE(taken.outcome.conflict.find("'deploy' is used by state machine 'a'"), std::string::npos);
  EXPECT_FALSE(run(ioc_, state_machines_.get("b")));
  EXPECT_EQ(run(ioc_, index_.event_subscribers("build.done")), std::vector<std::string>{"a"});

  // Re-putting the same triggers is unchanged; dropping the hook frees the name.
  EXPECT_EQ(put("a", hook).outcome.kind, store::PutOutcome::Kind::Unchanged);
  EXPECT_EQ(put("a", R"([{"type": "cloudevent", "eventType": "build.started"}])").outcome.kind,
            store::PutOutcome::Kind::Updated);
  EXPECT_FALSE(run(ioc_, index_.hook_owner("deploy")));
  EXPECT_TRUE(run(ioc_, index_.event_subscribers("build.done")).empty());
  EXPECT_EQ(run(ioc_, index_.event_subscribers("build.started")), std::vector<std::string>{"a"});
  EXPECT_EQ(put("b", hook).outcome.kind, store::PutOutcome::Kind::Created);
  EXPECT_EQ(run(ioc_, index_.hook_owner("deploy")), std::optional<std::string>("b"));

  // Delete removes the entries.
  EXPECT_TRUE(run(ioc_, state_machines_.remove("b")));
  EXPECT_FALSE(run(ioc_, index_.hook_owner("deploy")));
  EXPECT_TRUE(run(ioc_, index_.event_subscribers("build.done")).empty());
  EXPECT_FALSE(run(ioc_, state_machines_.remove("b")));
}

TEST_F(SchedulerTest, InvalidTriggersAreProblemsAndNothingIsStored) {
  auto r = put("bad", R"([{"type": "schedule", "cron": "* * *"}])");
  ASSERT_EQ(r.problems.size(), 1U);
  EXPECT_EQ(r.problems[0].path, "/triggers/0/cron");
  EXPECT_FALSE(run(ioc_, state_machines_.get("bad")));
}

}  // namespace
}  // namespace switchyard::router
