// Error matching and backoff math of Retry/Catch.
#include "../../../router/asl/src/retry.hpp"

#include <gtest/gtest.h>

namespace switchyard::asl {
namespace {

struct MatchCase {
  std::vector<std::string> equals;
  std::string error;
  bool matches;
};

TEST(Retry, ErrorMatching) {
  const std::vector<MatchCase> cases = {
      {{"MyError"}, "MyError", true},
      {{"MyError"}, "myerror", false},  // case-sensitive
      {{"A", "B"}, "B", true},
      {{"States.ALL"}, "Anything", true},
      {{"States.ALL"}, "States.Timeout", true},
      {{"States.ALL"}, "States.Runtime", false},            // terminal
      {{"States.ALL"}, "States.DataLimitExceeded", false},  // terminal
      {{"States.Runtime"}, "States.Runtime", false},        // terminal even by name
      {{"States.TaskFailed"}, "Lambda.Unknown", true},
      {{"States.TaskFailed"}, "States.TaskFailed", true},
      {{"States.TaskFailed"}, "States.Permissions", true},
      {{"States.TaskFailed"}, "States.Timeout", false},
      {{"States.TaskFailed"}, "States.HeartbeatTimeout", false},
      {{"States.Timeout"}, "States.Timeout", true},
      {{"States.Timeout"}, "States.HeartbeatTimeout", true},
      {{"States.HeartbeatTimeout"}, "States.Timeout", false},
      {{"States.Timeout"}, "Other", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_matches(c.equals, c.error), c.matches) << c.equals[0] << " vs " << c.error;
  }
}

struct DelayCase {
  int64_t interval;
  double rate;
  std::optional<int64_t> max_delay;
  bool jitter;
  int attempts_done;
  uint64_t random;
  int64_t expected_ms;
};

TEST(Retry, DelayMath) {
  const std::vector<DelayCase> cases = {
      {1, 2.0, std::nullopt, false, 0, 0, 1000},
      {1, 2.0, std::nullopt, false, 1, 0, 2000},
      {1, 2.0, std::nullopt, false, 3, 0, 8000},
      {3, 1.5, std::nullopt, false, 2, 0, 6750},
      {2, 1.0, std::nullopt, false, 5, 0, 2000},
      {1, 2.0, 5, false, 10, 0, 5000},                             // MaxDelaySeconds caps
      {10, 2.0, std::nullopt, true, 1, 0, 0},                      // FULL jitter, lowest draw
      {10, 2.0, std::nullopt, true, 1, ~uint64_t{0}, 20000},       // FULL jitter, highest draw
      {10, 2.0, std::nullopt, true, 1, uint64_t{1} << 63, 10000},  // half
      {10, 2.0, 4, true, 1, uint64_t{1} << 63, 2000},              // cap before jitter
      {1, 2.0, std::nullopt, false, 200, 0, 399999996000},         // huge exponents stay bounded
  };
  for (const auto& c : cases) {
    Retrier r;
    r.interval_seconds = c.interval;
    r.backoff_rate = c.rate;
    r.max_delay_seconds = c.max_delay;
    r.full_jitter = c.jitter;
    uint64_t value = c.random;
    std::function<uint64_t()> random = [value] { return value; };
    EXPECT_NEAR(static_cast<double>(retry_delay_ms(r, c.attempts_done, random)), static_cast<double>(c.expected_ms),
                1.0)
        << c.interval << " * " << c.rate << "^" << c.attempts_done;
  }
}

TEST(Retry, PlanUsesFirstMatchingRetrierAndItsCounter) {
  Retrier a;
  a.error_equals = {"A"};
  a.max_attempts = 2;
  Retrier all;
  all.error_equals = {"States.ALL"};
  all.max_attempts = 1;
  all.interval_seconds = 5;
  std::vector<Retrier> rs = {a, all};
  std::function<uint64_t()> random;

  auto p = plan_retry(rs, {}, "A", random);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->retrier, 0u);
  EXPECT_EQ(p->delay_ms, 1000);
  p = plan_retry(rs, {1, 0}, "A", random);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->delay_ms, 2000);
  EXPECT_FALSE(plan_retry(rs, {2, 0}, "A", random));  // exhausted: no fall-through to States.ALL
  p = plan_retry(rs, {2, 0}, "B", random);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->retrier, 1u);
  EXPECT_EQ(p->delay_ms, 5000);
  EXPECT_FALSE(plan_retry(rs, {0, 1}, "B", random));
  EXPECT_FALSE(plan_retry(rs, {}, "States.Runtime", random));
}

TEST(Retry, MaxAttemptsZeroNeverRetries) {
  Retrier r;
  r.error_equals = {"E"};
  r.max_attempts = 0;
  EXPECT_FALSE(plan_retry({r}, {}, "E", {}));
}

TEST(Catch, FirstMatchingCatcher) {
  Catcher a;
  a.error_equals = {"A"};
  a.next = "ForA";
  Catcher all;
  all.error_equals = {"States.ALL"};
  all.next = "ForAll";
  std::vector<Catcher> cs = {a, all};
  EXPECT_EQ(find_catcher(cs, "A")->next, "ForA");
  EXPECT_EQ(find_catcher(cs, "B")->next, "ForAll");
  EXPECT_EQ(find_catcher(cs, "States.DataLimitExceeded"), nullptr);
  EXPECT_EQ(find_catcher({a}, "B"), nullptr);
}

}  // namespace
}  // namespace switchyard::asl
