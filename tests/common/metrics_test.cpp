// The metrics registry renders the Prometheus text exposition format 0.0.4
// exactly; each test compares the whole rendered text.
#include "switchyard/common/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using switchyard::metrics::format_value;
using switchyard::metrics::make_registry;

TEST(Metrics, EmptyRegistryRendersNothing) { EXPECT_EQ(make_registry()->render(), ""); }

TEST(Metrics, CounterWithoutLabelsExistsAtZeroAndCounts) {
  auto r = make_registry();
  auto& c = r->counter("jobs_total", "Jobs done.").get();
  EXPECT_EQ(r->render(), "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 0\n");
  c.inc();
  c.inc(2.5);
  c.inc(-4);  // a counter never goes down
  c.inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.value(), 3.5);
  EXPECT_EQ(r->render(), "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3.5\n");
}

TEST(Metrics, LabelledFamilyAppearsWithItsFirstChildAndSortsChildren) {
  auto r = make_registry();
  auto& f = r->counter("http_requests_total", "Requests.", {"route", "status"});
  EXPECT_EQ(r->render(), "");
  f.with({"/v1/executions", "200"}).inc(3);
  f.with({"/healthz", "200"}).inc();
  f.with({"/v1/executions", "404"}).inc();
  f.with({"/healthz", "200"}).inc();
  EXPECT_EQ(r->render(),
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"
            "http_requests_total{route=\"/v1/executions\",status=\"200\"} 3\n"
            "http_requests_total{route=\"/v1/executions\",status=\"404\"} 1\n");
}

TEST(Metrics, FamiliesRenderSortedByName) {
  auto r = make_registry();
  r->gauge("zeta", "Last.").get().set(1);
  r->counter("alpha_total", "First.").get().inc();
  r->gauge("mid", "Middle.").get().set(-2);
  EXPECT_EQ(r->render(),
            "# HELP alpha_total First.\n# TYPE alpha_total counter\nalpha_total 1\n"
            "# HELP mid Middle.\n# TYPE mid gauge\nmid -2\n"
            "# HELP zeta Last.\n# TYPE zeta gauge\nzeta 1\n");
}

TEST(Metrics, GaugeGoesUpAndDown) {
  auto r = make_registry();
  auto& g = r->gauge("in_flight", "Work in flight.").get();
  g.inc();
  g.inc(4);
  g.dec(2);
  EXPECT_EQ(g.value(), 3);
  g.set(0.125);
  EXPECT_EQ(r->render(), "# HELP in_flight Work in flight.\n# TYPE in_flight gauge\nin_flight 0.125\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  auto r = make_registry();
  r->counter("odd_total", "Help with \\ backslash,\nnewline and \"quotes\".", {"v"}).with({"a\\b\"c\nd"}).inc();
  // HELP escapes \ and newline (quotes stay); label values escape \, " and newline.
  EXPECT_EQ(r->render(),
            "# HELP odd_total Help with \\\\ backslash,\\nnewline and \"quotes\".\n"
            "# TYPE odd_total counter\n"
            "odd_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  auto r = make_registry();
  auto& h = r->histogram("call_seconds", "Call latency.", {"outcome"}, {0.01, 0.1, 1});
  auto& ok = h.with({"ok"});
  ok.observe(0.005);
  ok.observe(0.01);  // on a bound: counts in that bucket (le is "less or equal")
  ok.observe(0.5);
  ok.observe(3);
  h.with({"error"}).observe(0.05);
  EXPECT_EQ(ok.count(), 4U);
  EXPECT_DOUBLE_EQ(ok.sum(), 3.515);
  EXPECT_EQ(r->render(),
            "# HELP call_seconds Call latency.\n"
            "# TYPE call_seconds histogram\n"
            "call_seconds_bucket{outcome=\"error\",le=\"0.01\"} 0\n"
            "call_seconds_bucket{outcome=\"error\",le=\"0.1\"} 1\n"
            "call_seconds_bucket{outcome=\"error\",le=\"1\"} 1\n"
            "call_seconds_bucket{outcome=\"error\",le=\"+Inf\"} 1\n"
            "call_seconds_sum{outcome=\"error\"} 0.05\n"
            "call_seconds_count{outcome=\"error\"} 1\n"
            "call_seconds_bucket{outcome=\"ok\",le=\"0.01\"} 2\n"
            "call_seconds_bucket{outcome=\"ok\",le=\"0.1\"} 2\n"
            "call_seconds_bucket{outcome=\"ok\",le=\"1\"} 3\n"
            "call_seconds_bucket{outcome=\"ok\",le=\"+Inf\"} 4\n"
            "call_seconds_sum{outcome=\"ok\"} 3.515\n"
            "call_seconds_count{outcome=\"ok\"} 4\n");
}

TEST(Metrics, HistogramWithoutLabelsStartsEmpty) {
  auto r = make_registry();
  auto& h = r->histogram("wait_seconds", "Wait.", {}, {1, 2.5}).get();
  EXPECT_EQ(r->render(),
            "# HELP wait_seconds Wait.\n# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"1\"} 0\nwait_seconds_bucket{le=\"2.5\"} 0\n"
            "wait_seconds_bucket{le=\"+Inf\"} 0\nwait_seconds_sum 0\nwait_seconds_count 0\n");
  h.observe(std::numeric_limits<double>::quiet_NaN());  // NaN lands in +Inf only
  EXPECT_EQ(r->render(),
            "# HELP wait_seconds Wait.\n# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"1\"} 0\nwait_seconds_bucket{le=\"2.5\"} 0\n"
            "wait_seconds_bucket{le=\"+Inf\"} 1\nwait_seconds_sum NaN\nwait_seconds_count 1\n");
}

TEST(Metrics, DefaultAndExponentialBuckets) {
  EXPECT_EQ(switchyard::metrics::default_buckets(),
            (std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
  EXPECT_EQ(switchyard::metrics::exponential_buckets(0.001, 2, 4), (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
  EXPECT_THROW(switchyard::metrics::exponential_buckets(0, 2, 3), std::invalid_argument);
}

TEST(Metrics, RegisteringAgainReturnsTheSameFamily) {
  auto r = make_registry();
  auto& a = r->counter("x_total", "X.", {"k"});
  auto& b = r->counter("x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.with({"v"}), &b.with({"v"}));
}

struct BadRegistration {
  const char* what;
  void (*call)(switchyard::metrics::Registry&);
};

TEST(Metrics, BadRegistrationsAndLabelArityThrow) {
  const BadRegistration cases[] = {
      {"empty name", [](auto& r) { r.counter("", "h"); }},
      {"name starts with a digit", [](auto& r) { r.counter("1x", "h"); }},
      {"name with a dash", [](auto& r) { r.counter("a-b", "h"); }},
      {"label with a colon", [](auto& r) { r.counter("a", "h", {"x:y"}); }},
      {"reserved label", [](auto& r) { r.counter("a", "h", {"__x"}); }},
      {"duplicate label",
       [](auto& r) {
         r.counter("a", "h", {"x", "x"});
       }},
      {"histogram label le", [](auto& r) { r.histogram("h", "h", {"le"}); }},
      {"unsorted buckets",
       [](auto& r) {
         r.histogram("h", "h", {}, {1, 0.5});
       }},
      {"infinite bucket",
       [](auto& r) {
         r.histogram("h", "h", {}, {1, std::numeric_limits<double>::infinity()});
       }},
      {"same name, other type",
       [](auto& r) {
         r.counter("same", "h");
         r.gauge("same", "h");
       }},
      {"same name, other labels",
       [](auto& r) {
         r.counter("same", "h", {"a"});
         r.counter("same", "h", {"b"});
       }},
      {"same name, other buckets",
       [](auto& r) {
         r.histogram("same", "h", {}, {1});
         r.histogram("same", "h", {}, {2});
       }},
      {"too few label values",
       [](auto& r) {
         r.counter("a", "h", {"x", "y"}).with({"1"});
       }},
      {"too many label values", [](auto& r) { r.counter("a", "h").with({"1"}); }},
  };
  for (const auto& c : cases) {
    auto r = make_registry();
    EXPECT_THROW(c.call(*r), std::invalid_argument) << c.what;
  }
  // A name may contain colons (recording rules) and digits after the first character.
  EXPECT_NO_THROW(make_registry()->counter("ns:sub_2_total", "h"));
}

TEST(Metrics, FormatsValuesAsTheTextFormatWants) {
  struct Case {
    double v;
    const char* text;
  };
  const Case cases[] = {
      {0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {-3, "-3"},
      {1234567, "1234567"},
      {0.25, "0.25"},
      {0.1, "0.1"},
      {2.5, "2.5"},
      {0.0005, "0.0005"},
      {1e-05, "1e-05"},
      {-2.5e-07, "-2.5e-07"},
      {1234567.5, "1234567.5"},
      {0.1 + 0.2, "0.30000000000000004"},        // exactly what reads back, not a rounded look-alike
      {9007199254740992.0, "9007199254740992"},  // 2^53: the last integer printed as one
      {1e21, "1e+21"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(format_value(c.v), c.text) << c.v;
  }
}

TEST(Metrics, DefaultRegistryIsOneInstance) {
  EXPECT_EQ(&switchyard::metrics::default_registry(), &switchyard::metrics::default_registry());
  EXPECT_EQ(switchyard::metrics::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
