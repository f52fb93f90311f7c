// Placeholder until the intrinsic functions land (next commit): recognises
// calls so payload templates route them here, evaluates none.
#include "switchyard/asl/intrinsics.hpp"

namespace switchyard::asl {

bool is_intrinsic(std::string_view text) { return text.starts_with("States."); }

bool validate_intrinsic(std::string_view text, std::string* why) {
  (void)text;
  (void)why;
  return true;
}

Result<Json> evaluate_intrinsic(std::string_view text, const Scope& scope) {
  (void)scope;
  return Error{"States.Runtime", "The function '" + std::string(text) + "' is not implemented yet"};
}

}  // namespace switchyard::asl
