#pragma once
/// The one JSON type of the ASL engine (and of Switchyard).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard {
using Json = nlohmann::json;

/// Deepest nesting Switchyard accepts in any document (inputs, results,
/// definitions). nlohmann's dump() and our walkers recurse: a 256 KiB body of
/// "[[[[..." would otherwise overflow the stack.
inline constexpr size_t kMaxJsonDepth = 512;

/// True when `j` nests no deeper than `max` (checked without recursion).
inline bool within_depth(const Json& j, size_t max = kMaxJsonDepth) {
  std::vector<std::pair<const Json*, size_t>> stack{{&j, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > max) {
      return false;
    }
    if (node->is_structured()) {
      for (const auto& child : *node) {
        stack.emplace_back(&child, depth + 1);
      }
    }
  }
  return true;
}
/// The text of j.dump() (compact, keys sorted, UTF-8 as it is), faster: see json_text.cpp.
std::string dump_json(const Json& j);
/// Appends the text of j.dump() to `out`.
void append_json(std::string& out, const Json& j);
/// Appends `s` as Json(s).dump() would write it (a JSON string), without the Json.
void append_json_string(std::string& out, const std::string& s);
/// Writes one JSON object into `out` field by field, exactly as dump_json() would
/// print the equivalent Json: for hot records (history events, the run record)
/// where a Json tree built only to be printed costs more than everything else.
/// Fields must come in sorted key order (asserted), as nlohmann's objects print.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  JsonObjectWriter& string(std::string_view key, const std::string& value) {
    append_json_string(field(key), value);
    return *this;
  }
  /// A JSON document carried as a string (Step Functions' input, output, parameters).
  JsonObjectWriter& document(std::string_view key, const Json& value) { return string(key, dump_json(value)); }
  JsonObjectWriter& json(std::string_view key, const Json& value) {
    append_json(field(key), value);
    return *this;
  }
  JsonObjectWriter& number(std::string_view key, int64_t value);
  /// A value already written as JSON text.
  JsonObjectWriter& raw(std::string_view key, std::string_view json_text) {
    field(key) += json_text;
    return *this;
  }
  /// Writes `key` and returns the text, for the caller to write its value (e.g. a nested writer).
  std::string& field(std::string_view key);
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  std::string_view last_;  // keys are literals of the callers
  bool first_ = true;
};

/// The length of j.dump(), without keeping the text.
size_t json_size(const Json& j);

}  // namespace switchyard
