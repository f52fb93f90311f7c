// Function name -> Target: the local function host first, then the URL template.
#include <cctype>
#include <stdexcept>

#include "names.hpp"
#include "switchyard/knative/function_host.hpp"

namespace switchyard::knative {

namespace {

std::string replace_all(std::string s, std::string_view what, std::string_view with) {
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
  return s;
}

// http:// or https:// (any case).
bool starts_with_http(std::string_view s) {
  auto has_prefix = [s](std::string_view scheme) {
    if (s.size() < scheme.size()) {
      return false;
    }
    for (size_t i = 0; i < scheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(s[i])) != scheme[i]) {
        return false;
      }
    }
    return true;
  };
  return has_prefix("http://") || has_prefix("https://");
}

}  // namespace

Resolver::Resolver(const LocalFunctionHost* host, std::string url_template, std::string ns)
    : host_(host), template_(std::move(url_template)), namespace_(std::move(ns)) {
  if (!starts_with_http(template_) || template_.find("{name}") == std::string::npos) {
    throw std::invalid_argument("function URL template must be an http:// or https:// URL containing {name}: '" +
                                template_ + "'");
  }
  if (!detail::valid_function_name(namespace_)) {
    throw std::invalid_argument("invalid namespace '" + namespace_ + "'");
  }
  // Fail at startup, not on the first call, when the template cannot make a URL.
  (void)http::Url::parse(replace_all(replace_all(template_, "{name}", "probe"), "{namespace}", namespace_));
}

Result<Target> Resolver::resolve_function(std::string_view name) const {
  if (!detail::valid_function_name(name)) {
    return Error{"States.Runtime",
                 "invalid function name '" + std::string(name) + "' (1-63 letters, digits, '-' or '_')"};
  }
  if (host_ != nullptr && host_->has(name)) {
    return Target{std::string(name), {}};
  }
  std::string url = replace_all(replace_all(template_, "{name}", name), "{namespace}", namespace_);
  try {
    return Target{"", http::Url::parse(url)};
  } catch (const std::invalid_argument& e) {
    return Error{"States.Runtime", "function URL '" + url + "' is invalid: " + e.what()};
  }
}

}  // namespace switchyard::knative
