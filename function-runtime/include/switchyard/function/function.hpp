#pragma once
/// The C++ SDK for writing Switchyard functions (Knative runtime contract):
/// listen on $PORT, answer health checks, map thrown errors to the error
/// envelope {"errorType","errorMessage"}, drain on SIGTERM.
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "switchyard/http/message.hpp"

namespace switchyard::function {

using Json = nlohmann::json;

/// Throw this from a handler to fail the step with a named error that
/// Retry/Catch can match (errorType = name).
class Failure : public std::runtime_error {
 public:
  Failure(std::string name, const std::string& message) : std::runtime_error(message), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// What a call carries besides its input (from the protocol headers).
struct Call {
  Json input;
  std::string idempotency_key;
  std::string execution;
  std::string state;
  int attempt = 0;
  std::string task_token;  ///< set for ".waitForTaskToken" Tasks
  const http::Request* request = nullptr;
};

using Handler = std::function<Json(const Call&)>;

/// How serve() answers one request, run synchronously on the calling thread: GET/HEAD of / and
/// /healthz -> 200 (other GET paths 404); POST (any path) -> the handler's result as JSON (200), or
/// the error envelope {"errorType","errorMessage"} with 500 (handler threw) or 400 (errorType
/// "InvalidInput": body is not JSON); other methods -> 405. Exposed so the mapping can be tested
/// and embedded in another server.
http::Response invoke(const Handler& handler, const http::Request& request);

/// Serves `handler` on $SWITCHYARD_FUNCTION_HOST, else $LISTEN_HOST, else 0.0.0.0, port $PORT
/// (default 8080), until SIGTERM/SIGINT; then drains (in-flight calls get up to 10 s) and returns 0.
/// Prints "listening on <port>" to stderr once it accepts connections.
/// Handlers run on a small thread pool so a blocking handler does not stall
/// others. Returns the process exit code.
int serve(Handler handler);

}  // namespace switchyard::function
