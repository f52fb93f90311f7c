#pragma once
/// The router's loops: take work from the stream (blocking read on its own
/// connection), reclaim work whose lease expired, renew the lease of work in
/// progress, fire due timers, and sweep expired executions' ids out of the
/// execution indexes (retention expires the records, not the index entries). Each work item runs as its own coroutine,
/// at most RouterOptions::max_in_flight at once; an exception in one item is
/// logged and the item is left pending so that it is retried after its lease.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "switchyard/router/execution_service.hpp"
#include "switchyard/store/redis.hpp"

namespace switchyard::router {

class Worker : public ExecutionService::LocalWorker {
 public:
  Worker(boost::asio::any_io_executor ex, store::Address address, ExecutionService& service,
         const RouterOptions& options);
  ~Worker() override;

  /// Starts the loops (they run until stop()) and becomes the service's local worker.
  void start();
  /// Stops taking new work; resolves when work in flight has finished (bounded by `grace`).
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

  // ExecutionService::LocalWorker: steps leased by start() or by a commit are held
  // and processed like work read from the stream (their leases renewed likewise).
  bool has_room() const override;
  void dispatch(store::WorkItem item, std::shared_ptr<ExecutionService::Carry> carry) override;

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> reclaim_loop();
  boost::asio::awaitable<void> timer_loop();
  boost::asio::awaitable<void> sweep_loop();
  boost::asio::awaitable<void> sweep_indexes();
  /// Raises or lowers the "behind on timers" flag that holds new starts back (admission.hpp).
  boost::asio::awaitable<void> signal_behind(bool behind);
  void dispatch(store::WorkItem item) { dispatch(std::move(item), nullptr); }
  /// Runs `item` (and the steps its commits lease) as one coroutine; `timer`: a fired timer,
  /// which holds back the reading of new work while it runs.
  void run(store::WorkItem item, std::shared_ptr<ExecutionService::Carry> carry, bool timer);

  boost::asio::any_io_executor ex_;
  std::unique_ptr<store::Redis> blocking_;  // XREADGROUP BLOCK holds its connection
  ExecutionService& service_;
  const RouterOptions& options_;
  std::set<std::string> in_flight_;
  std::map<std::string, int64_t> sweep_cursors_;  // index key -> the rank its next window starts at
  int timers_in_flight_ = 0;
  bool timers_due_ = false;     // the last timer poll found a burst of due timers: more are likely
  bool behind_raised_ = false;  // this router raised the flag (and has not lowered it)
  bool signalling_ = false;     // a raise or lower is on its way to Redis
  bool stopping_ = false;
};

}  // namespace switchyard::router
