// The built-in metrics registry: plain (non-atomic) values, since a
// Switchyard process updates and renders metrics on its one io_context thread,
// and std::map everywhere so that rendering order is stable without sorting.
#include "switchyard/common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <stdexcept>

namespace switchyard::metrics {

namespace {

bool valid_name(std::string_view s, bool metric) {
  if (s.empty()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  // Names starting with "__" are reserved for Prometheus itself.
  return metric || s.substr(0, 2) != "__";
}

void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} (with an optional extra pair, for a histogram's le), or nothing without labels.
void append_labels(std::string& out, const std::vector<std::string>& names, const LabelValues& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

class CounterImpl final : public Counter {
 public:
  void inc(double v) override {
    if (v >= 0) {  // also refuses NaN
      value_ += v;
    }
  }
  double value() const override { return value_; }

 private:
  double value_ = 0;
};

class GaugeImpl final : public Gauge {
 public:
  void set(double v) override { value_ = v; }
  void inc(double v) override { value_ += v; }
  void dec(double v) override { value_ -= v; }
  double value() const override { return value_; }

 private:
  double value_ = 0;
};

class HistogramImpl final : public Histogram {
 public:
  explicit HistogramImpl(const std::vector<double>& bounds) : bounds_(bounds), counts_(bounds.size() + 1, 0) {}
  void observe(double v) override {
    // The first bucket whose bound is >= v; NaN only counts in +Inf (as the Go client does).
    size_t i = std::isnan(v)
                   ? bounds_.size()
                   : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    ++counts_[i];
    ++count_;
    sum_ += v;
  }
  uint64_t count() const override { return count_; }
  double sum() const override { return sum_; }
  /// Per-bucket (not cumulative) counts; the last one is +Inf's.
  const std::vector<uint64_t>& counts() const { return counts_; }

 private:
  const std::vector<double>& bounds_;  // the family's, which outlives its children
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

enum class Type { Counter, Gauge, Histogram };

const char* type_name(Type t) {
  switch (t) {
    case Type::Counter:
      return "counter";
    case Type::Gauge:
      return "gauge";
    case Type::Histogram:
      return "histogram";
  }
  return "untyped";
}

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> labels, Type type)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), type_(type) {}
  virtual ~FamilyBase() = default;

  bool same(const std::string& help, const std::vector<std::string>& labels, Type type) const {
    return help == help_ && labels == labels_ && type == type_;
  }
  Type type() const { return type_; }

  void render(std::string& out) const {
    if (empty()) {
      return;
    }
    out += "# HELP ";
    out += name_;
    out += ' ';
    append_escaped(out, help_, false);
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += type_name(type_);
    out += '\n';
    render_children(out);
  }

 protected:
  virtual bool empty() const = 0;
  virtual void render_children(std::string& out) const = 0;

  void check_arity(const LabelValues& values) const {
    if (values.size() != labels_.size()) {
      throw std::invalid_argument("metric " + name_ + " has " + std::to_string(labels_.size()) + " label(s), got " +
                                  std::to_string(values.size()) + " value(s)");
    }
  }

  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  Type type_;
};

template <class Metric, class Impl>
class FamilyImpl : public FamilyBase, public Family<Metric> {
 public:
  FamilyImpl(std::string name, std::string help, std::vector<std::string> labels, Type type)
      : FamilyBase(std::move(name), std::move(help), std::move(labels), type) {
    if (labels_.empty()) {
      with(LabelValues{});  // a metric without labels exists (at 0) from the start
    }
  }
  using Family<Metric>::with;
  Metric& with(const LabelValues& values) override {
    auto it = children_.find(values);
    if (it != children_.end()) {
      return *it->second;
    }
    check_arity(values);
    return *children_.emplace(values, std::make_unique<Impl>()).first->second;
  }

 protected:
  bool empty() const override { return children_.empty(); }
  void render_children(std::string& out) const override {
    for (const auto& [values, child] : children_) {
      out += name_;
      append_labels(out, labels_, values);
      out += ' ';
      out += format_value(child->value());
      out += '\n';
    }
  }

  std::map<LabelValues, std::unique_ptr<Impl>> children_;
};

using CounterFamilyImpl = FamilyImpl<Counter, CounterImpl>;
using GaugeFamilyImpl = FamilyImpl<Gauge, GaugeImpl>;

class HistogramFamilyImpl final : public FamilyBase, public Family<Histogram> {
 public:
  HistogramFamilyImpl(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds)
      : FamilyBase(std::move(name), std::move(help), std::move(labels), Type::Histogram), bounds_(std::move(bounds)) {
    for (const auto& b : bounds_) {
      le_.push_back(format_value(b));
    }
    if (labels_.empty()) {
      with(LabelValues{});
    }
  }
  const std::vector<double>& bounds() const { return bounds_; }

  using Family<Histogram>::with;
  Histogram& with(const LabelValues& values) override {
    auto it = children_.find(values);
    if (it != children_.end()) {
      return *it->second;
    }
    check_arity(values);
    return *children_.emplace(values, std::make_unique<HistogramImpl>(bounds_)).first->second;
  }

 private:
  bool empty() const override { return children_.empty(); }
  void render_children(std::string& out) const override {
    for (const auto& [values, child] : children_) {
      uint64_t cumulative = 0;
      const auto& counts = child->counts();
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += counts[i];
        out += name_;
        out += "_bucket";
        append_labels(out, labels_, values, "le", i < bounds_.size() ? std::string_view(le_[i]) : "+Inf");
        out += ' ';
        out += format_value(static_cast<double>(cumulative));
        out += '\n';
      }
      out += name_;
      out += "_sum";
      append_labels(out, labels_, values);
      out += ' ';
      out += format_value(child->sum());
      out += '\n';
      out += name_;
      out += "_count";
      append_labels(out, labels_, values);
      out += ' ';
      out += format_value(static_cast<double>(child->count()));
      out += '\n';
    }
  }

  std::vector<double> bounds_;
  std::vector<std::string> le_;  // the bounds as rendered, formatted once
  std::map<LabelValues, std::unique_ptr<HistogramImpl>> children_;
};

class TextRegistry final : public Registry {
 public:
  CounterFamily& counter(const std::string& name, const std::string& help,
                         const std::vector<std::string>& label_names) override {
    return add<CounterFamilyImpl>(name, help, label_names, Type::Counter, [&] {
      return std::make_unique<CounterFamilyImpl>(name, help, label_names, Type::Counter);
    });
  }

  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     const std::vector<std::string>& label_names) override {
    return add<GaugeFamilyImpl>(name, help, label_names, Type::Gauge, [&] {
      return std::make_unique<GaugeFamilyImpl>(name, help, label_names, Type::Gauge);
    });
  }

  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             const std::vector<std::string>& label_names, const std::vector<double>& buckets) override {
    if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
      throw std::invalid_argument("histogram " + name + " may not have a label named \"le\"");
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
        throw std::invalid_argument("histogram " + name + ": buckets must be finite and strictly increasing");
      }
    }
    auto& f = add<HistogramFamilyImpl>(name, help, label_names, Type::Histogram, [&] {
      return std::make_unique<HistogramFamilyImpl>(name, help, label_names, buckets);
    });
    if (f.bounds() != buckets) {
      throw std::invalid_argument("metric " + name + " is already registered with other buckets");
    }
    return f;
  }

  std::string render() const override {
    std::string out;
    for (const auto& [name, family] : families_) {
      family->render(out);
    }
    return out;
  }

 private:
  template <class Impl, class Make>
  Impl& add(const std::string& name, const std::string& help, const std::vector<std::string>& labels, Type type,
            Make make) {
    if (!valid_name(name, true)) {
      throw std::invalid_argument("invalid metric name '" + name + "'");
    }
    for (const auto& l : labels) {
      if (!valid_name(l, false)) {
        throw std::invalid_argument("metric " + name + ": invalid label name '" + l + "'");
      }
    }
    for (size_t i = 0; i < labels.size(); ++i) {
      if (std::find(labels.begin() + static_cast<std::ptrdiff_t>(i) + 1, labels.end(), labels[i]) != labels.end()) {
        throw std::invalid_argument("metric " + name + ": label '" + labels[i] + "' appears twice");
      }
    }
    auto it = families_.find(name);
    if (it != families_.end()) {
      if (!it->second->same(help, labels, type)) {
        throw std::invalid_argument("metric " + name + " is already registered with another type, help or labels");
      }
      return static_cast<Impl&>(*it->second);
    }
    auto family = make();
    Impl& ref = *family;
    families_.emplace(name, std::move(family));
    return ref;
  }

  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
};

}  // namespace

std::vector<double> default_buckets() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; }

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (start <= 0 || factor <= 1 || count < 1) {
    throw std::invalid_argument("exponential_buckets wants start > 0, factor > 1, count >= 1");
  }
  std::vector<double> b;
  b.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    b.push_back(start);
    start *= factor;
  }
  return b;
}

std::string format_value(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  // Integers print without a fraction or exponent (counts read naturally);
  // 2^53 is where doubles stop holding every integer.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, r.ptr);
  }
  // The shortest digits that read back exactly; fixed notation unless the
  // exponent is below -4 (as printf's %g decides), so bounds read "0.0005", not "5e-04".
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  int exponent = std::stoi(std::string(sci.substr(sci.find('e') + 1)));
  if (exponent < -4 || exponent >= 21) {
    return std::string(sci);
  }
  r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::unique_ptr<Registry> make_registry() { return std::make_unique<TextRegistry>(); }

Registry& default_registry() {
  static std::unique_ptr<Registry> registry = make_registry();
  return *registry;
}

}  // namespace switchyard::metrics
