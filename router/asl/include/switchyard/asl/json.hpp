#pragma once
/// The one JSON type of the ASL engine (and of Switchyard).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
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
/// The length of j.dump(), without keeping the text.
size_t json_size(const Json& j);

}  // namespace switchyard
