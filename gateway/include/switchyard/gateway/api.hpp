#pragma once
/// The native REST API (DESIGN.md §3): routes requests to the execution
/// service and the stores, and turns outcomes into JSON responses with the
/// right status codes. Stateless: any number of gateways can serve one Redis.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "switchyard/http/message.hpp"
#include "switchyard/router/execution_service.hpp"

namespace switchyard::gateway {

struct GatewayOptions {
  std::chrono::seconds max_wait{300};  ///< ?wait=true waits this long at most (bounded request time)
  int64_t max_page = 1000;             ///< list pages are at most this long
};

class Api {
 public:
  Api(router::ExecutionService& service, store::StateMachineStore& state_machines, GatewayOptions options)
      : service_(service), state_machines_(state_machines), options_(options) {}

  /// Handles one request; never throws for bad input (I/O failures become 503).
  boost::asio::awaitable<http::Response> handle(http::Request& req);

  /// Marks readiness (Redis connected and router started).
  void set_ready(bool ready) { ready_ = ready; }

 private:
  boost::asio::awaitable<http::Response> route(http::Request& req);
  boost::asio::awaitable<http::Response> put_state_machine(const std::string& name, http::Request& req);
  boost::asio::awaitable<http::Response> get_state_machine(const std::string& name);
  boost::asio::awaitable<http::Response> list_state_machines(http::Request& req);
  boost::asio::awaitable<http::Response> start_execution(const std::string& name, http::Request& req);
  boost::asio::awaitable<http::Response> list_executions(http::Request& req);
  boost::asio::awaitable<http::Response> history(const std::string& id, http::Request& req);

  router::ExecutionService& service_;
  store::StateMachineStore& state_machines_;
  GatewayOptions options_;
  bool ready_ = false;
};

/// {"error": code, "message": message} with the given status.
http::Response error_response(int status, const std::string& code, const std::string& message);
/// A JSON response.
http::Response json_response(int status, const Json& body);

}  // namespace switchyard::gateway
