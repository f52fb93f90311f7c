#pragma once
/// The embedded default: a redis-server child on a unix socket in the data
/// directory, AOF on. It dies with us (PR_SET_PDEATHSIG), so even a killed
/// switchyard leaves no orphaned redis-server.
#include <sys/types.h>

#include <filesystem>
#include <string>

namespace switchyard::app {

class EmbeddedRedis {
 public:
  /// Starts redis-server and waits (bounded) until its socket answers PING.
  /// `appendfsync`: "everysec" (default: may lose ~1 s on power loss) or "always".
  EmbeddedRedis(const std::filesystem::path& data_dir, const std::string& appendfsync);
  ~EmbeddedRedis();  ///< SIGTERM, wait up to 10 s (AOF flush), then SIGKILL
  EmbeddedRedis(const EmbeddedRedis&) = delete;
  EmbeddedRedis& operator=(const EmbeddedRedis&) = delete;

  std::string url() const { return "unix://" + socket_.string(); }

 private:
  std::filesystem::path socket_;
  pid_t pid_ = -1;
};

}  // namespace switchyard::app
