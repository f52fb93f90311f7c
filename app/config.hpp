#pragma once
/// Settings of `switchyard serve` and the client verbs, merged from (lowest
/// first) defaults, the config file (YAML, same names as the flags without
/// dashes), the environment (SWITCHYARD_<NAME>, e.g. SWITCHYARD_REDIS) and flags.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::app {

struct Args {
  std::string verb;
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  ///< "--redis URL" -> flags["redis"] = "URL"; "--wait" -> ""
  bool has(const std::string& k) const { return flags.count(k) != 0; }
};

/// Splits argv into verb, positional arguments and --flags (boolean flags listed in `booleans`).
Args parse_args(int argc, char** argv, const std::vector<std::string>& booleans);

/// A setting: flag, then SWITCHYARD_<NAME> (upper case, '-' -> '_'), then the config file, then `fallback`.
class Settings {
 public:
  /// Reads the config file (--config or $SWITCHYARD_CONFIG) when there is one. With `known`, a key
  /// of the file that is not in it, or a value that is not a scalar, is an error (std::runtime_error
  /// naming the file, line and key): a typo must not be silently ignored.
  Settings(const Args& args, const std::vector<std::string>& known = {});  // NOLINT(google-explicit-constructor)
  std::string get(const std::string& name, const std::string& fallback = "") const;
  bool has(const std::string& name) const;
  std::string config_dir() const { return config_dir_; }

 private:
  const Args& args_;
  std::map<std::string, std::string> file_;
  std::string config_dir_;
};

}  // namespace switchyard::app
