#pragma once
/// Payload templates (Parameters, ResultSelector, ItemSelector, Arguments-free
/// JSONPath flavour): keys ending in ".$" take a path or an intrinsic.
#include <string>

#include "switchyard/asl/problem.hpp"
#include "switchyard/asl/scope.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::asl {

/// Evaluates a template. Every failure is States.Runtime, as Step Functions
/// reports it (the spec's States.ParameterPathFailure / IntrinsicFailure are not
/// what AWS raises), with AWS's cause, e.g. "The JSONPath '$.x' specified for the
/// field 'x.$' could not be found in the input '{...}'". The caller prefixes
/// "An error occurred while executing the state ...".
Result<Json> evaluate_payload(const Json& tmpl, const Scope& scope);

/// Adds a Problem for every ".$" value that is not a valid path or intrinsic.
/// `pointer` is the JSON pointer of `tmpl` in the definition.
void validate_payload(const Json& tmpl, const std::string& pointer, Problems& out);

}  // namespace switchyard::asl
