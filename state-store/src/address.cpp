// Address: "redis://host[:port][/db]", "unix:///path[?db=N]" or a bare "/path".
// Credentials and TLS ("rediss://") are not supported: they are rejected
// loudly rather than silently ignored.
#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>

#include "switchyard/store/redis.hpp"

namespace switchyard::store {

namespace {

int parse_int(std::string_view s, int lo, int hi, std::string_view what, std::string_view url) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) {
    throw std::invalid_argument("invalid " + std::string(what) + " in redis address '" + std::string(url) + "'");
  }
  return v;
}

// "db=N" from a query string (the only parameter understood).
int parse_db_query(std::string_view query, std::string_view url) {
  if (!query.starts_with("db=")) {
    throw std::invalid_argument("unsupported parameter in redis address '" + std::string(url) + "' (only db=N)");
  }
  return parse_int(query.substr(3), 0, 1 << 20, "database number", url);
}

}  // namespace

Address Address::parse(std::string_view url) {
  Address a;
  if (url.starts_with("unix://") || url.starts_with("/")) {
    std::string_view rest = url.starts_with("/") ? url : url.substr(7);
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      a.db = parse_db_query(rest.substr(q + 1), url);
      rest = rest.substr(0, q);
    }
    if (!rest.starts_with("/") || rest.size() < 2) {
      throw std::invalid_argument("redis unix socket path must be absolute: '" + std::string(url) + "'");
    }
    a.unix_path = std::string(rest);
    return a;
  }
  if (!url.starts_with("redis://")) {
    throw std::invalid_argument("redis address must start with redis://, unix:// or /: '" + std::string(url) + "'");
  }
  std::string_view rest = url.substr(8);
  if (rest.find('@') != std::string_view::npos) {
    throw std::invalid_argument("credentials in redis addresses are not supported: '" + std::string(url) + "'");
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      a.db = parse_int(db, 0, 1 << 20, "database number", url);
    }
  }
  std::string_view host = hostport;
  std::string_view port;
  if (hostport.starts_with("[")) {  // [IPv6]:port
    auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("unterminated IPv6 address in redis address '" + std::string(url) + "'");
    }
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) {
        throw std::invalid_argument("invalid redis address '" + std::string(url) + "'");
      }
      port = after.substr(1);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
    if (port.empty()) {
      throw std::invalid_argument("empty port in redis address '" + std::string(url) + "'");
    }
  }
  if (host.empty()) {
    throw std::invalid_argument("missing host in redis address '" + std::string(url) + "'");
  }
  a.host = std::string(host);
  if (!port.empty()) {
    a.port = parse_int(port, 1, 65535, "port", url);
  }
  return a;
}

std::string Address::to_string() const {
  if (!unix_path.empty()) {
    return "unix://" + unix_path + (db != 0 ? "?db=" + std::to_string(db) : "");
  }
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "redis://" + h + ":" + std::to_string(port) + (db != 0 ? "/" + std::to_string(db) : "");
}

}  // namespace switchyard::store
