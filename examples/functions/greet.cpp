// greet: {"name": "Ada"} -> {"greeting": "Hello, Ada!", "length": 3}. A missing or non-string
// name fails the step with the error "InvalidName" (match it in Retry/Catch). "length" counts
// Unicode code points, not bytes.
#include <string>

#include "switchyard/function/function.hpp"

namespace fn = switchyard::function;

namespace {

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0U) != 0x80U ? 1 : 0;  // count every byte that is not a continuation byte
  }
  return n;
}

}  // namespace

int main() {
  return fn::serve([](const fn::Call& call) -> fn::Json {
    if (!call.input.is_object() || !call.input.contains("name") || !call.input["name"].is_string()) {
      throw fn::Failure("InvalidName", "input must be an object with a string \"name\"");
    }
    auto name = call.input["name"].get<std::string>();
    return {{"greeting", "Hello, " + name + "!"}, {"length", code_points(name)}};
  });
}
