#pragma once
// Private to the ASL engine: the compiled form of a JSONPath and the lookup
// that payload templates, intrinsics and Choice rules share. The public
// surface is switchyard/asl/paths.hpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/asl/json.hpp"
#include "switchyard/asl/scope.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::asl::detail {

enum class Root { Input, Context, Variable };

struct CompiledPath;
struct FilterExpr;

/// One step of a path: "['a']", "[0]", "[1:3]", "[*]", "[?(...)]", each
/// optionally preceded by ".." (recursive descent).
struct Segment {
  enum class Kind { Names, Indices, Slice, Wildcard, Filter };
  Kind kind = Kind::Names;
  bool descendant = false;
  std::vector<std::string> names;            // Names: one, or a union "['a','b']"
  std::vector<int64_t> indices;              // Indices: one, or a union "[0,2]"
  std::optional<int64_t> start;              // Slice
  std::optional<int64_t> end;                // Slice
  int64_t step = 1;                          // Slice
  std::shared_ptr<const FilterExpr> filter;  // Filter
};

struct CompiledPath {
  std::string text;  ///< as written
  Root root = Root::Input;
  std::string variable;  ///< Root::Variable: the name after "$"
  std::vector<Segment> segments;
  bool definite = true;   ///< identifies at most one node (Jayway's definition)
  bool reference = true;  ///< satisfies the Reference Path restrictions
};

/// Parses `text`. Failure: Error{"States.Runtime", why}.
Result<CompiledPath> compile_path(std::string_view text);

struct Lookup {
  bool found = false;     ///< definite path: the node exists; indefinite: always true
  Json value;             ///< the node, or the list of matches of an indefinite path
  std::string detail;     ///< when !found, why (Jayway's wording, e.g. "No results for path: $['a']")
  bool past_end = false;  ///< found, but as null because the last index is past the end of its array
};

/// Evaluates `path` (its segments) against `doc`.
Lookup lookup(const CompiledPath& path, const Json& doc);

/// The document a path starts from, or null when the scope has none
/// (no context object, or an unknown variable).
const Json* root_document(const CompiledPath& path, const Scope& scope);

/// Compact JSON text, as AWS prints values in causes; never throws on bad UTF-8
/// and never recurses deeper than a few thousand levels.
std::string to_text(const Json& value);

/// Levels of arrays/objects (0 for a scalar), computed without recursion.
size_t nesting_depth(const Json& value);

/// Appends `cp` to `out` as UTF-8.
void append_utf8(std::string& out, uint32_t cp);

/// Decodes UTF-8 into code points; invalid bytes become U+FFFD.
std::vector<uint32_t> code_points(std::string_view text);

/// Java's String.compareTo (UTF-16 code unit order), which Step Functions uses.
int compare_utf16(std::string_view a, std::string_view b);

/// "null", "object", "array", "string", "boolean" or "number": for error messages.
const char* json_type_name(const Json& v);

}  // namespace switchyard::asl::detail
