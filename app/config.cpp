#include "config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace switchyard::app {

Args parse_args(int argc, char** argv, const std::vector<std::string>& booleans) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      std::string key = s.substr(2);
      auto eq = key.find('=');
      if (eq != std::string::npos) {
        a.flags[key.substr(0, eq)] = key.substr(eq + 1);
        continue;
      }
      bool boolean = std::find(booleans.begin(), booleans.end(), key) != booleans.end();
      // A boolean flag may still take a value when the next word is not a flag (--wait 30).
      if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0 &&
          (!boolean || std::isdigit(static_cast<unsigned char>(argv[i + 1][0])) != 0)) {
        a.flags[key] = argv[++i];
      } else {
        a.flags[key] = "";
      }
    } else if (a.verb.empty()) {
      a.verb = s;
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

Settings::Settings(const Args& args, const std::vector<std::string>& known) : args_(args) {
  std::string file;
  if (args.has("config")) {
    file = args.flags.at("config");
  } else if (const char* e = std::getenv("SWITCHYARD_CONFIG")) {
    file = e;
  }
  if (!file.empty()) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const YAML::Exception& e) {
      throw std::runtime_error("config file " + file + ": " + e.what());
    }
    if (!root.IsNull() && !root.IsMap()) {
      throw std::runtime_error("config file " + file + ": must be a map of settings (key: value)");
    }
    if (root.IsMap()) {
      for (const auto& kv : root) {
        const std::string key = kv.first.Scalar();
        const std::string where =
            "config file " + file + ":" + std::to_string(kv.first.Mark().line + 1) + ": setting '" + key + "'";
        if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
          throw std::runtime_error(where + " is unknown (the settings are the long options without --, e.g. data-dir)");
        }
        if (!kv.second.IsScalar()) {
          throw std::runtime_error(where + " must be a single value");
        }
        file_[key] = kv.second.Scalar();
      }
    }
    config_dir_ = std::filesystem::absolute(file).parent_path().string();
  }
}

std::string Settings::get(const std::string& name, const std::string& fallback) const {
  if (auto it = args_.flags.find(name); it != args_.flags.end()) {
    return it->second;
  }
  std::string env = "SWITCHYARD_" + name;
  for (auto& c : env) {
    c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (const char* v = std::getenv(env.c_str())) {
    return v;
  }
  if (auto it = file_.find(name); it != file_.end()) {
    return it->second;
  }
  return fallback;
}

bool Settings::has(const std::string& name) const { return !get(name).empty(); }

}  // namespace switchyard::app
