// GET /metrics on the real `switchyard serve`: after real executions, the
// counters show what happened, and the whole page is valid text format 0.0.4.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "switchyard/testing/switchyard.hpp"

namespace {

using Json = nlohmann::json;
using switchyard::testing::example_functions_yaml;
using switchyard::testing::free_port;
using switchyard::testing::http_request;
using switchyard::testing::RedisServer;
using switchyard::testing::ServeOptions;
using switchyard::testing::SwitchyardServer;

// Series line -> value, checking every line against the text format's grammar on the way.
std::map<std::string, double> scrape_port(int port) {
  auto r = http_request(port, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  static const std::regex help(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  static const std::regex type(R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})?) (\S+))");
  std::map<std::string, double> out;
  std::istringstream in(r.body);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, help)) << line;
    } else if (line.rfind("# TYPE", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, type)) << line;
    } else if (std::regex_match(line, m, sample)) {
      out[m[1].str()] = std::stod(m[6].str());
    } else {
      ADD_FAILURE() << "not a text-format line: '" << line << "'";
    }
  }
  EXPECT_FALSE(r.body.empty());
  EXPECT_EQ(r.body.back(), '\n');
  return out;
}

std::map<std::string, double> scrape(SwitchyardServer& s) { return scrape_port(s.port()); }

double value(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  return it == m.end() ? -1 : it->second;
}

TEST(Metrics, CountersShowOneExecutionEndToEnd) {
  ServeOptions o;
  o.functions_yaml = example_functions_yaml();
  SwitchyardServer s(o);
  s.deploy("one", R"({"StartAt":"P","States":{
      "P":{"Type":"Pass","Next":"T"},
      "T":{"Type":"Task","Resource":"fn:echo","End":true}}})");
  auto r = s.request("POST", "/v1/state-machines/one/executions?wait=20", R"({"input": {"x": 1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Json::parse(r.body)["status"], "SUCCEEDED") << r.body;

  auto m = scrape(s);
  EXPECT_EQ(value(m, R"(switchyard_executions_started_total{type="STANDARD"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_executions_finished_total{status="SUCCEEDED"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_task_calls_total{outcome="succeeded"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_task_call_duration_seconds_count{outcome="succeeded"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_task_call_duration_seconds_bucket{outcome="succeeded",le="+Inf"})"), 1);
  EXPECT_GT(value(m, R"(switchyard_task_call_duration_seconds_sum{outcome="succeeded"})"), 0);
  EXPECT_EQ(value(m, R"(switchyard_work_items_processed_total{kind="invoke"})"), 1);
  EXPECT_GE(value(m, "switchyard_transitions_committed_total"), 2);  // at least: Task scheduled, Task done
  EXPECT_EQ(value(m, "switchyard_work_in_flight"), 0);
  EXPECT_EQ(value(m, R"(switchyard_http_requests_total{method="PUT",route="/v1/state-machines/{name}",status="201"})"),
            1);
  EXPECT_EQ(
      value(
          m,
          R"(switchyard_http_requests_total{method="POST",route="/v1/state-machines/{name}/executions",status="200"})"),
      1);
  EXPECT_EQ(value(m, R"(switchyard_http_request_duration_seconds_count{route="/v1/state-machines/{name}/executions"})"),
            1);
  // A scrape counts itself after rendering: the next one shows it.
  auto again = scrape(s);
  EXPECT_EQ(value(again, R"(switchyard_http_requests_total{method="GET",route="/metrics",status="200"})"), 1);
}

TEST(Metrics, StopTimersCallbacksAndFailuresAreCounted) {
  ServeOptions o;
  o.functions_yaml = example_functions_yaml();
  SwitchyardServer s(o);
  s.deploy("nap", R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}})");
  s.deploy("long", R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}})");
  s.deploy("bad", R"({"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}})");

  auto nap = s.request("POST", "/v1/state-machines/nap/executions?wait=20", "{}");
  ASSERT_EQ(nap.status, 200) << nap.body;
  auto bad = s.request("POST", "/v1/state-machines/bad/executions?wait=20", R"({"input": {"nobody": 1}})");
  ASSERT_EQ(Json::parse(bad.body)["status"], "FAILED") << bad.body;
  auto long_run = s.request("POST", "/v1/state-machines/long/executions", "{}");
  ASSERT_EQ(long_run.status, 201) << long_run.body;
  std::string id = Json::parse(long_run.body)["executionId"];
  ASSERT_EQ(s.request("POST", "/v1/executions/" + id + "/stop", "{}").status, 200);
  // A second stop changes nothing and is not counted again.
  ASSERT_EQ(s.request("POST", "/v1/executions/" + id + "/stop", "{}").status, 200);
  EXPECT_EQ(s.request("POST", "/v1/tasks/no_such_token/success", R"({"output": 1})").status, 404);

  auto m = scrape(s);
  EXPECT_EQ(value(m, R"(switchyard_executions_started_total{type="STANDARD"})"), 3);
  EXPECT_EQ(value(m, R"(switchyard_executions_finished_total{status="SUCCEEDED"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_executions_finished_total{status="FAILED"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_executions_finished_total{status="ABORTED"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_task_calls_total{outcome="failed"})"), 1);
  EXPECT_GE(value(m, "switchyard_timers_fired_total"), 1);
  EXPECT_GE(value(m, R"(switchyard_work_items_processed_total{kind="timer"})"), 1);
  // The Wait's timer was observed with its lateness, labelled by timer kind.
  double late = value(m, R"(switchyard_timer_lateness_seconds_count{kind="timer"})");
  EXPECT_GE(late, 1);
  EXPECT_EQ(value(m, R"(switchyard_timer_lateness_seconds_bucket{kind="timer",le="+Inf"})"), late);
  EXPECT_EQ(value(m, R"(switchyard_task_callbacks_total{kind="success",outcome="unknown"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_http_requests_total{method="POST",route="/v1/tasks/{token}/success",status="404"})"),
            1);
  EXPECT_EQ(value(m, R"(switchyard_http_requests_total{method="POST",route="/v1/executions/{id}/stop",status="200"})"),
            2);
}

TEST(Metrics, RouteLabelsStayBoundedForUnknownPaths) {
  SwitchyardServer s;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.request("GET", "/random/" + std::to_string(i)).status, 404);
  }
  EXPECT_EQ(s.request("BREW", "/v1/executions").status, 404);
  auto m = scrape(s);
  EXPECT_EQ(value(m, R"(switchyard_http_requests_total{method="GET",route="other",status="404"})"), 3);
  EXPECT_EQ(value(m, R"(switchyard_http_requests_total{method="other",route="/v1/executions",status="404"})"), 1);
}

TEST(Metrics, RouterOnlyProcessServesMetricsOnItsMetricsPort) {
  RedisServer redis;
  ServeOptions g;
  g.extra_args = {"--roles", "gateway", "--redis", redis.url()};
  SwitchyardServer gateway(g);
  int metrics_port = free_port();
  ServeOptions r;
  r.gateway = false;
  r.functions_yaml = example_functions_yaml();
  r.extra_args = {"--roles",   "router",           "--redis",
                  redis.url(), "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)};
  SwitchyardServer router(r);
  ASSERT_TRUE(switchyard::testing::wait_until(
      [&] { return http_request(metrics_port, "GET", "/readyz").status == 200; }, std::chrono::seconds{30}))
      << router.log();

  gateway.deploy("one", R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:echo","End":true}}})");
  auto run = gateway.request("POST", "/v1/state-machines/one/executions?wait=20", R"({"input": {"x": 1}})");
  ASSERT_EQ(run.status, 200) << run.body << router.log();

  // The call happened in the router, so the router's page counts it; the gateway's does not.
  auto m = scrape_port(metrics_port);
  EXPECT_EQ(value(m, R"(switchyard_task_calls_total{outcome="succeeded"})"), 1);
  EXPECT_EQ(value(m, R"(switchyard_executions_finished_total{status="SUCCEEDED"})"), 1);
  auto gm = scrape(gateway);
  EXPECT_EQ(value(gm, R"(switchyard_task_calls_total{outcome="succeeded"})"), -1);
  EXPECT_EQ(value(gm, R"(switchyard_executions_started_total{type="STANDARD"})"), 1);
  // The metrics port is not an API port.
  EXPECT_EQ(http_request(metrics_port, "GET", "/v1/executions").status, 404);
  EXPECT_EQ(http_request(metrics_port, "GET", "/healthz").status, 200);
}

}  // namespace
