#pragma once
/// Error matching and retry policy (Retry/Catch), as Step Functions applies them.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "model.hpp"

namespace switchyard::asl {

/// States.Runtime and States.DataLimitExceeded end the execution: no Retrier
/// or Catcher (not even States.ALL or the error's own name) handles them.
bool is_terminal_error(std::string_view error);

/// ErrorEquals matching: the name itself, States.ALL (anything), States.TaskFailed
/// (anything but a timeout), States.Timeout (also a heartbeat timeout).
bool error_matches(const std::vector<std::string>& error_equals, std::string_view error);

/// The wait before the next attempt of `r` when it has been used `attempts_done`
/// times: IntervalSeconds * BackoffRate^attempts_done, capped at MaxDelaySeconds,
/// then with JitterStrategy FULL a uniform random value in [0, delay].
int64_t retry_delay_ms(const Retrier& r, int attempts_done, const std::function<uint64_t()>& random);

struct RetryPlan {
  size_t retrier = 0;  ///< index into the state's Retry
  int64_t delay_ms = 0;
};

/// The first Retrier whose ErrorEquals matches decides: a retry when it still has
/// attempts left (per-retrier counters in `used`), nullopt when it is exhausted,
/// when none matches, or when the error is terminal.
std::optional<RetryPlan> plan_retry(const std::vector<Retrier>& retriers, const std::vector<int>& used,
                                    std::string_view error, const std::function<uint64_t()>& random);

/// The first Catcher that matches, or null.
const Catcher* find_catcher(const std::vector<Catcher>& catchers, std::string_view error);

}  // namespace switchyard::asl
