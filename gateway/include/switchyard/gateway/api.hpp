#pragma once
/// The native REST API (DESIGN.md §3): routes requests to the execution
/// service and the stores, and turns outcomes into JSON responses with the
/// right status codes. Stateless: any number of gateways can serve one Redis.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "switchyard/gateway/triggers.hpp"
#include "switchyard/http/message.hpp"
#include "switchyard/router/execution_service.hpp"

namespace switchyard::gateway {

/// Auth: when api_token is set (serve --token / SWITCHYARD_TOKEN), every /v1
/// request needs "Authorization: Bearer <token>", except the ones that carry
/// their own credential or must stay reachable: /healthz, /readyz, /metrics,
/// /v1/hooks/* (per-hook auth), /v1/tasks/* (the task token is an unguessable
/// capability for one step) and /v1/events (Knative Eventing delivers without
/// headers of ours: keep it cluster-internal with a NetworkPolicy).
struct GatewayOptions {
  std::string api_token;               ///< empty: auth off (the laptop default)
  std::chrono::seconds max_wait{300};  ///< ?wait=true waits this long at most (bounded request time)
  int64_t max_page = 1000;             ///< list pages are at most this long
};

class Api {
 public:
  Api(router::ExecutionService& service, store::StateMachineStore& state_machines, GatewayOptions options)
      : service_(service),
        state_machines_(state_machines),
        options_(options),
        triggers_(service, state_machines, service.executions().redis()) {}

  /// Handles one request; never throws for bad input (I/O failures become 503).
  boost::asio::awaitable<http::Response> handle(http::Request& req);

  /// Marks readiness (Redis connected and router started).
  void set_ready(bool ready) { ready_ = ready; }

 private:
  bool authorized(const http::Request& req) const;
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
  TriggerEndpoints triggers_;  // POST /v1/hooks/{hook}, POST /v1/events
  bool ready_ = false;
};

/// {"error": code, "message": message} with the given status.
http::Response error_response(int status, const std::string& code, const std::string& message);
/// A JSON response.
http::Response json_response(int status, const Json& body);

}  // namespace switchyard::gateway
