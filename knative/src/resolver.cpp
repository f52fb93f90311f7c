// Function name -> Target: the local function host first, then the URL template.
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

}  // namespace

Resolver::Resolver(const LocalFunctionHost* host, std::string url_template, std::string ns)
    : host_(host), template_(std::move(url_template)), namespace_(std::move(ns)) {
  const std::string wanted = "function URL template must be an http:// or https:// URL containing {name}: '";
  if (template_.find("{name}") == std::string::npos) {
    throw std::invalid_argument(wanted + template_ + "'");
  }
  if (!detail::valid_function_name(namespace_)) {
    throw std::invalid_argument("invalid namespace '" + namespace_ + "'");
  }
  // Fail at startup, not on the first call, when the template cannot make a URL (Url::parse
  // checks the scheme too).
  try {
    (void)http::Url::parse(replace_all(replace_all(template_, "{name}", "probe"), "{namespace}", namespace_));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(wanted + template_ + "' (" + e.what() + ")");
  }
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
