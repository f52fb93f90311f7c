#pragma once
/// A parsed, validated state machine. Immutable once built and shared between
/// every execution of a revision (shared_ptr<const Definition>).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/asl/json.hpp"
#include "switchyard/asl/problem.hpp"

namespace switchyard::asl {

struct DefinitionImpl;  // parsed states; private to the engine

class Definition {
 public:
  explicit Definition(std::unique_ptr<const DefinitionImpl> impl);
  ~Definition();
  Definition(const Definition&) = delete;
  Definition& operator=(const Definition&) = delete;

  /// The ASL document as given (JSON; YAML is converted before parsing).
  const Json& document() const;
  /// The state machine's TimeoutSeconds, in milliseconds.
  std::optional<int64_t> timeout_ms() const;
  /// True when `machine` is "" (the top level) or the JSON pointer of a nested
  /// machine: "/States/P/Branches/0", "/States/M/ItemProcessor" (or ".../Iterator").
  bool has_machine(std::string_view machine) const;

  const DefinitionImpl& impl() const { return *impl_; }

 private:
  std::unique_ptr<const DefinitionImpl> impl_;
};

struct ParseResult {
  std::shared_ptr<const Definition> definition;  ///< set when problems is empty
  Problems problems;                             ///< every problem found, not just the first
  bool ok() const { return problems.empty(); }
};

/// Validates against every rule of the ASL specification and builds the
/// definition. Never throws for bad input: every problem is reported.
ParseResult parse_definition(const Json& document);

/// What an EXPRESS state machine cannot run (Step Functions refuses it at creation):
/// ".waitForTaskToken" Tasks. Empty when the definition fits EXPRESS.
Problems express_problems(const Definition& definition);

}  // namespace switchyard::asl
