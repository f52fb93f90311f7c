#include "switchyard/testing/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace switchyard::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "sy-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env, fs::path log_file)
    : log_file_(std::move(log_file)) {
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    // New process group, so a test's kill reaches the child's own children.
    setpgid(0, 0);
    for (const auto& [k, v] : env) {
      setenv(k.c_str(), v.c_str(), 1);
    }
    if (!log_file_.empty()) {
      int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
    }
    std::vector<char*> args;
    for (auto& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (running()) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds{5000});
  }
}

void Process::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) {
    return status_;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      return status_;
    }
    if (r < 0 || std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

bool Process::running() { return pid_ > 0 && !wait(std::chrono::milliseconds{0}); }

std::string Process::log() const {
  std::ifstream in(log_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return pred();
}

namespace {

// Reads until the peer closes or the deadline passes.
bool read_all(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  char buf[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      return true;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

}  // namespace

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResult result;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return result;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_ct = has_ct || lower(k) == "content-type";
  }
  if (!has_ct && !body.empty()) {
    req += "Content-Type: application/json\r\n";
  }
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::write(fd, req.data() + off, req.size() - off);
    if (n <= 0) {
      break;  // the server may answer (e.g. 413) before reading everything
    }
    off += static_cast<size_t>(n);
  }
  std::string raw;
  read_all(fd, raw, std::chrono::steady_clock::now() + timeout);
  close(fd);
  auto head_end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || head_end == std::string::npos) {
    return result;
  }
  result.status = std::atoi(raw.substr(9, 3).c_str());
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ')) {
        v.erase(0, 1);
      }
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) {
        v.pop_back();
      }
      result.headers[lower(line.substr(0, colon))] = v;
    }
  }
  std::string rest = raw.substr(head_end + 4);
  if (lower(result.headers["transfer-encoding"]) == "chunked") {
    std::string decoded;
    size_t pos = 0;
    while (pos < rest.size()) {
      auto eol = rest.find("\r\n", pos);
      if (eol == std::string::npos) {
        break;
      }
      size_t len = std::stoul(rest.substr(pos, eol - pos), nullptr, 16);
      if (len == 0) {
        break;
      }
      decoded += rest.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    result.body = decoded;
  } else {
    result.body = rest;
  }
  return result;
}

RedisServer::RedisServer() {
  socket_ = (dir_.path() / "redis.sock").string();
  start();
}

void RedisServer::kill() { process_.reset(); }

void RedisServer::start() {
  process_.reset();
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"redis-server", "--port", "0", "--unixsocket", socket_, "--save", "", "--appendonly",
                               "no", "--dir", dir_.path().string()},
      std::map<std::string, std::string>{}, dir_.path() / "redis.log");
  bool up = wait_until([&] { return cli("PING").find("PONG") != std::string::npos; }, std::chrono::milliseconds{10000});
  if (!up) {
    throw std::runtime_error("redis-server did not start: " + process_->log());
  }
}

RedisServer::~RedisServer() = default;

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return out;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  pclose(p);
  return out;
}

std::string RedisServer::cli(const std::string& args) const {
  return run_capture("redis-cli -s '" + socket_ + "' " + args + " 2>/dev/null");
}

}  // namespace switchyard::testing
