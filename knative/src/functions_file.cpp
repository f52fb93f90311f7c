// functions.yaml -> FunctionSpec map, with errors that point at file:line:column and the field.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "names.hpp"
#include "switchyard/knative/function_host.hpp"

namespace switchyard::knative {

namespace fs = std::filesystem;

namespace {

class Loader {
 public:
  explicit Loader(fs::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& field, const std::string& message) const {
    std::string where = file_.string();
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    throw std::runtime_error(where + ": " + (field.empty() ? "" : field + ": ") + message);
  }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& field, const std::string& message) const {
    fail(node.Mark(), field, message);
  }

  std::map<std::string, FunctionSpec> load() {
    // A functions file is a few lines: 1 MiB is far beyond any real one.
    constexpr std::uintmax_t kMaxSize = 1 << 20;
    std::error_code ec;
    auto size = fs::file_size(file_, ec);
    if (ec) {
      throw std::runtime_error(file_.string() + ": cannot read functions file: " + ec.message());
    }
    if (size > kMaxSize) {
      throw std::runtime_error(file_.string() + ": functions file larger than 1 MiB");
    }
    std::ifstream in(file_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      throw std::runtime_error(file_.string() + ": cannot read functions file");
    }
    YAML::Node root;
    try {
      root = YAML::Load(text.str());
    } catch (const YAML::ParserException& e) {
      fail(e.mark, "", "invalid YAML: " + e.msg);
    }
    base_dir_ = fs::absolute(file_).parent_path();

    if (!root.IsMap()) {
      fail(root, "", "expected a mapping with a 'functions' key");
    }
    std::map<std::string, FunctionSpec> out;
    for (const auto& entry : root) {
      std::string key = entry.first.Scalar();
      if (key != "functions") {
        fail(entry.first, key, "unknown key (expected 'functions')");
      }
    }
    YAML::Node functions = root["functions"];
    if (functions.IsNull()) {
      return out;  // "functions:" with nothing under it: no local functions
    }
    if (!functions.IsMap()) {
      fail(functions, "functions", "expected a mapping of function names to definitions");
    }
    for (const auto& entry : functions) {
      std::string name = entry.first.Scalar();
      if (!detail::valid_function_name(name)) {
        fail(entry.first, "functions." + name,
             "invalid function name (1-63 letters, digits, '-' or '_'; it becomes a service name)");
      }
      out.emplace(name, function(entry.second, "functions." + name));
    }
    return out;
  }

 private:
  FunctionSpec function(const YAML::Node& node, const std::string& field) const {
    if (!node.IsMap()) {
      fail(node, field, "expected a mapping with at least 'command'");
    }
    FunctionSpec spec;
    bool has_command = false;
    for (const auto& entry : node) {
      std::string key = entry.first.Scalar();
      const YAML::Node& value = entry.second;
      std::string sub = field + "." + key;
      if (key == "command") {
        spec.command = command(value, sub);
        has_command = true;
      } else if (key == "env") {
        spec.env = env(value, sub);
      } else if (key == "concurrency") {
        spec.concurrency = integer(value, sub, 1, 10000);
      } else if (key == "idleTimeoutSeconds") {
        spec.idle_timeout_seconds = integer(value, sub, 0, 7 * 24 * 3600);
      } else if (key == "maxProcesses") {
        spec.max_processes = integer(value, sub, 1, 1000);
      } else {
        fail(entry.first, sub, "unknown key (expected command, env, concurrency, idleTimeoutSeconds, maxProcesses)");
      }
    }
    if (!has_command) {
      fail(node, field + ".command", "missing");
    }
    return spec;
  }

  std::vector<std::string> command(const YAML::Node& node, const std::string& field) const {
    std::vector<std::string> argv;
    if (node.IsScalar()) {
      argv.push_back(node.Scalar());  // one program, no shell word splitting
    } else if (node.IsSequence()) {
      for (const auto& item : node) {
        if (!item.IsScalar()) {
          fail(item, field, "every element must be a string");
        }
        argv.push_back(item.Scalar());
      }
    } else {
      fail(node, field, "expected a list of strings, e.g. [\"./bin/echo\", \"--flag\"]");
    }
    if (argv.empty() || argv.front().empty()) {
      fail(node, field, "must name a program");
    }
    fs::path program(argv.front());
    if (program.is_relative() && argv.front().find('/') != std::string::npos) {
      argv.front() = (base_dir_ / program).lexically_normal().string();
    }
    return argv;
  }

  std::map<std::string, std::string> env(const YAML::Node& node, const std::string& field) const {
    if (!node.IsMap()) {
      fail(node, field, "expected a mapping of variable names to strings");
    }
    std::map<std::string, std::string> out;
    for (const auto& entry : node) {
      std::string key = entry.first.Scalar();
      if (key.empty() || key.find('=') != std::string::npos) {
        fail(entry.first, field + "." + key, "invalid variable name");
      }
      if (!entry.second.IsScalar()) {
        fail(entry.second, field + "." + key, "expected a string value");
      }
      out[key] = entry.second.Scalar();
    }
    return out;
  }

  int integer(const YAML::Node& node, const std::string& field, int lo, int hi) const {
    std::string s = node.IsScalar() ? node.Scalar() : std::string();
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!node.IsScalar() || ec != std::errc{} || p != s.data() + s.size() || s.empty() || v < lo || v > hi) {
      fail(node, field, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return v;
  }

  fs::path file_;
  fs::path base_dir_;
};

}  // namespace

std::map<std::string, FunctionSpec> load_functions_file(const fs::path& file) { return Loader(file).load(); }

}  // namespace switchyard::knative
