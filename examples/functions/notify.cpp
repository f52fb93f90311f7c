// notify: tells a person that a step waits for them, the local stand-in for an e-mail or a chat message.
// Called as "fn:notify.waitForTaskToken", it writes the message and the commands that approve or reject
// the step to its log (<data-dir>/functions/notify-<n>.log; stderr when run by hand) and answers at once;
// the step then waits until someone runs one of the commands. Input: {"message": "...",
// "taskToken": "$$.Task.Token"} (default: the Switchyard-Task-Token header).
#include <cstdio>
#include <string>

#include "switchyard/function/function.hpp"

namespace fn = switchyard::function;

int main() {
  return fn::serve([](const fn::Call& call) -> fn::Json {
    const fn::Json in = call.input.is_object() ? call.input : fn::Json::object();
    std::string token = in.value("taskToken", call.task_token);
    if (token.empty()) {
      throw fn::Failure("Notify.NoTaskToken", "call notify with a .waitForTaskToken resource");
    }
    std::string message = in.contains("message")
                              ? (in["message"].is_string() ? in["message"].get<std::string>() : in["message"].dump())
                              : std::string("a step waits for you");
    std::fprintf(stderr,
                 "notify: execution %s, state %s: %s\n"
                 "  approve: switchyard task success %s --output '{\"approved\": true}'\n"
                 "  reject:  switchyard task failure %s --error Rejected --cause 'why'\n",
                 call.execution.c_str(), call.state.c_str(), message.c_str(), token.c_str(), token.c_str());
    std::fflush(stderr);
    return {{"notified", true}};
  });
}
