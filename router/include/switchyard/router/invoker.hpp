#pragma once
/// Calls the function behind a Task's Resource (DESIGN.md §4): resolves
/// fn:/http(s)/Lambda-style resources, sends the protocol headers, retries
/// cold starts (502/503/504, refused, reset) inside a budget without counting
/// them against Retry, and maps the answer to a result or a step error.
///
/// Idempotency-Key is "<execution>/<run>/<state>/<entered ms>/<attempt>": the
/// same on every redelivery and cold-start retry of one attempt, new for each
/// Retry attempt (so a function that dedupes by key still lets Retry work).
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "switchyard/asl/interpreter.hpp"
#include "switchyard/common/result.hpp"
#include "switchyard/http/client.hpp"
#include "switchyard/knative/function_host.hpp"
#include "switchyard/router/options.hpp"

namespace switchyard::router {

struct CallMeta {
  std::string execution;
  std::string state_machine;
  std::string state;
  std::string idempotency_key;
  int attempt = 0;
};

/// What a resource string names.
struct ResourceTarget {
  enum class Kind { Function, Url, LambdaFunction, LambdaInvoke, HttpInvoke, Unsupported } kind = Kind::Unsupported;
  std::string name;  ///< function name or URL
};
ResourceTarget parse_resource(std::string_view resource);

class Invoker {
 public:
  Invoker(http::Client& client, const knative::Resolver& resolver, knative::LocalFunctionHost* host,
          const RouterOptions& options)
      : client_(client), resolver_(resolver), host_(host), options_(options) {}

  /// Performs the call. Expected failures (error answers, timeouts) are values.
  boost::asio::awaitable<Result<Json>> call(const asl::InvokeTask& task, const CallMeta& meta);

 private:
  boost::asio::awaitable<Result<http::Response>> send(const std::string& function, const std::string& url,
                                                      http::Request req, std::chrono::milliseconds timeout);

  http::Client& client_;
  const knative::Resolver& resolver_;
  knative::LocalFunctionHost* host_;
  const RouterOptions& options_;
};

}  // namespace switchyard::router
