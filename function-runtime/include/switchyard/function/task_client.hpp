#pragma once
/// Completing a callback step (".waitForTaskToken") from a function, an agent
/// or any other program: a small synchronous client for
/// `POST /v1/tasks/{token}/success|failure|heartbeat` (DESIGN.md §3).
///
/// A function that takes a long job answers the hand-off call at once (the
/// answer only acknowledges it), keeps `Call::task_token`, works in a
/// background thread or hands the token to another process, heartbeats while
/// it works, and finally calls success() or failure(). Every call is blocking,
/// bounded in time, and safe from any thread (each call runs its own
/// io_context and connection; there is no shared state).
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace switchyard::function {

/// Why the server did not take a completion. Nothing changed on the server for
/// every kind except Unavailable after a request that reached it (see below).
class TaskError : public std::runtime_error {
 public:
  enum class Kind {
    Unknown,           ///< 404: no step waits for this token (malformed, never issued, or expired from storage)
    AlreadyCompleted,  ///< 409: the token was already used; a token completes its step once
    Gone,              ///< 410: the step ended without it (timed out, failed) or its execution stopped
    TooLarge,          ///< 413: the output is over the payload limit (256 KiB by default)
    Rejected,          ///< another 4xx (e.g. 400: the body is not accepted)
    Unavailable,       ///< no answer within the retry budget: connection refused, timeout, 5xx
  };
  TaskError(Kind kind, int status, const std::string& what) : std::runtime_error(what), kind_(kind), status_(status) {}
  Kind kind() const { return kind_; }
  /// The HTTP status, 0 when no response arrived.
  int status() const { return status_; }

 private:
  Kind kind_;
  int status_;
};

struct TaskClientOptions {
  /// Bounds one HTTP exchange (connect, write, read): a hung server must not hang the agent.
  std::chrono::milliseconds request_timeout{10000};
  /// Connection refusals, timeouts, resets and 502/503/504 are retried, with
  /// backoff, until this much time has passed since the call began (a
  /// restarting server is back within seconds). 0 = one attempt only.
  std::chrono::milliseconds retry_budget{30000};
  /// Sent as "Authorization: Bearer <token>" when not empty.
  std::string bearer_token;
};

class TaskClient {
 public:
  /// `server_url` is the gateway's base URL, e.g. "http://127.0.0.1:8080"
  /// (http only; a path prefix is kept). Throws std::invalid_argument.
  explicit TaskClient(std::string server_url, TaskClientOptions options = {});

  /// The client for the server that called this function: the URL in
  /// $SWITCHYARD_CALLBACK_URL (the local function host sets it to the
  /// gateway's address; on Kubernetes set it in the Service's env), bearer
  /// token from $SWITCHYARD_TOKEN. Throws std::invalid_argument when unset.
  static TaskClient from_env(TaskClientOptions options = {});

  /// Completes the step with `output` (then ResultSelector/ResultPath/OutputPath apply).
  void success(const std::string& token, const nlohmann::json& output) const;
  /// Fails the step with `error` and `cause` (then Retry and Catch apply).
  void failure(const std::string& token, const std::string& error, const std::string& cause) const;
  /// Pushes the step's HeartbeatSeconds deadline out by another HeartbeatSeconds.
  void heartbeat(const std::string& token) const;

  const std::string& server_url() const { return base_; }

  // All three throw TaskError. A retried success/failure whose earlier attempt
  // reached the server but lost its answer may see AlreadyCompleted for its
  // own completion; the message then says so.

 private:
  void post(const std::string& token, const std::string& kind, const std::string& body) const;

  std::string base_;
  TaskClientOptions options_;
};

}  // namespace switchyard::function
