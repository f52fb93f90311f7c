#pragma once
/// Payload templates (Parameters, ResultSelector, ItemSelector, Arguments-free
/// JSONPath flavour): keys ending in ".$" take a path or an intrinsic.
#include <string>

#include "switchyard/asl/problem.hpp"
#include "switchyard/asl/scope.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::asl {

/// Evaluates a template. A path that does not resolve is
/// States.ParameterPathFailure (AWS's name for it), an intrinsic failure is
/// States.IntrinsicFailure.
Result<Json> evaluate_payload(const Json& tmpl, const Scope& scope);

/// Adds a Problem for every ".$" value that is not a valid path or intrinsic.
/// `pointer` is the JSON pointer of `tmpl` in the definition.
void validate_payload(const Json& tmpl, const std::string& pointer, Problems& out);

}  // namespace switchyard::asl
