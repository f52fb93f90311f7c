// sy_loaddriver: a closed-loop HTTP/1.1 load driver for the benchmarks in loadtests/.
//
// C connections (keep-alive), each sending its next request as soon as the
// previous answer arrived, until K requests are done or --max-seconds passed;
// a warm-up phase (not measured) runs first. One thread, one io_context: on a
// 2-core machine the driver must cost as little CPU as possible, because it
// shares the cores with the system it measures.
//
// Prints ONE JSON line: completed, errors, wall time, requests/s and latency
// percentiles (ms). Loopback only (the host must be 127.0.0.1 or localhost).
//
//   sy_loaddriver --url http://127.0.0.1:8080/v1/state-machines/b1/executions?wait=30
//                 --body '{"input":{}}' --k 2000 --c 64 [--warmup 100] [--max-seconds 60]
//                 [--timeout-ms 30000] [--expect '"SUCCEEDED"'] [--method POST] [--label x]
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string target = "/healthz";
  std::string method;
  std::string body;
  std::string expect;  // substring every successful answer must contain
  std::string label;
  long k = 1000;
  long c = 16;
  long warmup = 50;
  double max_seconds = 120;
  long timeout_ms = 30000;
};

struct Phase {
  long limit = 0;
  Clock::time_point deadline;
  long issued = 0;
  long errors = 0;
  std::vector<double> lat_ms;
  std::set<std::string> samples;  // a few distinct error descriptions
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "sy_loaddriver: " << why
            << "\nusage: sy_loaddriver --url http://127.0.0.1:PORT/PATH [--body JSON] [--method M] [--k N] [--c N]"
               " [--warmup N] [--max-seconds S] [--timeout-ms MS] [--expect TEXT] [--label L]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      usage("bad argument '" + a + "'");
    }
    kv[a.substr(2)] = argv[++i];
  }
  for (const auto& [key, v] : kv) {
    if (key == "url") {
      const std::string scheme = "http://";
      if (v.rfind(scheme, 0) != 0) {
        usage("only http:// URLs");
      }
      auto rest = v.substr(scheme.size());
      auto slash = rest.find('/');
      auto hostport = rest.substr(0, slash);
      o.target = slash == std::string::npos ? "/" : rest.substr(slash);
      auto colon = hostport.rfind(':');
      o.host = hostport.substr(0, colon);
      o.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
    } else if (key == "body") {
      o.body = v;
    } else if (key == "method") {
      o.method = v;
    } else if (key == "expect") {
      o.expect = v;
    } else if (key == "label") {
      o.label = v;
    } else if (key == "k") {
      o.k = std::stol(v);
    } else if (key == "c") {
      o.c = std::stol(v);
    } else if (key == "warmup") {
      o.warmup = std::stol(v);
    } else if (key == "max-seconds") {
      o.max_seconds = std::stod(v);
    } else if (key == "timeout-ms") {
      o.timeout_ms = std::stol(v);
    } else {
      usage("unknown option --" + key);
    }
  }
  if (o.host != "127.0.0.1" && o.host != "localhost") {
    usage("refusing a non-loopback host");  // benchmarks never leave the machine
  }
  if (o.method.empty()) {
    o.method = o.body.empty() ? "GET" : "POST";
  }
  // Hard bounds: a typo must not start an endless or huge run.
  o.k = std::clamp(o.k, 1L, 10'000'000L);
  o.c = std::clamp(o.c, 1L, 4096L);
  o.warmup = std::clamp(o.warmup, 0L, 1'000'000L);
  o.max_seconds = std::clamp(o.max_seconds, 0.1, 3600.0);
  o.timeout_ms = std::clamp(o.timeout_ms, 1L, 600'000L);
  return o;
}

class Driver {
 public:
  Driver(asio::io_context& ioc, const Options& o) : ioc_(ioc), o_(o) {
    req_.method(bhttp::string_to_verb(o.method));
    req_.target(o.target);
    req_.version(11);
    req_.set(bhttp::field::host, o.host + ":" + o.port);
    req_.keep_alive(true);
    if (!o.body.empty() || o.method == "POST" || o.method == "PUT") {
      req_.set(bhttp::field::content_type, "application/json");
      req_.body() = o.body;
      req_.prepare_payload();
    }
  }

  asio::awaitable<void> run_phase(Phase& ph) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(o_.host, o_.port, asio::use_awaitable);
    beast::tcp_stream stream(ex);
    bool connected = false;
    beast::flat_buffer buf;
    while (ph.issued < ph.limit && Clock::now() < ph.deadline) {
      ++ph.issued;
      auto t0 = Clock::now();
      std::string err;
      try {
        // Each request (connect + write + read) is bounded by --timeout-ms so a stuck server cannot hang the run.
        stream.expires_after(std::chrono::milliseconds(o_.timeout_ms));
        if (!connected) {
          co_await stream.async_connect(endpoints, asio::use_awaitable);
          stream.socket().set_option(asio::ip::tcp::no_delay(true));
          connected = true;
          buf.clear();
        }
        co_await bhttp::async_write(stream, req_, asio::use_awaitable);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);  // answers are small; this only stops a runaway server
        co_await bhttp::async_read(stream, buf, parser, asio::use_awaitable);
        auto& res = parser.get();
        int status = res.result_int();
        if (status < 200 || status > 299) {
          err = "HTTP " + std::to_string(status) + " " + res.body().substr(0, 160);
        } else if (!o_.expect.empty() && res.body().find(o_.expect) == std::string::npos) {
          err = "unexpected body: " + res.body().substr(0, 160);
        }
        if (!res.keep_alive()) {
          beast::error_code ec;
          stream.socket().close(ec);
          connected = false;
        }
      } catch (const std::exception& e) {
        err = e.what();
        beast::error_code ec;
        stream.socket().close(ec);
        connected = false;
      }
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (err.empty()) {
        ph.lat_ms.push_back(ms);
      } else {
        ++ph.errors;
        if (ph.samples.size() < 5) {
          ph.samples.insert(err);
        }
      }
    }
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }

  // Runs `count` requests on min(c, count) connections; returns the wall time in seconds.
  double phase(Phase& ph, long count, double max_seconds) {
    ph.limit = count;
    auto t0 = Clock::now();
    ph.deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
    ph.lat_ms.reserve(static_cast<size_t>(count));
    long conns = std::min(o_.c, count);
    for (long i = 0; i < conns; ++i) {
      asio::co_spawn(ioc_, run_phase(ph), [&ph](const std::exception_ptr& e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            ++ph.errors;
            ph.samples.insert(std::string("worker: ") + ex.what());
          }
        }
      });
    }
    ioc_.restart();
    ioc_.run();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }

 private:
  asio::io_context& ioc_;
  const Options& o_;
  bhttp::request<bhttp::string_body> req_;
};

double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return NAN;
  }
  auto idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, idx == 0 ? 0 : idx - 1)];
}

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  asio::io_context ioc{1};
  Driver d(ioc, o);
  if (o.warmup > 0) {
    Phase w;
    d.phase(w, o.warmup, std::min(o.max_seconds, 60.0));
  }
  Phase ph;
  double wall = d.phase(ph, o.k, o.max_seconds);
  std::vector<double> s = ph.lat_ms;
  std::sort(s.begin(), s.end());
  double mean = 0;
  for (double v : s) {
    mean += v;
  }
  mean = s.empty() ? NAN : mean / static_cast<double>(s.size());
  std::string samples = "[";
  for (const auto& e : ph.samples) {
    samples += (samples.size() > 1 ? "," : "") + json_str(e);
  }
  samples += "]";
  char line[1024];
  std::snprintf(line, sizeof line,
                "{\"label\":%s,\"k\":%ld,\"c\":%ld,\"completed\":%zu,\"errors\":%ld,\"truncatedByDeadline\":%s,"
                "\"wallS\":%.3f,\"rps\":%.1f,\"latMs\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
                "\"mean\":%.3f}",
                json_str(o.label).c_str(), o.k, o.c, s.size(), ph.errors, ph.issued < o.k ? "true" : "false", wall,
                static_cast<double>(s.size()) / wall, pct(s, 50), pct(s, 90), pct(s, 99), s.empty() ? NAN : s.back(),
                mean);
  std::cout << line << ",\"errSamples\":" << samples << "}" << std::endl;
  return s.empty() ? 1 : 0;
}
