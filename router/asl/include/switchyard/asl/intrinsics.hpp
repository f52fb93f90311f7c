#pragma once
/// The 18 intrinsic functions (States.Format ... States.UUID), nested calls,
/// arguments that are literals, paths or other intrinsics, AWS's argument rules.
#include <string>
#include <string_view>

#include "switchyard/asl/scope.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::asl {

/// True when the text looks like an intrinsic call ("States.Xxx(...)").
bool is_intrinsic(std::string_view text);

/// Full syntax check (known function, arity where fixed, balanced, valid paths).
bool validate_intrinsic(std::string_view text, std::string* why = nullptr);

/// Evaluates. Any failure is Error{"States.Runtime", cause}, as Step Functions
/// reports it (not the spec's States.IntrinsicFailure), with AWS's cause:
/// "The function 'States.MathAdd($.a, 1)' had the following error: Invalid
/// arguments in States.MathAdd". Scope::random feeds MathRandom and UUID.
Result<Json> evaluate_intrinsic(std::string_view text, const Scope& scope);

}  // namespace switchyard::asl
