#pragma once
/// What a path, payload template, intrinsic or Choice rule is evaluated against.
#include <cstdint>
#include <functional>

#include "switchyard/asl/json.hpp"

namespace switchyard::asl {

struct Scope {
  const Json& input;                ///< "$" : the data being processed
  const Json* context = nullptr;    ///< "$$": the context object, if available
  const Json* variables = nullptr;  ///< "$name": the variables visible here (an object), if any
  /// Source of randomness for States.MathRandom and States.UUID (injected so
  /// evaluation stays a pure function in tests). Null: those intrinsics fail.
  const std::function<uint64_t()>* random = nullptr;
};

}  // namespace switchyard::asl
