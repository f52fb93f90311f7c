#pragma once
/// Plain HTTP request/response values. Beast stays inside the .cpp files so
/// that code using the HTTP library compiles fast.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive header lookup; empty when absent.
std::string_view find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method = "GET";  ///< upper case
  std::string target = "/";    ///< path and query, as sent
  Headers headers;
  std::string body;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  /// The target without its query string.
  std::string_view path() const;
  /// A query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> query(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

/// Percent-decodes a URL component ("+" is kept as is outside queries).
std::string url_decode(std::string_view s, bool plus_is_space = false);
/// Percent-encodes everything but RFC 3986's unreserved characters: safe as one path
/// segment or one query component.
std::string url_encode(std::string_view s);

}  // namespace switchyard::http
