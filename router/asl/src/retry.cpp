#include "retry.hpp"

#include <algorithm>
#include <cmath>

namespace switchyard::asl {

bool is_terminal_error(std::string_view error) {
  return error == "States.Runtime" || error == "States.DataLimitExceeded";
}

static bool is_timeout(std::string_view error) {
  return error == "States.Timeout" || error == "States.HeartbeatTimeout";
}

bool error_matches(const std::vector<std::string>& error_equals, std::string_view error) {
  if (is_terminal_error(error)) {
    return false;
  }
  for (const auto& name : error_equals) {
    if (name == error || name == "States.ALL") {
      return true;
    }
    // AWS: "States.TaskFailed ... matches any known error name except for States.Timeout".
    if (name == "States.TaskFailed" && !is_timeout(error)) {
      return true;
    }
    // A missed heartbeat is a timeout of the task too.
    if (name == "States.Timeout" && error == "States.HeartbeatTimeout") {
      return true;
    }
  }
  return false;
}

int64_t retry_delay_ms(const Retrier& r, int attempts_done, const std::function<uint64_t()>& random) {
  double seconds = static_cast<double>(r.interval_seconds) * std::pow(r.backoff_rate, attempts_done);
  if (r.max_delay_seconds) {
    seconds = std::min(seconds, static_cast<double>(*r.max_delay_seconds));
  }
  // The cap keeps absurd BackoffRate^n from overflowing int64 milliseconds.
  constexpr double kMaxSeconds = 99999999.0 * 4;
  seconds = std::min(seconds, kMaxSeconds);
  if (r.full_jitter) {
    // 53 random bits give a uniform double in [0, 1]; without a source there is no jitter.
    double u = 1.0;
    if (random) {
      u = static_cast<double>(random() >> 11) / static_cast<double>((uint64_t{1} << 53) - 1);
    }
    seconds *= u;
  }
  return std::llround(seconds * 1000.0);
}

std::optional<RetryPlan> plan_retry(const std::vector<Retrier>& retriers, const std::vector<int>& used,
                                    std::string_view error, const std::function<uint64_t()>& random) {
  for (size_t i = 0; i < retriers.size(); ++i) {
    if (!error_matches(retriers[i].error_equals, error)) {
      continue;
    }
    int done = i < used.size() ? used[i] : 0;
    if (done >= retriers[i].max_attempts) {
      return std::nullopt;  // the first matching retrier decides, even when exhausted
    }
    return RetryPlan{i, retry_delay_ms(retriers[i], done, random)};
  }
  return std::nullopt;
}

const Catcher* find_catcher(const std::vector<Catcher>& catchers, std::string_view error) {
  for (const auto& c : catchers) {
    if (error_matches(c.error_equals, error)) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace switchyard::asl
