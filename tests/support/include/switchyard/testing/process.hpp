#pragma once
/// Real processes for tests: a child process that is killed (and reaped) when
/// the handle goes away, a free loopback port, a temp dir, a tiny sync HTTP
/// client for test assertions, and a real redis-server on a unix socket.
#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::testing {

/// A temp directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A spawned child process. Its stdout+stderr go to `log_file` (or are inherited).
class Process {
 public:
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
          std::filesystem::path log_file = {});
  ~Process();  ///< SIGKILL + reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  /// Sends a signal.
  void signal(int sig) const;
  /// Waits up to `timeout` for exit; the exit status (as from waitpid) or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  /// The log file's contents so far (for failure messages).
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_file_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

/// Runs `cmd` through the shell and returns its standard output ("" when it cannot start).
std::string run_capture(const std::string& cmd);

/// Polls `pred` every 10 ms until it is true or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

struct HttpResult {
  int status = 0;  ///< 0 when no response
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
};

/// Blocking HTTP/1.1 request to 127.0.0.1:port (test-only; one connection per call).
HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body = "",
                        const std::map<std::string, std::string>& headers = {},
                        std::chrono::milliseconds timeout = std::chrono::milliseconds{30000});

/// A real redis-server on a unix socket in a temp dir (no TCP, no persistence).
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  const std::string& socket() const { return socket_; }
  /// "unix://<socket>"
  std::string url() const { return "unix://" + socket_; }
  /// Runs redis-cli against it and returns stdout (for assertions).
  std::string cli(const std::string& args) const;
  /// Kills the server (SIGKILL) and reaps it, as a crash would; the socket path stays.
  void kill();
  /// Starts the server again on the same socket (after kill()); throws if it does not come up.
  void start();

 private:
  TempDir dir_;
  std::string socket_;
  std::unique_ptr<Process> process_;
};

}  // namespace switchyard::testing
