#include "switchyard/gateway/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <regex>

namespace switchyard::gateway {

namespace {

// YAML 1.2 core schema for plain scalars.
Json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") {
    return s;  // quoted: always a string
  }
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  static const std::regex int_re("^[-+]?[0-9]+$");
  static const std::regex float_re(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(s, int_re)) {
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno == 0) {
      return v;
    }
  }
  if (std::regex_match(s, float_re)) {
    return std::strtod(s.c_str(), nullptr);
  }
  return s;
}

Json convert(const YAML::Node& n, int depth) {
  // Deeply nested input is hostile input: bound the recursion.
  if (depth > 512) {
    throw YAML::Exception(YAML::Mark::null_mark(), "nesting deeper than 512 levels");
  }
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(n);
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& e : n) {
        a.push_back(convert(e, depth + 1));
      }
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        o[kv.first.Scalar()] = convert(kv.second, depth + 1);
      }
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<Json> parse_yaml(std::string_view text) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return convert(root, 0);
  } catch (const YAML::Exception& e) {
    return Error{"InvalidYaml", "line " + std::to_string(e.mark.line + 1) + ", column " +
                                    std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

Result<Json> parse_json_or_yaml(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_discarded()) {
    return j;
  }
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    // Looks like JSON: report the JSON error rather than a confusing YAML one.
    try {
      Json strict = Json::parse(text.begin(), text.end());
      return strict;  // unreachable in practice: the lenient parse above failed
    } catch (const Json::parse_error& e) {
      return Error{"InvalidJson", e.what()};
    }
  }
  return parse_yaml(text);
}

}  // namespace switchyard::gateway
