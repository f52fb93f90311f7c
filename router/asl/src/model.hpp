#pragma once
/// The pre-parsed form of a definition: every machine (top level and nested),
/// its states by name, and each state's fields already type-checked, so the
/// interpreter never re-validates JSON. Built once by parse_definition().
/// Json pointers held here point into DefinitionImpl::document, which is
/// immutable and owned by the same object.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/asl/definition.hpp"
#include "switchyard/asl/json.hpp"

namespace switchyard::asl {

enum class StateType { Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map };

/// The state type as ASL spells it ("Pass", ...): in events and error messages.
inline std::string_view type_name(StateType t) {
  switch (t) {
    case StateType::Pass:
      return "Pass";
    case StateType::Task:
      return "Task";
    case StateType::Choice:
      return "Choice";
    case StateType::Wait:
      return "Wait";
    case StateType::Succeed:
      return "Succeed";
    case StateType::Fail:
      return "Fail";
    case StateType::Parallel:
      return "Parallel";
    case StateType::Map:
      return "Map";
  }
  return "?";
}

/// An optional path field that distinguishes "absent" from an explicit null.
struct PathField {
  enum class Kind { Absent, Null, Value };
  Kind kind = Kind::Absent;
  std::string path;
  bool absent() const { return kind == Kind::Absent; }
  bool null() const { return kind == Kind::Null; }
};

struct Retrier {
  std::vector<std::string> error_equals;
  int64_t interval_seconds = 1;
  int64_t max_attempts = 3;
  double backoff_rate = 2.0;
  std::optional<int64_t> max_delay_seconds;
  bool full_jitter = false;
};

struct Catcher {
  std::vector<std::string> error_equals;
  std::string next;
  PathField result_path;  ///< absent means "$"
  const Json* assign = nullptr;
};

/// How a Task's Resource shows in history (AWS names it per integration).
struct ResourceInfo {
  std::string resource_type;  ///< "lambda", "http", "fn", ...
  std::string resource;       ///< "invoke", the function name, the URL, ...
  std::string region;
  bool legacy_lambda = false;   ///< "arn:aws:lambda:...:function:x": LambdaFunction* events
  bool wait_for_token = false;  ///< ".waitForTaskToken"
  std::string integration;      ///< "lambda", "http", "aws-sdk:s3" for "arn:aws:states:::..." resources
  std::string action;           ///< "invoke", ... (without the suffix)
};

/// How Step Functions names a Task resource in history; `problems` (if given)
/// receives why the resource is not supported.
ResourceInfo describe_resource(const std::string& resource, std::vector<std::string>* problems = nullptr);

struct StateDef {
  std::string name;
  std::string pointer;  ///< JSON pointer of the state in the document
  StateType type = StateType::Pass;
  std::string next;  ///< empty when end
  bool end = false;
  PathField input_path;
  PathField output_path;
  PathField result_path;
  const Json* parameters = nullptr;
  const Json* result_selector = nullptr;
  const Json* result = nullptr;  ///< Pass
  const Json* assign = nullptr;
  /// Whether the state's JSON mentions "$$" anywhere; when not, nothing in it can
  /// read the context object, and the interpreter does not build one (a copy of
  /// the execution input and a timestamp per use).
  bool uses_context = true;
  std::vector<Retrier> retry;
  std::vector<Catcher> catchers;

  // Task
  std::string resource;
  ResourceInfo resource_info;
  bool wait_for_token = false;
  std::optional<int64_t> timeout_seconds;
  std::string timeout_seconds_path;
  std::optional<int64_t> heartbeat_seconds;
  std::string heartbeat_seconds_path;

  // Choice
  const Json* choices = nullptr;
  std::string default_next;

  // Wait
  std::optional<int64_t> seconds;
  std::optional<int64_t> timestamp_ms;
  std::string seconds_path;
  std::string timestamp_path;

  // Fail
  std::optional<std::string> error;
  std::optional<std::string> cause;
  std::string error_path;
  std::string cause_path;

  // Parallel: machine pointers of the branches
  std::vector<std::string> branches;

  // Map
  std::string processor;  ///< machine pointer of ItemProcessor / Iterator
  PathField items_path;
  const Json* item_selector = nullptr;  ///< ItemSelector, or the legacy Parameters
  std::optional<int64_t> max_concurrency;
  std::string max_concurrency_path;
  std::optional<int64_t> tolerated_failure_count;
  std::string tolerated_failure_count_path;
  std::optional<double> tolerated_failure_percentage;
  std::string tolerated_failure_percentage_path;
};

struct Machine {
  std::string pointer;
  std::string start_at;
  std::map<std::string, StateDef, std::less<>> states;
};

struct DefinitionImpl {
  Json document;
  std::optional<int64_t> timeout_ms;
  std::map<std::string, Machine, std::less<>> machines;  ///< "" is the top level
};

/// JSON pointer token escaping (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string pointer_token(std::string_view token);

/// Builds (and validates) the model; adds every problem to `out`.
void build_definition(DefinitionImpl& impl, Problems& out);

// ---- time helpers (no clock: pure conversions) ----------------------------

/// RFC 3339 UTC with milliseconds, e.g. "2024-01-02T03:04:05.678Z".
std::string format_rfc3339_ms(int64_t epoch_ms);
/// Parses an RFC 3339 timestamp as ASL requires it (uppercase T, Z or a numeric offset).
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace switchyard::asl
