#pragma once
/// Runs the real `switchyard serve` binary on 127.0.0.1 for integration tests.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/testing/process.hpp"

namespace switchyard::testing {

struct ServeOptions {
  std::vector<std::string> extra_args;  ///< e.g. {"--redis", url} or {"--roles", "router"}
  bool gateway = true;                  ///< wait for /readyz on the port
  std::map<std::string, std::string> env;
  std::string functions_yaml;  ///< written to the temp dir and passed as --functions when not empty
};

/// The example functions as a functions.yaml body (echo, greet, flaky from the build dir).
std::string example_functions_yaml(int idle_timeout_seconds = 60);

/// A client verb of the real binary against the server on `port` (bounded: 30 s).
struct CliResult {
  int exit_code = -1;  ///< -1: did not exit in time
  std::string output;  ///< stdout and stderr
};
CliResult run_cli(int port, std::vector<std::string> args);

class SwitchyardServer {
 public:
  /// Starts `switchyard serve` with a fresh data dir (the embedded redis-server unless
  /// options give --redis) and waits until it is ready (bounded: 30 s).
  explicit SwitchyardServer(ServeOptions options = {});
  ~SwitchyardServer();

  int port() const { return port_; }
  Process& process() { return *process_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string log() const { return process_->log(); }

  HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  /// PUT /v1/state-machines/<name> with a raw ASL JSON document; asserts 200/201.
  void deploy(const std::string& name, const std::string& definition_json, const std::string& type = "STANDARD");

 private:
  TempDir dir_;
  std::filesystem::path data_dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace switchyard::testing
