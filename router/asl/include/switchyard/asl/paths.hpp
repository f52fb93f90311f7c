#pragma once
/// JSONPath as ASL uses it: Paths ("$.a[*].b", filters, slices) and Reference
/// Paths (a single node: "$.a.b[0]", "$['x y']"), rooted at "$" (input),
/// "$$" (context object) or "$name" (a variable).
#include <string>
#include <string_view>

#include "switchyard/asl/scope.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::asl {

enum class PathKind {
  Reference,  ///< must identify a single node: no wildcards, filters, slices, unions, "..".
  Path,       ///< full JSONPath; the result is a list where the path is indefinite.
};

/// Syntax check; on failure *why (if given) says what is wrong.
bool is_valid_path(std::string_view path, PathKind kind, std::string* why = nullptr);

/// Evaluates a path. Failure (node absent, bad syntax) is Error{"States.Runtime", cause}
/// with AWS's InputPath/OutputPath wording: "Invalid path '$.x' : No results for path: $['x']".
/// An indefinite path yields the list of its matches; an index past the end yields null.
Result<Json> evaluate_path(std::string_view path, const Scope& scope);

/// ResultPath: returns `input` with `result` placed at `path` (a Reference Path
/// on "$"), creating missing objects along the way. "$" replaces the input.
/// Fails with States.ResultPathMatchFailure when the path cannot be applied
/// (e.g. it runs through a non-object).
Result<Json> apply_result_path(Json input, std::string_view path, Json result);

}  // namespace switchyard::asl
