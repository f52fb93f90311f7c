// Trigger validation at PUT (problems with JSON pointers) and the typed views.
#include "switchyard/router/triggers.hpp"

#include <gtest/gtest.h>

namespace {

using switchyard::Json;
using namespace switchyard::router;

std::vector<std::string> paths(const Json& triggers) {
  std::vector<std::string> out;
  for (const auto& p : validate_triggers(triggers)) {
    out.push_back(p.path);
  }
  return out;
}

TEST(Triggers, ValidTriggersHaveNoProblems) {
  Json t = Json::parse(R"([
    {"type": "webhook", "name": "gh-push", "auth": {"scheme": "github", "secretFrom": {"env": "GH_SECRET"}}},
    {"type": "webhook", "name": "alerts", "format": "alertmanager",
     "auth": {"scheme": "token", "secretFrom": {"file": "/run/secrets/am"}}},
    {"type": "webhook", "name": "sw", "format": "raw",
     "auth": {"scheme": "standard-webhooks", "secretFrom": {"env": "SW"}}},
    {"type": "cloudevent", "eventType": "dev.knative.example"},
    {"type": "cloudevent", "eventType": "com.github.push", "source": "https://github.com/o/r"},
    {"type": "schedule", "cron": "*/5 * * * *"},
    {"type": "schedule", "cron": "@daily", "timezone": "+02:00", "input": {"report": true}}
  ])");
  EXPECT_EQ(paths(t), std::vector<std::string>{});
  EXPECT_EQ(paths(Json::array()), std::vector<std::string>{});
}

TEST(Triggers, ProblemsNameTheField) {
  struct Case {
    const char* triggers;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {R"({"type": "webhook"})", {"/triggers"}},
      {R"([42])", {"/triggers/0"}},
      {R"([{"type": "mqtt"}])", {"/triggers/0/type"}},
      {R"([{}])", {"/triggers/0/type"}},
      {R"([{"type": "webhook", "name": "a b", "auth": {"scheme": "token", "secretFrom": {"env": "X"}}}])",
       {"/triggers/0/name"}},
      {R"([{"type": "webhook", "name": "h"}])", {"/triggers/0/auth"}},
      {R"([{"type": "webhook", "name": "h", "auth": {"scheme": "basic", "secretFrom": {"env": "X"}}}])",
       {"/triggers/0/auth/scheme"}},
      {R"([{"type": "webhook", "name": "h", "auth": {"scheme": "token", "secretFrom": {"vault": "X"}}}])",
       {"/triggers/0/auth/secretFrom/vault", "/triggers/0/auth/secretFrom"}},
      {R"([{"type": "webhook", "name": "h", "auth": {"scheme": "token", "secretFrom": {"env": "X", "file": "f"}}}])",
       {"/triggers/0/auth/secretFrom"}},
      {R"([{"type": "webhook", "name": "h", "auth": {"scheme": "token", "secretFrom": {"env": ""}}}])",
       {"/triggers/0/auth/secretFrom/env"}},
      {R"([{"type": "webhook", "name": "h", "format": "xml",
            "auth": {"scheme": "token", "secretFrom": {"env": "X"}}}])",
       {"/triggers/0/format"}},
      {R"([{"type": "webhook", "name": "h", "secretfrom": 1, "auth": {"scheme": "token", "secretFrom": {"env": "X"}}}])",
       {"/triggers/0/secretfrom"}},
      {R"([{"type": "webhook", "name": "h", "auth": {"scheme": "token", "secretFrom": {"env": "X"}}},
           {"type": "webhook", "name": "h", "auth": {"scheme": "token", "secretFrom": {"env": "X"}}}])",
       {"/triggers/1/name"}},
      {R"([{"type": "cloudevent"}])", {"/triggers/0/eventType"}},
      {R"([{"type": "cloudevent", "eventType": "t", "source": 5}])", {"/triggers/0/source"}},
      {R"([{"type": "schedule"}])", {"/triggers/0/cron"}},
      {R"([{"type": "schedule", "cron": "61 * * * *"}])", {"/triggers/0/cron"}},
      {R"([{"type": "schedule", "cron": "* * * * * *"}])", {"/triggers/0/cron"}},
      {R"([{"type": "schedule", "cron": "* * * * *", "timezone": "Europe/Berln"}])", {"/triggers/0/timezone"}},
      {R"([{"type": "schedule", "cron": "* * * * *", "timezone": "../../etc/passwd"}])", {"/triggers/0/timezone"}},
      {R"([{"type": "schedule", "cron": "* * * * *", "timezone": "Europe/Berlin"}])", {}},
      {R"([{"type": "schedule", "cron": "* * * * *"}, {"type": "schedule", "cron": "x"}])", {"/triggers/1/cron"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(paths(Json::parse(c.triggers)), c.want) << c.triggers;
  }
}

TEST(Triggers, CronProblemExplainsTheField) {
  auto problems = validate_triggers(Json::parse(R"([{"type": "schedule", "cron": "0 25 * * *"}])"));
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].message, "hour field: 25 is out of range 0-23");
}

TEST(Triggers, TypedViews) {
  Json t = Json::parse(R"([
    {"type": "schedule", "cron": "0 * * * *"},
    {"type": "webhook", "name": "am", "format": "alertmanager",
     "auth": {"scheme": "token", "secretFrom": {"file": "/s"}}},
    {"type": "cloudevent", "eventType": "a.b", "source": "src"},
    {"type": "schedule", "cron": "@daily", "timezone": "+01:00", "input": {"x": 1}}
  ])");
  auto hook = find_webhook(t, "am");
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->scheme, "token");
  EXPECT_EQ(hook->format, "alertmanager");
  EXPECT_EQ(hook->secret_file, "/s");
  EXPECT_EQ(hook->secret_env, "");
  EXPECT_FALSE(find_webhook(t, "other"));

  EXPECT_TRUE(matches_cloudevent(t, "a.b", "src"));
  EXPECT_FALSE(matches_cloudevent(t, "a.b", "elsewhere"));
  EXPECT_FALSE(matches_cloudevent(t, "a.c", "src"));
  EXPECT_TRUE(matches_cloudevent(Json::parse(R"([{"type": "cloudevent", "eventType": "a.b"}])"), "a.b", "any"));

  auto s = schedules_of(t);
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0].index, 0U);
  EXPECT_EQ(s[0].input, Json::object());
  EXPECT_EQ(s[1].index, 3U);
  EXPECT_EQ(s[1].zone.fixed_offset(), std::chrono::seconds{std::chrono::hours{1}});
  EXPECT_EQ(s[1].input, Json({{"x", 1}}));
  auto minute =
      std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + std::chrono::hours{15} + std::chrono::minutes{9};
  EXPECT_EQ(schedule_execution_name(s[0], minute), "schedule-20261122T1509Z");
  EXPECT_EQ(schedule_execution_name(s[1], minute), "schedule-20261122T1509Z-3");
}

}  // namespace
