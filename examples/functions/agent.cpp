// agent: a long-running job behind a callback step (Resource "fn:agent.waitForTaskToken").
//
// The call only hands the job over: the agent answers at once with {"accepted": true}, works in a
// background thread, heartbeats while it works, and then completes the step through the REST API
// with TaskClient (SWITCHYARD_CALLBACK_URL, set by the local function host). The input chooses
// what happens, for demos and tests:
//
//   taskToken     the token (pass "$$.Task.Token" in Parameters); default: the Switchyard-Task-Token header
//   job           anything; returned in the result
//   workMs        how long the job takes (default 1000, at most 600000)
//   heartbeatMs   heartbeat every this many ms while working (default 0: no heartbeats)
//   outcome       "success" (default), "failure", or "none" (never complete: lets TimeoutSeconds or
//                 HeartbeatSeconds fire)
//   error, cause  the failure's error (default "Agent.Failed") and cause
//   failAttempts  attempts (Switchyard-Attempt, 0-based) below this fail with "Agent.Flaky" (Retry demos)
//   inline        true: complete the step before answering the hand-off call (no background work);
//                 answerDelayMs (at most 10000) delays that answer further
//
// Result: {"job", "attempt", "workedMs", "heartbeats"}. A heartbeat that is refused (the step timed
// out, was completed, or its execution stopped) ends the job early. When the process is stopped
// (scale to zero, SIGTERM) unfinished jobs report "Agent.Interrupted", so a Retry can hand them
// out again instead of waiting for a timeout.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "switchyard/function/function.hpp"
#include "switchyard/function/task_client.hpp"

namespace fn = switchyard::function;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

struct Job {
  std::string token;
  fn::Json job;
  int attempt = 0;
  milliseconds work{1000};
  milliseconds heartbeat{0};
  std::string outcome = "success";
  std::string error = "Agent.Failed";
  std::string cause = "the agent failed the job on purpose";
};

// Background jobs, so that shutdown can interrupt and wait for them.
std::mutex mu;
std::condition_variable cv;
bool stopping = false;
int active = 0;

std::string str_or(const fn::Json& in, const char* key, std::string fallback) {
  auto it = in.find(key);
  return it != in.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

long long int_or(const fn::Json& in, const char* key, long long fallback) {
  auto it = in.find(key);
  return it != in.end() && it->is_number() ? it->get<long long>() : fallback;
}

fn::Json result_of(const Job& j, milliseconds worked, int heartbeats) {
  return {{"job", j.job}, {"attempt", j.attempt}, {"workedMs", worked.count()}, {"heartbeats", heartbeats}};
}

// Reports the outcome; a refused completion (the step ended meanwhile) is only logged.
void complete(const fn::TaskClient& client, const Job& j, const fn::Json& result) {
  try {
    if (j.outcome == "failure") {
      client.failure(j.token, j.error, j.cause);
    } else if (j.outcome != "none") {
      client.success(j.token, result);
    }
  } catch (const fn::TaskError& e) {
    std::fprintf(stderr, "agent: completion refused: %s\n", e.what());
  }
}

void work(const fn::TaskClient& client, const fn::TaskClient& quick, Job j) {
  auto start = steady_clock::now();
  auto end = start + j.work;
  int heartbeats = 0;
  bool interrupted = false;
  {
    std::unique_lock lock(mu);
    while (steady_clock::now() < end) {
      auto next = j.heartbeat.count() > 0 ? std::min(end, steady_clock::now() + j.heartbeat) : end;
      if (cv.wait_until(lock, next, [] { return stopping; })) {
        interrupted = true;
        break;
      }
      if (j.heartbeat.count() > 0 && steady_clock::now() < end) {
        lock.unlock();
        bool alive = true;
        try {
          client.heartbeat(j.token);
          ++heartbeats;
        } catch (const fn::TaskError& e) {
          // Unknown/Gone/AlreadyCompleted: nobody waits for this job any more.
          std::fprintf(stderr, "agent: heartbeat refused, giving up the job: %s\n", e.what());
          alive = e.kind() == fn::TaskError::Kind::Unavailable;
        }
        lock.lock();
        if (!alive) {
          --active;
          cv.notify_all();
          return;
        }
      }
    }
  }
  auto worked = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  if (interrupted) {
    try {
      quick.failure(j.token, "Agent.Interrupted", "the agent stopped before the job finished");
    } catch (const fn::TaskError& e) {
      std::fprintf(stderr, "agent: could not report the interruption: %s\n", e.what());
    }
  } else {
    complete(client, j, result_of(j, worked, heartbeats));
  }
  std::lock_guard lock(mu);
  --active;
  cv.notify_all();
}

}  // namespace

int main() {
  std::optional<fn::TaskClient> client;
  std::optional<fn::TaskClient> shutdown_client;
  try {
    client.emplace(fn::TaskClient::from_env());
    // Shutdown reports must not outlast the 4 s we wait for them, nor the host's stop grace
    // (SIGKILL after 5 s by default); on a loaded machine 1.5 s proved too short.
    fn::TaskClientOptions quick;
    quick.request_timeout = milliseconds{3000};
    quick.retry_budget = milliseconds{3000};
    shutdown_client.emplace(fn::TaskClient::from_env(quick));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agent: %s\n", e.what());
    return 2;
  }

  int rc = fn::serve([&](const fn::Call& call) -> fn::Json {
    const fn::Json in = call.input.is_object() ? call.input : fn::Json::object();
    Job j;
    j.token = str_or(in, "taskToken", call.task_token);
    if (j.token.empty()) {
      throw fn::Failure("Agent.NoTaskToken", "call the agent with a .waitForTaskToken resource");
    }
    j.job = in.value("job", fn::Json());
    j.attempt = call.attempt;
    // Bounded: a typo must not hold a thread for days.
    j.work = milliseconds{std::clamp<long long>(int_or(in, "workMs", 1000), 0, 600000)};
    j.heartbeat = milliseconds{std::clamp<long long>(int_or(in, "heartbeatMs", 0), 0, 600000)};
    j.outcome = str_or(in, "outcome", "success");
    j.error = str_or(in, "error", j.error);
    j.cause = str_or(in, "cause", j.cause);
    if (call.attempt < int_or(in, "failAttempts", 0)) {
      j.outcome = "failure";
      j.error = "Agent.Flaky";
      j.cause = "attempt " + std::to_string(call.attempt) + " fails on purpose";
    }
    if (in.value("inline", false)) {
      // The completion reaches the server before this answer does.
      complete(*client, j, result_of(j, milliseconds{0}, 0));
      std::this_thread::sleep_for(milliseconds{std::clamp<long long>(int_or(in, "answerDelayMs", 0), 0, 10000)});
      return {{"accepted", true}, {"inline", true}};
    }
    {
      std::lock_guard lock(mu);
      if (stopping) {
        throw fn::Failure("Agent.Stopping", "the agent is shutting down");
      }
      ++active;
    }
    std::thread(work, std::cref(*client), std::cref(*shutdown_client), std::move(j)).detach();
    return {{"accepted", true}};
  });

  // serve() returned (SIGTERM): interrupt the jobs, which report Agent.Interrupted, and wait for them.
  std::unique_lock lock(mu);
  stopping = true;
  cv.notify_all();
  bool done = cv.wait_for(lock, std::chrono::seconds{4}, [] { return active == 0; });
  if (!done) {
    std::fprintf(stderr, "agent: exiting with %d job(s) unreported\n", active);
    std::fflush(stderr);
    std::_Exit(rc);
  }
  return rc;
}
