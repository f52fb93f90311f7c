#pragma once
// Function names: they become Knative Service names (DNS labels) and log file names.
#include <string_view>

namespace switchyard::knative::detail {

/// 1..63 characters of letters, digits, '-' and '_'.
inline bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace switchyard::knative::detail
