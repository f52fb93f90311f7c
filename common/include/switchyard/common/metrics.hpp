#pragma once
/// Metrics with labels, rendered in the Prometheus text exposition format 0.0.4
/// (what `GET /metrics` serves).
///
/// The types here are interfaces so that another implementation (prometheus-cpp,
/// OpenTelemetry) can replace make_registry()'s without touching instrumented
/// code. The model follows Prometheus' client libraries: a Registry holds
/// families (one metric name, its help text, its label names); a family hands
/// out one child per combination of label values; children are counted,
/// set or observed.
///
///   auto& calls = registry.counter("switchyard_task_calls_total", "Task calls.", {"outcome"});
///   calls.with({"succeeded"}).inc();
///
/// Lookups by label values cost a map search: hot paths keep the child reference
/// (children live as long as the registry and never move).
///
/// Thread safety: none. A Switchyard process runs one io_context on one thread
/// (DESIGN: no locks in async code), so every update and render happens on that
/// thread. Code on other threads must not touch a registry.
///
/// Rendering: families sorted by name; children sorted by their label values
/// (in the order the label names were declared); labels in declared order;
/// counters and gauges as `name{labels} value`; histograms as cumulative
/// `name_bucket{labels,le="..."}` lines ending with le="+Inf", then `name_sum`
/// and `name_count`. A family with labels appears once it has a child; a family
/// without labels always (its only child is created at registration). Label
/// values are escaped (\\ \" \n), help text too (\\ \n).
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::metrics {

/// Label values, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

/// A value that only goes up (restarts at 0 with the process).
class Counter {
 public:
  virtual ~Counter() = default;
  /// Adds `v` (>= 0; negative increments are ignored: a counter never goes down).
  virtual void inc(double v = 1) = 0;
  virtual double value() const = 0;
};

/// A value that goes up and down.
class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void set(double v) = 0;
  virtual void inc(double v = 1) = 0;
  virtual void dec(double v = 1) = 0;
  virtual double value() const = 0;
};

/// Observations counted in cumulative buckets, with their sum and count.
class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void observe(double v) = 0;
  virtual uint64_t count() const = 0;
  virtual double sum() const = 0;
};

/// One metric name with its children, one per combination of label values.
template <class Metric>
class Family {
 public:
  virtual ~Family() = default;
  /// The child for these label values (created on first use). Throws
  /// std::invalid_argument when the number of values differs from the label names.
  virtual Metric& with(const LabelValues& values) = 0;
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(LabelValues(values.begin(), values.end()));
  }
  /// The only child of a family without labels.
  Metric& get() { return with(LabelValues{}); }
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

/// Prometheus' default buckets (seconds): 5 ms .. 10 s.
std::vector<double> default_buckets();
/// `count` bounds start, start*factor, start*factor^2, ... (like the Go client's ExponentialBuckets).
std::vector<double> exponential_buckets(double start, double factor, int count);

class Registry {
 public:
  virtual ~Registry() = default;
  /// Registers (or returns the already registered) family. Names must match
  /// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and not start
  /// with "__". Registering a name again with another type, help or label names
  /// throws std::invalid_argument (these are programming errors, found by any test).
  virtual CounterFamily& counter(const std::string& name, const std::string& help,
                                 const std::vector<std::string>& label_names = {}) = 0;
  virtual GaugeFamily& gauge(const std::string& name, const std::string& help,
                             const std::vector<std::string>& label_names = {}) = 0;
  /// `buckets`: upper bounds, strictly increasing, +Inf implied (never give it);
  /// a histogram may not use the label name "le".
  virtual HistogramFamily& histogram(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& label_names = {},
                                     const std::vector<double>& buckets = default_buckets()) = 0;
  /// Every family in the text exposition format 0.0.4 (see the header comment).
  virtual std::string render() const = 0;
};

/// The Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

/// A new, empty registry (the built-in text implementation).
std::unique_ptr<Registry> make_registry();

/// The process's registry: what `GET /metrics` serves and where Switchyard's
/// own code registers its metrics. A process-wide default (as in Prometheus'
/// Go and Python clients) so instrumentation needs no constructor plumbing.
Registry& default_registry();

/// A number as the text format writes it: integers without a fraction
/// ("3", "-1"), others with the fewest digits that read back exactly, in fixed
/// notation unless the exponent is below -4 ("0.25", "0.0005", "1e-05"), and
/// "+Inf", "-Inf", "NaN".
std::string format_value(double v);

}  // namespace switchyard::metrics
