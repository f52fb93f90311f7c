#include "switchyard/testing/switchyard.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

namespace switchyard::testing {

std::string example_functions_yaml(int idle) {
  std::string dir = std::string(SWITCHYARD_BUILD_DIR) + "/examples/functions/";
  std::string out = "functions:\n";
  for (const char* f : {"echo", "greet", "flaky"}) {
    out += std::string("  ") + f + ":\n    command: [\"" + dir + f + "\"]\n    concurrency: 32\n" +
           "    idleTimeoutSeconds: " + std::to_string(idle) + "\n";
  }
  return out;
}

SwitchyardServer::SwitchyardServer(ServeOptions options) {
  data_dir_ = dir_.path() / "data";
  port_ = free_port();
  std::vector<std::string> argv{SWITCHYARD_BINARY, "serve",           "--listen", "127.0.0.1:" + std::to_string(port_),
                                "--data-dir",      data_dir_.string()};
  if (!options.functions_yaml.empty()) {
    auto f = dir_.path() / "functions.yaml";
    std::ofstream(f) << options.functions_yaml;
    argv.emplace_back("--functions");
    argv.push_back(f.string());
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  process_ = std::make_unique<Process>(argv, options.env, dir_.path() / "serve.log");
  if (options.gateway) {
    bool ready = wait_until([&] { return !process_->running() || http_request(port_, "GET", "/readyz").status == 200; },
                            std::chrono::seconds{30});
    if (!ready || !process_->running()) {
      throw std::runtime_error("switchyard serve did not become ready:\n" + process_->log());
    }
  }
}

SwitchyardServer::~SwitchyardServer() {
  if (process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait(std::chrono::seconds{15})) {
      process_->signal(SIGKILL);
      process_->wait(std::chrono::seconds{5});
    }
  }
}

HttpResult SwitchyardServer::request(const std::string& method, const std::string& target, const std::string& body,
                                     const std::map<std::string, std::string>& headers) {
  return http_request(port_, method, target, body, headers);
}

void SwitchyardServer::deploy(const std::string& name, const std::string& definition_json, const std::string& type) {
  std::string body = "{\"type\":\"" + type + "\",\"definition\":" + definition_json + "}";
  auto r = request("PUT", "/v1/state-machines/" + name, body);
  ASSERT_TRUE(r.status == 200 || r.status == 201) << r.status << " " << r.body;
}

CliResult run_cli(int port, std::vector<std::string> args) {
  TempDir dir;
  std::vector<std::string> argv{SWITCHYARD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.emplace_back("--server");
  argv.push_back("http://127.0.0.1:" + std::to_string(port));
  Process p(argv, {}, dir.path() / "cli.log");
  auto st = p.wait(std::chrono::seconds{30});
  CliResult r;
  r.exit_code = st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  r.output = p.log();
  return r;
}

}  // namespace switchyard::testing
