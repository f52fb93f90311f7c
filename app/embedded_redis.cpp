#include "embedded_redis.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace switchyard::app {

namespace fs = std::filesystem;

namespace {

bool answers_ping(const fs::path& socket) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char ping[] = "PING\r\n";
    timeval tv{0, 200000};  // a starting server answers in microseconds; 200 ms bounds a stuck one
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (write(fd, ping, sizeof ping - 1) == static_cast<ssize_t>(sizeof ping - 1)) {
      char buf[16] = {};
      ok = read(fd, buf, sizeof buf - 1) > 0 && std::strncmp(buf, "+PONG", 5) == 0;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

EmbeddedRedis::EmbeddedRedis(const fs::path& data_dir, const std::string& appendfsync) {
  fs::create_directories(data_dir);
  fs::path dir = fs::absolute(data_dir);
  socket_ = dir / "redis.sock";
  if (socket_.string().size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("data directory path too long for a unix socket: " + dir.string());
  }
  if (answers_ping(socket_)) {
    throw std::runtime_error("a redis-server already serves " + socket_.string() +
                             " (another switchyard on this data directory?)");
  }
  fs::remove(socket_);
  std::vector<std::string> argv{"redis-server", "--port", "0", "--unixsocket", socket_.string(), "--unixsocketperm",
                                "700", "--dir", dir.string(), "--appendonly", "yes", "--appendfsync", appendfsync,
                                "--save", "",
                                // Every step rewrites its run record, so the AOF grows many times faster than
                                // the data: at the default 100% Redis rewrote it every 2 s under load (B2: 11
                                // rewrites in 22 s, a third of Redis's CPU). At 400% it rewrites a fifth as
                                // often; the AOF on disk stays under 5x the compact base file.
                                "--auto-aof-rewrite-percentage", "400",
                                // An execution's hash (a dozen small fields) stays a compact listpack
                                // (about half the memory of a hashtable) unless a field passes 1 KiB.
                                "--hash-max-listpack-value", "1024", "--hash-max-listpack-entries", "128",
                                // sy:timers holds a lease and a timeout per running execution: as a listpack
                                // (up to 128 entries by default) every ZADD/ZREM of a step scans it.
                                "--zset-max-listpack-entries", "32", "--logfile", (dir / "redis.log").string(),
                                "--pidfile", (dir / "redis.pid").string(), "--daemonize", "no"};
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) {
      _exit(1);  // the parent died before prctl took effect
    }
    setpgid(0, 0);  // a Ctrl-C in the terminal goes to us; we stop redis in order
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
    }
    std::vector<char*> args;
    for (auto& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    execvp("redis-server", args.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (!answers_ping(socket_)) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start (is it installed? see " + (dir / "redis.log").string() +
                               ")");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("redis-server did not answer within 20 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

EmbeddedRedis::~EmbeddedRedis() {
  if (pid_ <= 0) {
    return;
  }
  kill(pid_, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

}  // namespace switchyard::app
