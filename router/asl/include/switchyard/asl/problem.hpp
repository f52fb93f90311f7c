#pragma once
#include <string>
#include <vector>

namespace switchyard::asl {

/// One validation problem: the JSON pointer of the offending field (RFC 6901,
/// e.g. "/States/A/Next") and a sentence a person understands.
struct Problem {
  std::string path;
  std::string message;
  bool operator==(const Problem&) const = default;
};

using Problems = std::vector<Problem>;

}  // namespace switchyard::asl
