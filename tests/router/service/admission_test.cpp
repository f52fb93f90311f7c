// New starts wait while routers are behind on due timers (router/admission.hpp): the flag a
// router raises in a real redis-server, and how StartAdmission holds a start on it.
#include "switchyard/router/admission.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "switchyard/store/keys.hpp"
#include "switchyard/store/redis.hpp"
#include "switchyard/testing/process.hpp"
#include "switchyard/testing/run.hpp"

namespace switchyard::router {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::run;

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest() { run(ioc_, redis_.connect()); }

  bool flag_up() {
    std::vector<std::string> args{"EXISTS", std::string(store::keys::kTimersBehind)};
    return run(ioc_, redis_.command(std::move(args))).integer == 1;
  }
  int64_t flag_ttl_ms() {
    std::vector<std::string> args{"PTTL", std::string(store::keys::kTimersBehind)};
    return run(ioc_, redis_.command(std::move(args))).integer;
  }
  // Lowers the flag after `delay`, from another coroutine on the same io_context.
  void lower_after(milliseconds delay) {
    asio::co_spawn(
        ioc_,
        [this, delay]() -> asio::awaitable<void> {
          asio::steady_timer t(ioc_, delay);
          co_await t.async_wait(asio::use_awaitable);
          co_await executions_.set_timers_behind(false, 0ms);
        },
        asio::detached);
  }

  testing::RedisServer server_;
  asio::io_context ioc_;
  store::Redis redis_{ioc_.get_executor(), store::Address::parse(server_.url())};
  store::ExecutionStore executions_{redis_};
};

TEST(TimersBehind, IsALateBurstOrAFullBatch) {
  struct Row {
    int64_t max_lateness_ms;
    int fired;
    bool batch_full;
    int poll_ms;
    bool behind;
  };
  const int burst = 64;
  const Row rows[] = {
      {0, 300, false, 20, false},     // a burst on time
      {40, 300, false, 20, false},    // two polls late: what polling itself explains
      {41, 300, false, 20, true},     // later than that
      {5000, 1000, false, 20, true},  // a backlog after routers were down
      {5000, 63, false, 20, false},   // a trickle: late by a skewed clock, not by a backlog
      {0, 1000, true, 20, true},      // a full batch: more are due right now
      {150, 300, false, 100, false},  // a slower poll explains more
      {201, 300, false, 100, true},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(timers_behind(r.max_lateness_ms, r.fired, burst, r.batch_full, milliseconds{r.poll_ms}), r.behind)
        << r.max_lateness_ms << " ms late, " << r.fired << " fired, full " << r.batch_full << ", poll " << r.poll_ms;
  }
}

TEST(TimersBehind, TheFlagOutlivesSeveralPollsButNotLong) {
  EXPECT_EQ(timers_behind_ttl(20ms), 100ms);
  EXPECT_EQ(timers_behind_ttl(100ms), 500ms);
}

TEST_F(AdmissionTest, TheFlagIsRaisedWithItsLifetimeAndLowered) {
  EXPECT_FALSE(run(ioc_, executions_.timers_behind()));
  run(ioc_, executions_.set_timers_behind(true, 60s));
  EXPECT_TRUE(flag_up());
  EXPECT_TRUE(run(ioc_, executions_.timers_behind()));
  int64_t ttl = flag_ttl_ms();
  EXPECT_GT(ttl, 50'000);  // it expires by itself (a router that dies while behind)
  EXPECT_LE(ttl, 60'000);
  run(ioc_, executions_.set_timers_behind(false, 60s));
  EXPECT_FALSE(flag_up());
  EXPECT_FALSE(run(ioc_, executions_.timers_behind()));
}

TEST_F(AdmissionTest, AStartGoesOnAtOnceWhileNoRouterIsBehind) {
  StartAdmission admission(executions_, 30s);
  // With the flag down a 30 s hold would show at once: the run() below is bounded by 10 s.
  EXPECT_EQ(run(ioc_, admission.admit()), 0ms);
}

TEST_F(AdmissionTest, AStartIsHeldWhileTheFlagIsUpAndGoesOnWhenItIsLowered) {
  run(ioc_, executions_.set_timers_behind(true, 60s));
  StartAdmission admission(executions_, 30s);
  lower_after(300ms);
  auto held = run(ioc_, admission.admit());
  EXPECT_GE(held, 300ms);  // not before the router caught up
  EXPECT_LT(held, 30s);    // but without waiting out the hold (run() alone bounds it to 10 s)
}

TEST_F(AdmissionTest, AStartIsHeldNoLongerThanTheHoldWhenTheFlagStaysUp) {
  run(ioc_, executions_.set_timers_behind(true, 60s));
  StartAdmission admission(executions_, 400ms);
  auto held = run(ioc_, admission.admit());
  EXPECT_GE(held, 400ms);
  EXPECT_TRUE(flag_up());  // still behind: the start went on anyway, the hold is a bound
}

TEST_F(AdmissionTest, AFlagThatExpiresReleasesTheStart) {
  run(ioc_, executions_.set_timers_behind(true, 300ms));  // its router died, say
  StartAdmission admission(executions_, 30s);
  auto held = run(ioc_, admission.admit());
  EXPECT_GE(held, 200ms);  // PX has millisecond precision; Redis expires a key at most ~1 ms late
  EXPECT_FALSE(flag_up());
}

TEST_F(AdmissionTest, AZeroHoldNeverHolds) {
  run(ioc_, executions_.set_timers_behind(true, 60s));
  StartAdmission admission(executions_, 0ms);
  EXPECT_EQ(run(ioc_, admission.admit()), 0ms);
}

}  // namespace
}  // namespace switchyard::router
