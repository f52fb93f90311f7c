#pragma once
/// Choice rules: comparisons, type tests, And/Or/Not, evaluated against a scope.
#include <string>

#include "switchyard/asl/problem.hpp"
#include "switchyard/asl/scope.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::asl {

/// True when the rule matches. A Variable path that does not resolve is
/// States.Runtime (except under IsPresent), as in Step Functions.
Result<bool> evaluate_choice_rule(const Json& rule, const Scope& scope);

/// Validates a rule. Top-level rules (directly in "Choices") must have "Next";
/// nested rules must not. `pointer` is the rule's JSON pointer.
void validate_choice_rule(const Json& rule, const std::string& pointer, bool top_level, Problems& out);

}  // namespace switchyard::asl
