// Definition: the parsed model, machine pointers, timeouts, time helpers.
#include <gtest/gtest.h>

#include "../../../router/asl/src/model.hpp"
#include "core_test_util.hpp"

namespace switchyard::asl {
namespace {

TEST(Definition, KeepsDocumentAndTimeout) {
  Json doc = Json::parse(R"({"StartAt": "A", "TimeoutSeconds": 30, "States": {"A": {"Type": "Succeed"}}})");
  auto r = parse_definition(doc);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.definition->document(), doc);
  EXPECT_EQ(r.definition->timeout_ms(), 30000);
  auto no_timeout = testing::must_parse(R"({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})");
  EXPECT_EQ(no_timeout->timeout_ms(), std::nullopt);
}

TEST(Definition, HasMachineForEveryNestedMachine) {
  auto def = testing::must_parse(R"json({"StartAt": "P/1", "States": {
      "P/1": {"Type": "Parallel", "Next": "M", "Branches": [
          {"StartAt": "B0", "States": {"B0": {"Type": "Succeed"}}},
          {"StartAt": "M2", "States": {"M2": {"Type": "Map", "End": true,
              "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}}]},
      "M": {"Type": "Map", "End": true, "Iterator": {"StartAt": "Y", "States": {"Y": {"Type": "Succeed"}}}}}})json");
  for (const char* m : {"", "/States/P~11/Branches/0", "/States/P~11/Branches/1",
                        "/States/P~11/Branches/1/States/M2/ItemProcessor", "/States/M/Iterator"}) {
    EXPECT_TRUE(def->has_machine(m)) << m;
  }
  for (const char* m : {"/States/P~11/Branches/2", "/States/M", "/States/M/ItemProcessor", "/"}) {
    EXPECT_FALSE(def->has_machine(m)) << m;
  }
}

TEST(Definition, PreParsesStates) {
  auto def = testing::must_parse(R"json({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "fn:f", "Next": "S", "ResultPath": null,
            "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 3, "MaxAttempts": 4, "BackoffRate": 1.5,
                       "MaxDelaySeconds": 9, "JitterStrategy": "FULL"}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}]},
      "S": {"Type": "Succeed"}}})json");
  const Machine& top = def->impl().machines.at("");
  EXPECT_EQ(top.start_at, "T");
  const StateDef& t = top.states.at("T");
  EXPECT_EQ(t.type, StateType::Task);
  EXPECT_EQ(t.next, "S");
  EXPECT_TRUE(t.result_path.null());
  ASSERT_EQ(t.retry.size(), 1u);
  EXPECT_EQ(t.retry[0].interval_seconds, 3);
  EXPECT_EQ(t.retry[0].max_attempts, 4);
  EXPECT_DOUBLE_EQ(t.retry[0].backoff_rate, 1.5);
  EXPECT_EQ(t.retry[0].max_delay_seconds, 9);
  EXPECT_TRUE(t.retry[0].full_jitter);
  ASSERT_EQ(t.catchers.size(), 1u);
  EXPECT_EQ(t.catchers[0].next, "S");
  EXPECT_TRUE(t.catchers[0].result_path.absent());
}

TEST(Definition, RetrierDefaultsAreAwsDefaults) {
  auto def = testing::must_parse(R"json({"StartAt": "T", "States": {
      "T": {"Type": "Task", "Resource": "fn:f", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}]}}})json");
  const Retrier& r = def->impl().machines.at("").states.at("T").retry.at(0);
  EXPECT_EQ(r.interval_seconds, 1);
  EXPECT_EQ(r.max_attempts, 3);
  EXPECT_DOUBLE_EQ(r.backoff_rate, 2.0);
  EXPECT_FALSE(r.max_delay_seconds);
  EXPECT_FALSE(r.full_jitter);
}

TEST(Time, FormatsRfc3339WithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(testing::kNow), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(format_rfc3339_ms(951782400123), "2000-02-29T00:00:00.123Z");
}

TEST(Time, ParsesRfc3339) {
  struct Case {
    std::string text;
    std::optional<int64_t> ms;
  };
  for (const auto& c : std::vector<Case>{
           {"1970-01-01T00:00:00Z", 0},
           {"2023-11-14T22:13:20Z", testing::kNow},
           {"2023-11-14T22:13:20.5Z", testing::kNow + 500},
           {"2023-11-14T23:13:20.123+01:00", testing::kNow + 123},
           {"2023-11-14T21:13:20-01:00", testing::kNow},
           {"2000-02-29T00:00:00Z", 951782400000},
           {"2001-02-29T00:00:00Z", std::nullopt},
           {"2023-11-14t22:13:20Z", std::nullopt},
           {"2023-11-14T22:13:20", std::nullopt},
           {"2023-11-14T22:13:20z", std::nullopt},
           {"2023-13-01T00:00:00Z", std::nullopt},
           {"2023-11-14 22:13:20Z", std::nullopt},
           {"2023-11-14T22:13:20.Z", std::nullopt},
           {"", std::nullopt},
       }) {
    EXPECT_EQ(parse_rfc3339_ms(c.text), c.ms) << c.text;
  }
}

}  // namespace
}  // namespace switchyard::asl
