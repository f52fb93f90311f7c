#pragma once
/// YAML -> JSON for ASL documents written in YAML (plain scalars become
/// null/bool/number where YAML 1.2's core schema says so; quoted stay strings).
#include <string_view>

#include "switchyard/asl/json.hpp"
#include "switchyard/common/result.hpp"

namespace switchyard::gateway {

/// Parses YAML (or JSON, a subset) text. Errors carry line and column.
Result<Json> parse_yaml(std::string_view text);

/// Parses a document as JSON, or as YAML when it is not JSON.
Result<Json> parse_json_or_yaml(std::string_view text);

}  // namespace switchyard::gateway
