// The local function host: process supervision with scale-to-zero.
//
// Every process is a FunctionInstance: Starting (spawned, polled with a TCP
// connect every 20 ms until it listens) -> Ready (takes calls) -> Stopping
// (SIGTERM sent after idleTimeoutSeconds without calls, SIGKILL after
// stop_grace) -> Exited (reaped, removed). A call's Lease reserves one of the
// instance's `concurrency` slots, already while it is Starting, so a burst of
// calls on a cold function waits for one process instead of starting
// max_processes of them.
//
// Waiting: an acquire() that finds no free slot and cannot start a process
// waits in its function's FIFO. A released slot wakes exactly one of those
// (waking all of them, each re-checking and all but one waiting again, made
// every call's release cost O(waiters): with 248 calls queued on 8 slots,
// twice the CPU per call). State changes (an instance ready or gone,
// shutdown) are rare and wake every waiter of every function, which
// re-evaluates. A woken waiter always re-checks for a slot before it gives
// up, so a wake-up that races with its deadline is not lost.
//
// Lifetime: coroutines (acquire, the readiness poller, the maintenance loop)
// hold a shared_ptr to Impl, so destroying the host while they are suspended
// is safe; instances point back at the host weakly for the same reason.
#include "switchyard/knative/function_host.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <list>
#include <thread>

extern char** environ;

namespace switchyard::knative {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace detail {

struct FunctionInstance {
  enum class State { Starting, Ready, Stopping, Exited };
  std::string function;
  pid_t pid = -1;
  int port = 0;
  State state = State::Starting;
  int in_flight = 0;
  Clock::time_point last_used = Clock::now();
  Clock::time_point exit_checked;  // last waitpid() from pick()
  Clock::time_point stop_deadline;
  std::string exit_reason;
  fs::path log_file;
  std::weak_ptr<LocalFunctionHost::Impl> host;
};

}  // namespace detail

using detail::FunctionInstance;
using State = FunctionInstance::State;

namespace {

const char* state_name(State s) {
  switch (s) {
    case State::Starting:
      return "starting";
    case State::Ready:
      return "ready";
    case State::Stopping:
      return "stopping";
    case State::Exited:
      return "exited";
  }
  return "?";
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  }
  return "ended";
}

// Notices an exit without blocking. Only our own pids are waited for, and a
// reaped pid is never touched again (it may be reused).
void check_exit(FunctionInstance& inst) {
  if (inst.state == State::Exited) {
    return;
  }
  int status = 0;
  pid_t r = waitpid(inst.pid, &status, WNOHANG);
  if (r == inst.pid) {
    inst.state = State::Exited;
    inst.exit_reason = describe_status(status);
  } else if (r < 0 && errno == ECHILD) {
    inst.state = State::Exited;
    inst.exit_reason = "exited (reaped elsewhere)";
  } else {
    return;
  }
  // The group may outlive its leader (a wrapper script's children): they would hold the port.
  ::kill(-inst.pid, SIGKILL);
}

void signal_group(const FunctionInstance& inst, int sig) {
  ::kill(-inst.pid, sig);
  ::kill(inst.pid, sig);  // in case the child has not reached setpgid yet
}

// A port that was free a moment ago; the function binds it (a race with other processes is possible but rare).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw FunctionHostError(std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    close(fd);
    throw FunctionHostError(std::string("cannot find a free port: ") + std::strerror(err));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// PATH lookup in the parent, so the child only needs execve (async-signal-safe).
std::string find_executable(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (access(program.c_str(), X_OK) != 0) {
      throw FunctionHostError("function command " + program + " is not an executable file: " + std::strerror(errno));
    }
    return program;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) {
      return candidate;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  throw FunctionHostError("function command " + program + " not found in PATH");
}

// fork + execve with the log file as stdout/stderr. Everything the child needs is prepared before fork.
pid_t spawn_process(const FunctionSpec& spec, int port, const fs::path& log_file) {
  std::string exe = find_executable(spec.command.front());
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) {
      env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
  }
  for (const auto& [k, v] : spec.env) {
    env[k] = v;
  }
  env["PORT"] = std::to_string(port);
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) {
    env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.command;
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    throw FunctionHostError("cannot open function log " + log_file.string() + ": " + std::strerror(errno));
  }
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  rlimit lim{};
  int max_fd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < 65536) {
    max_fd = static_cast<int>(lim.rlim_cur);
  }
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(log_fd);
    if (null_fd >= 0) {
      close(null_fd);
    }
    throw FunctionHostError(std::string("fork failed: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) {
      _exit(1);  // the host died before prctl took effect
    }
    if (null_fd >= 0) {
      dup2(null_fd, 0);
    }
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // The host's sockets (listeners, Redis) must not leak into functions.
    if (close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) {
        close(fd);
      }
    }
    // Ignored signals (the host ignores SIGPIPE) and the signal mask survive exec: reset both.
    for (int sig = 1; sig < NSIG; ++sig) {
      signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(exe.c_str(), argv.data(), envp.data());
    const char msg[] = "switchyard: exec of the function command failed\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so a signal to the group right away cannot miss it
  close(log_fd);
  if (null_fd >= 0) {
    close(null_fd);
  }
  return pid;
}

// True when something accepts TCP connections on 127.0.0.1:port.
asio::awaitable<bool> accepts_connections(int port) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::socket socket(ex);
  asio::steady_timer timer(ex, milliseconds{1000});  // a loopback connect answers at once; 1 s means wedged
  asio::ip::tcp::endpoint ep(asio::ip::address_v4::loopback(), static_cast<unsigned short>(port));
  auto result = co_await (socket.async_connect(ep, asio::as_tuple(asio::use_awaitable)) ||
                          timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (result.index() != 0) {
    co_return false;
  }
  auto [ec] = std::get<0>(result);
  co_return !ec;
}

}  // namespace

struct LocalFunctionHost::Impl : std::enable_shared_from_this<LocalFunctionHost::Impl> {
  /// An acquire() waiting for a change. `for_slot`: it holds no reservation, so a freed slot
  /// is what it waits for; otherwise it waits for its reserved (starting) instance.
  struct Waiter {
    Waiter(const asio::any_io_executor& ex, Clock::time_point deadline, bool slot)
        : timer(ex, deadline), for_slot(slot) {}
    asio::steady_timer timer;
    bool for_slot;
    bool woken = false;  ///< woken and not yet resumed: the next freed slot goes to someone else
  };

  struct Function {
    FunctionSpec spec;
    std::vector<std::shared_ptr<FunctionInstance>> instances;
    int started = 0;             ///< numbers the log files
    std::list<Waiter*> waiters;  ///< first come, first woken
  };

  Impl(asio::any_io_executor e, fs::path dir, HostOptions o)
      : ex(std::move(e)), log_dir(std::move(dir)), options(o), tick_timer(ex) {}
  ~Impl() { shutdown(); }

  asio::any_io_executor ex;
  fs::path log_dir;
  HostOptions options;
  std::map<std::string, Function, std::less<>> functions;
  asio::steady_timer tick_timer;
  bool ticking = false;
  bool shut_down = false;
  uint64_t wakeups = 0;  ///< waiters woken, for HostStats

  void wake(Waiter& w) {
    w.woken = true;
    ++wakeups;
    w.timer.cancel();
  }

  // An instance became ready or went away, or shutdown: every waiter re-evaluates.
  void notify_all() {
    for (auto& [name, fn] : functions) {
      for (auto* w : fn.waiters) {
        if (!w->woken) {
          wake(*w);
        }
      }
    }
  }

  // A slot of `fn` was freed: the first waiter for a slot that is not already on its way takes it.
  void notify_slot(Function& fn) {
    for (auto* w : fn.waiters) {
      if (w->for_slot && !w->woken) {
        wake(*w);
        return;
      }
    }
  }

  void slot_released(const std::string& function) {
    if (auto it = functions.find(function); it != functions.end()) {
      notify_slot(it->second);
    }
  }

  asio::awaitable<void> wait_for_change(Function& fn, Clock::time_point deadline, bool for_slot) {
    Waiter w(ex, deadline, for_slot);
    struct Unlist {
      Impl* impl;
      Function& fn;
      Waiter& w;
      std::list<Waiter*>::iterator it;
      bool resumed = false;
      ~Unlist() {
        fn.waiters.erase(it);
        // Woken for a slot but destroyed before it could take it (its coroutine went away
        // while suspended): the slot is still free, so it goes to the next waiter.
        if (!resumed && w.woken && w.for_slot) {
          impl->notify_slot(fn);
        }
      }
    } unlist{this, fn, w, fn.waiters.insert(fn.waiters.end(), &w)};
    boost::system::error_code ec;
    co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    unlist.resumed = true;
  }

  void terminate(FunctionInstance& inst) {
    signal_group(inst, SIGTERM);
    inst.state = State::Stopping;
    inst.stop_deadline = Clock::now() + options.stop_grace;
  }

  static int live_count(const Function& fn) {
    int n = 0;
    for (const auto& i : fn.instances) {
      n += (i->state == State::Starting || i->state == State::Ready) ? 1 : 0;
    }
    return n;
  }

  // The least-loaded ready instance with a free slot, else a starting one with a free slot.
  static std::shared_ptr<FunctionInstance> pick(Function& fn) {
    std::shared_ptr<FunctionInstance> best;
    auto now = Clock::now();
    for (const auto& i : fn.instances) {
      // At most every 5 ms per instance: a waitpid() per call was a syscall per Task
      // step; maintain() reaps on its own tick, and a call to a dead process fails and is retried.
      if (now - i->exit_checked >= milliseconds{5}) {
        i->exit_checked = now;
        check_exit(*i);
      }
      if (i->in_flight >= fn.spec.concurrency || (i->state != State::Ready && i->state != State::Starting)) {
        continue;
      }
      bool better = !best || (i->state == State::Ready && best->state != State::Ready) ||
                    (i->state == best->state && i->in_flight < best->in_flight);
      if (better) {
        best = i;
      }
    }
    return best;
  }

  std::shared_ptr<FunctionInstance> spawn(const std::string& name, Function& fn) {
    std::error_code ec;
    fs::create_directories(log_dir, ec);
    auto inst = std::make_shared<FunctionInstance>();
    inst->function = name;
    inst->port = free_port();
    inst->log_file = log_dir / (name + "-" + std::to_string(++fn.started) + ".log");
    inst->host = weak_from_this();
    inst->pid = spawn_process(fn.spec, inst->port, inst->log_file);
    fn.instances.push_back(inst);
    asio::co_spawn(ex, await_ready(shared_from_this(), inst), asio::detached);
    if (!ticking) {
      ticking = true;
      asio::co_spawn(ex, maintain_loop(shared_from_this()), asio::detached);
    }
    return inst;
  }

  // Polls the new process until it accepts connections, exits, or exceeds the startup limit.
  asio::awaitable<void> await_ready([[maybe_unused]] std::shared_ptr<Impl> keepalive,
                                    std::shared_ptr<FunctionInstance> inst) {
    auto limit = Clock::now() + options.startup_limit;
    asio::steady_timer pause(ex);
    while (!shut_down && inst->state == State::Starting) {
      check_exit(*inst);
      if (inst->state == State::Exited) {
        break;
      }
      bool up = co_await accepts_connections(inst->port);
      if (up && inst->state == State::Starting) {
        inst->state = State::Ready;
        inst->last_used = Clock::now();
        break;
      }
      if (Clock::now() >= limit) {
        inst->exit_reason = "did not listen on port " + std::to_string(inst->port) + " within " +
                            std::to_string(options.startup_limit.count()) + " s and was stopped";
        terminate(*inst);
        break;
      }
      pause.expires_after(milliseconds{20});  // cold starts are mostly process start-up: poll finely
      boost::system::error_code ec;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    notify_all();
  }

  // Reaps exits, stops idle processes, escalates to SIGKILL; runs while any process exists.
  asio::awaitable<void> maintain_loop([[maybe_unused]] std::shared_ptr<Impl> keepalive) {
    while (!shut_down) {
      tick_timer.expires_after(options.check_interval);
      boost::system::error_code ec;
      co_await tick_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (shut_down || !maintain()) {
        break;
      }
    }
    ticking = false;
  }

  bool maintain() {
    auto now = Clock::now();
    bool changed = false;
    bool any = false;
    for (auto& [name, fn] : functions) {
      auto idle = std::chrono::seconds{fn.spec.idle_timeout_seconds};
      for (auto& inst : fn.instances) {
        check_exit(*inst);
        if (inst->state == State::Exited) {
          changed = true;
        } else if (inst->state == State::Ready && inst->in_flight == 0 && idle.count() > 0 &&
                   now - inst->last_used >= idle) {
          terminate(*inst);  // scale to zero
        } else if (inst->state == State::Stopping && now >= inst->stop_deadline) {
          signal_group(*inst, SIGKILL);
          inst->stop_deadline = now + options.stop_grace;
        }
      }
      std::erase_if(fn.instances, [](const auto& i) { return i->state == State::Exited; });
      any = any || !fn.instances.empty();
    }
    if (changed) {
      notify_all();
    }
    return any;
  }

  asio::awaitable<Lease> acquire(std::string name, milliseconds timeout) {
    auto keepalive = shared_from_this();
    auto deadline = Clock::now() + timeout;
    auto it = functions.find(name);
    if (it == functions.end()) {
      throw FunctionHostError("no local function named '" + name + "'");
    }
    Function& fn = it->second;
    Lease lease;
    while (true) {
      if (shut_down) {
        throw FunctionHostError("the local function host is shut down");
      }
      if (!lease) {
        auto inst = pick(fn);
        if (!inst && live_count(fn) < fn.spec.max_processes) {
          inst = spawn(name, fn);
        }
        if (inst) {
          ++inst->in_flight;  // reserved, also while it starts
          lease.instance_ = inst;
        }
      }
      if (lease) {
        FunctionInstance& inst = *lease.instance_;
        check_exit(inst);
        if (inst.state == State::Ready) {
          inst.last_used = Clock::now();
          lease.url.host = "127.0.0.1";
          lease.url.port = std::to_string(inst.port);
          lease.url.target = "/";
          co_return lease;
        }
        if (inst.state != State::Starting) {
          throw FunctionHostError("function '" + name + "' " + inst.exit_reason +
                                  " before it accepted connections; see " + inst.log_file.string());
        }
      }
      if (Clock::now() >= deadline) {
        if (lease) {
          throw FunctionHostError("function '" + name + "' did not accept connections on port " +
                                  std::to_string(lease.instance_->port) + " within " + std::to_string(timeout.count()) +
                                  " ms (cold start); see " + lease.instance_->log_file.string());
        }
        throw FunctionHostError("function '" + name + "': all " + std::to_string(fn.spec.max_processes) +
                                " processes busy (" + std::to_string(fn.spec.concurrency) +
                                " calls each); no free slot within " + std::to_string(timeout.count()) + " ms");
      }
      co_await wait_for_change(fn, deadline, /*for_slot=*/!lease);
    }
  }

  void shutdown() {
    if (shut_down) {
      return;
    }
    shut_down = true;
    tick_timer.cancel();
    std::vector<std::shared_ptr<FunctionInstance>> live;
    for (auto& [name, fn] : functions) {
      for (auto& inst : fn.instances) {
        check_exit(*inst);
        if (inst->state != State::Exited) {
          signal_group(*inst, SIGTERM);
          live.push_back(inst);
        }
      }
      fn.instances.clear();
    }
    auto reap_all = [&](Clock::time_point until) {
      while (true) {
        std::erase_if(live, [](const auto& i) {
          check_exit(*i);
          return i->state == State::Exited;
        });
        if (live.empty() || Clock::now() >= until) {
          return;
        }
        std::this_thread::sleep_for(milliseconds{5});
      }
    };
    reap_all(Clock::now() + options.stop_grace);
    for (auto& inst : live) {
      signal_group(*inst, SIGKILL);
    }
    reap_all(Clock::now() + milliseconds{2000});  // SIGKILL is prompt; bounded in case of a stuck (D-state) child
    for (auto& inst : live) {
      inst->state = State::Exited;
      inst->exit_reason = "could not be reaped at shutdown";
    }
    notify_all();
  }
};

// ----------------------------------------------------------------------------------------------------------------
// Lease

Lease::Lease(Lease&& other) noexcept : url(std::move(other.url)), instance_(std::move(other.instance_)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    url = std::move(other.url);
    instance_ = std::move(other.instance_);
  }
  return *this;
}

Lease::~Lease() { release(); }

int Lease::pid() const { return instance_ ? instance_->pid : -1; }

void Lease::release() {
  if (!instance_) {
    return;
  }
  auto inst = std::move(instance_);
  instance_.reset();
  --inst->in_flight;
  inst->last_used = Clock::now();
  if (auto host = inst->host.lock()) {
    try {
      host->slot_released(inst->function);
    } catch (...) {
      // Cancelling a timer does not fail in practice; a destructor must not throw regardless.
    }
  }
}

// ----------------------------------------------------------------------------------------------------------------
// LocalFunctionHost

LocalFunctionHost::LocalFunctionHost(asio::any_io_executor ex, std::map<std::string, FunctionSpec> specs,
                                     fs::path log_dir, HostOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(log_dir), options)) {
  for (auto& [name, spec] : specs) {
    if (spec.command.empty() || spec.command.front().empty()) {
      throw std::invalid_argument("local function '" + name + "' has no command");
    }
    if (spec.concurrency < 1 || spec.max_processes < 1 || spec.idle_timeout_seconds < 0) {
      throw std::invalid_argument("local function '" + name +
                                  "': concurrency and maxProcesses must be >= 1, idleTimeoutSeconds >= 0");
    }
    impl_->functions.emplace(name, Impl::Function{std::move(spec), {}, 0, {}});
  }
}

LocalFunctionHost::~LocalFunctionHost() { impl_->shutdown(); }

bool LocalFunctionHost::has(std::string_view name) const { return impl_->functions.contains(name); }

asio::awaitable<Lease> LocalFunctionHost::acquire(std::string_view name, milliseconds timeout) {
  auto impl = impl_;
  co_return co_await impl->acquire(std::string(name), timeout);
}

void LocalFunctionHost::shutdown() { impl_->shutdown(); }

HostStats LocalFunctionHost::stats() const {
  HostStats out;
  out.wakeups = impl_->wakeups;
  for (const auto& [name, fn] : impl_->functions) {
    for (const auto* w : fn.waiters) {
      out.waiting += w->for_slot ? 1 : 0;
    }
  }
  return out;
}

std::vector<InstanceStatus> LocalFunctionHost::status() const {
  std::vector<InstanceStatus> out;
  for (const auto& [name, fn] : impl_->functions) {
    for (const auto& i : fn.instances) {
      if (i->state != State::Exited) {
        out.push_back({name, i->pid, i->port, i->in_flight, state_name(i->state), i->log_file});
      }
    }
  }
  return out;
}

}  // namespace switchyard::knative
