// flaky: fails while the call's attempt (Switchyard-Attempt, 0-based) is below "failTimes", with
// the error named by "error" (default "Flaky"); then returns {"attempt": a, "input": input}.
// For Retry/Catch demos and tests: {"failTimes": 2} succeeds on the third attempt.
#include <string>

#include "switchyard/function/function.hpp"

namespace fn = switchyard::function;

int main() {
  return fn::serve([](const fn::Call& call) -> fn::Json {
    long long fail_times = 0;
    std::string error = "Flaky";
    if (call.input.is_object()) {
      if (auto it = call.input.find("failTimes"); it != call.input.end() && it->is_number()) {
        fail_times = it->get<long long>();
      }
      if (auto it = call.input.find("error"); it != call.input.end() && it->is_string()) {
        error = it->get<std::string>();
      }
    }
    if (call.attempt < fail_times) {
      throw fn::Failure(error, "attempt " + std::to_string(call.attempt) + " fails on purpose (failTimes " +
                                   std::to_string(fail_times) + ")");
    }
    return {{"attempt", call.attempt}, {"input", call.input}};
  });
}
