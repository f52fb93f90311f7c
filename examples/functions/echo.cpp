// echo: returns its input. An object input with "sleepMs" sleeps that long first (capped at
// 10 s), which simulates work for load tests and drain/timeout demos.
#include <algorithm>
#include <chrono>
#include <thread>

#include "switchyard/function/function.hpp"

namespace fn = switchyard::function;

int main() {
  return fn::serve([](const fn::Call& call) -> fn::Json {
    if (call.input.is_object()) {
      auto it = call.input.find("sleepMs");
      if (it != call.input.end() && it->is_number()) {
        // Capped so a typo cannot park a worker thread for hours.
        double ms = std::clamp(it->get<double>(), 0.0, 10000.0);
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long long>(ms * 1000)));
      }
    }
    return call.input;
  });
}
