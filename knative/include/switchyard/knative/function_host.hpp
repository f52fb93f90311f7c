#pragma once
/// Function resolution (a Task's `fn:<name>` -> where to send the call) and
/// the local function host, which emulates Knative's scale-to-zero on a
/// laptop: it starts a function's process on the first call, keeps it while
/// calls arrive, starts more when all are busy, and stops it after an idle
/// period (DESIGN.md §4).
///
/// Resource-string parsing (`fn:`, `arn:aws:lambda:…`) belongs to the router;
/// this layer only knows function names.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/common/result.hpp"
#include "switchyard/http/client.hpp"

namespace switchyard::knative {

/// How to run one local function (one entry of functions.yaml).
struct FunctionSpec {
  /// argv; started with PORT=<free port> in its environment. Relative paths
  /// containing a '/' were resolved against the functions file's directory;
  /// a bare name ("python3") is looked up in PATH.
  std::vector<std::string> command;
  std::map<std::string, std::string> env;  ///< added to (and overriding) the host's environment
  int concurrency = 8;                     ///< calls in flight per process
  int idle_timeout_seconds = 60;           ///< stop a process after this long without calls; 0 = never
  /// Scale-out: when every process has `concurrency` calls in flight, another
  /// process is started, up to this many; beyond that calls wait for a slot.
  int max_processes = 4;
};

/// Reads functions.yaml:
///
///     functions:
///       <name>:
///         command: ["./build/examples/functions/echo", "--flag"]  # or one string (no shell splitting)
///         env: {KEY: value}
///         concurrency: 8
///         idleTimeoutSeconds: 60
///         maxProcesses: 4
///
/// Relative command paths (containing a '/') resolve against the directory of
/// the file, so the file can live at the project root and name build outputs.
/// Unknown keys are errors (they are usually typos). Throws std::runtime_error
/// whose message starts with "<file>:<line>:<column>:" and names the field.
std::map<std::string, FunctionSpec> load_functions_file(const std::filesystem::path& file);

/// The local function host could not provide a process (unknown function,
/// start failure, no free slot within the timeout, shut down).
class FunctionHostError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
struct FunctionInstance;
}

/// One call's claim on a running function process: holds one of its
/// `concurrency` slots until destroyed (or release()d). Move-only.
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  /// "http://127.0.0.1:<port>/": where the process listens.
  http::Url url;

  explicit operator bool() const { return instance_ != nullptr; }
  /// The process id serving this lease (for logs and tests); -1 when empty.
  int pid() const;
  /// Gives the slot back now (idempotent).
  void release();

 private:
  friend class LocalFunctionHost;
  std::shared_ptr<detail::FunctionInstance> instance_;
};

struct HostOptions {
  std::chrono::seconds startup_limit{60};         ///< a process that does not listen within this is killed as broken
  std::chrono::milliseconds stop_grace{5000};     ///< SIGTERM, then SIGKILL after this long
  std::chrono::milliseconds check_interval{100};  ///< how often exits and idle processes are noticed
};

/// One running process, for observability.
struct InstanceStatus {
  std::string function;
  int pid = 0;
  int port = 0;
  int in_flight = 0;
  std::string state;  ///< "starting", "ready", "stopping"
  std::filesystem::path log_file;
};

/// Calls waiting for a local function, for observability and tests.
struct HostStats {
  size_t waiting = 0;    ///< acquire() calls waiting for a free slot now
  uint64_t wakeups = 0;  ///< waiting calls woken so far (one per freed slot, all at state changes)
};

/// Spawns and supervises function processes on 127.0.0.1.
///
/// Children get their own process group (signals reach their own children),
/// PR_SET_PDEATHSIG=SIGTERM (they do not outlive a crashed host), stdin from
/// /dev/null and stdout+stderr appended to `<log_dir>/<name>-<n>.log`. Exits
/// are noticed by polling waitpid(pid, WNOHANG) for our own pids every
/// check_interval (never waitpid(-1), so other children of the process are
/// left alone); a crashed process is replaced on the next call. Single-threaded
/// use on the executor's io_context.
class LocalFunctionHost {
 public:
  /// Throws std::invalid_argument for an invalid spec (empty command, concurrency < 1, ...).
  LocalFunctionHost(boost::asio::any_io_executor ex, std::map<std::string, FunctionSpec> specs,
                    std::filesystem::path log_dir, HostOptions options = {});
  /// shutdown().
  ~LocalFunctionHost();
  LocalFunctionHost(const LocalFunctionHost&) = delete;
  LocalFunctionHost& operator=(const LocalFunctionHost&) = delete;

  bool has(std::string_view name) const;

  /// A slot on a ready process of `name`: reuses a running process with a free
  /// slot, else starts one (up to max_processes) and waits until it accepts
  /// TCP connections (a cold start), else waits for a slot. Everything is
  /// bounded by `timeout`. Throws FunctionHostError.
  boost::asio::awaitable<Lease> acquire(std::string_view name, std::chrono::milliseconds timeout);

  /// Stops every process (SIGTERM to its group, SIGKILL after stop_grace) and
  /// reaps it. Blocks the calling thread for at most about stop_grace.
  /// Later acquire() calls throw. Idempotent.
  void shutdown();

  std::vector<InstanceStatus> status() const;
  HostStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// Where a function call goes.
struct Target {
  std::string local_function;  ///< set when the local function host serves it (url is then per call, from the Lease)
  http::Url url;               ///< otherwise: the function's URL
};

/// Resolves function names: the local function host first, then the URL template.
class Resolver {
 public:
  /// `host` may be null (no local functions). The template must be an http://
  /// URL containing "{name}"; "{namespace}" is optional. Throws std::invalid_argument.
  explicit Resolver(const LocalFunctionHost* host,
                    std::string url_template = "http://{name}.{namespace}.svc.cluster.local",
                    std::string ns = "default");

  /// Error "States.Runtime" for a name that cannot be a service name (empty,
  /// longer than 63 characters, or characters other than letters, digits, '-' and '_').
  Result<Target> resolve_function(std::string_view name) const;

 private:
  const LocalFunctionHost* host_;
  std::string template_;
  std::string namespace_;
};

}  // namespace switchyard::knative
