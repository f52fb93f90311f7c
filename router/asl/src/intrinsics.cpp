/*
 * The 18 intrinsic functions of JSONPath states, evaluated as Step Functions
 * does. Notes on behaviour that is AWS's rather than the spec's:
 *   - Every failure is States.Runtime (AWS does not raise States.IntrinsicFailure),
 *     cause "The function '<text>' had the following error: <detail>", where a
 *     bad argument reads "Invalid arguments in States.X" and a path argument
 *     that selects nothing reads "The JsonPath argument for the field '<path>'
 *     could not be found in the input '<json>'" (an index past the end counts).
 *   - Integer arguments of ArrayPartition, ArrayRange, ArrayGetItem and
 *     MathRandom are truncated toward zero; MathAdd rounds each operand
 *     (half up) and works on 32-bit integers.
 *   - StringSplit splits on any of the delimiter's characters and drops empty
 *     tokens (java.util.StringTokenizer); Base64Decode skips characters outside
 *     the alphabet and stops at padding; Hash stringifies non-string data.
 *   - ArrayContains compares values by their text, so "true" matches true.
 *   - ArrayGetItem on an empty array is null; on any other array an index out
 *     of range fails.
 *   - MathRandom with a seed is java.util.Random(seed).nextInt(end - start) + start.
 *   - JsonMerge is shallow; a deep flag of boolean true fails, any other value
 *     merges shallowly.
 *   - States.Format renders objects and arrays as Java's toString does:
 *     {k=[1, a]} (what AWS shows), other values as JSON, null as "null".
 * Calls nest at most 10 deep. String literals are single-quoted with the
 * escapes \' \{ \} \\ ; any other backslash is a syntax error.
 */
#include "switchyard/asl/intrinsics.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "path_engine.hpp"

namespace switchyard::asl {
namespace {

constexpr int kMaxNesting = 10;            // AWS: "up to 10 intrinsic functions within a field"
constexpr size_t kMaxStringChars = 10000;  // AWS's input limit for Base64Encode/Decode and Hash
constexpr int64_t kMaxRangeItems = 1000;   // AWS's limit for States.ArrayRange

struct Arity {
  int min;
  int max;  // -1: unbounded
};

const std::map<std::string, Arity, std::less<>>& functions() {
  static const std::map<std::string, Arity, std::less<>> kFunctions = {
      {"States.Format", {1, -1}},     {"States.StringToJson", {1, 1}},   {"States.JsonToString", {1, 1}},
      {"States.Array", {0, -1}},      {"States.ArrayPartition", {2, 2}}, {"States.ArrayContains", {2, 2}},
      {"States.ArrayRange", {3, 3}},  {"States.ArrayGetItem", {2, 2}},   {"States.ArrayLength", {1, 1}},
      {"States.ArrayUnique", {1, 1}}, {"States.Base64Encode", {1, 1}},   {"States.Base64Decode", {1, 1}},
      {"States.Hash", {2, 2}},        {"States.JsonMerge", {3, 3}},      {"States.MathRandom", {2, 3}},
      {"States.MathAdd", {2, 2}},     {"States.StringSplit", {2, 2}},    {"States.UUID", {0, 0}},
  };
  return kFunctions;
}

struct Node {
  enum class Kind { Call, String, Literal, Path };
  Kind kind = Kind::Literal;
  std::string text;  // Call: function name; String: raw content (escapes kept); Path: as written
  Json value;        // String: decoded; Literal: number, boolean or null
  std::vector<Node> args;
  std::optional<detail::CompiledPath> path;
};

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<Node> parse() {
    std::optional<Node> call = parse_call(1);
    if (!call) {
      return std::nullopt;
    }
    skip_spaces();
    if (pos_ != s_.size()) {
      error("unexpected '" + std::string(s_.substr(pos_)) + "' after the call");
      return std::nullopt;
    }
    return call;
  }

  const std::string& why() const { return why_; }

 private:
  void error(std::string why) {
    if (why_.empty()) {
      why_ = std::move(why);
    }
  }

  void skip_spaces() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::optional<Node> parse_call(int depth) {
    if (depth > kMaxNesting) {
      error("intrinsic functions can be nested at most " + std::to_string(kMaxNesting) + " deep");
      return std::nullopt;
    }
    size_t start = pos_;
    if (s_.substr(pos_, 7) != "States.") {
      error("expected a function name such as States.Format at position " + std::to_string(pos_));
      return std::nullopt;
    }
    pos_ += 7;
    while (pos_ < s_.size() && is_ident_char(s_[pos_])) {
      ++pos_;
    }
    Node node;
    node.kind = Node::Kind::Call;
    node.text = std::string(s_.substr(start, pos_ - start));
    auto fn = functions().find(node.text);
    if (fn == functions().end()) {
      error("unknown intrinsic function '" + node.text + "'");
      return std::nullopt;
    }
    skip_spaces();
    if (pos_ >= s_.size() || s_[pos_] != '(') {
      error("expected '(' after " + node.text);
      return std::nullopt;
    }
    ++pos_;
    skip_spaces();
    if (pos_ < s_.size() && s_[pos_] == ')') {
      ++pos_;
    } else {
      while (true) {
        std::optional<Node> arg = parse_arg(depth);
        if (!arg) {
          return std::nullopt;
        }
        node.args.push_back(std::move(*arg));
        skip_spaces();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ')') {
          ++pos_;
          break;
        }
        error("expected ',' or ')' in the arguments of " + node.text);
        return std::nullopt;
      }
    }
    auto count = static_cast<int>(node.args.size());
    const Arity& arity = fn->second;
    if (count < arity.min || (arity.max >= 0 && count > arity.max)) {
      std::string expected = arity.max < 0            ? "at least " + std::to_string(arity.min)
                             : arity.min == arity.max ? std::to_string(arity.min)
                                                      : std::to_string(arity.min) + " or " + std::to_string(arity.max);
      error(node.text + " takes " + expected + " argument(s), not " + std::to_string(count));
      return std::nullopt;
    }
    return node;
  }

  std::optional<Node> parse_arg(int depth) {
    skip_spaces();
    if (pos_ >= s_.size()) {
      error("unterminated call");
      return std::nullopt;
    }
    char c = s_[pos_];
    if (c == '\'') {
      return parse_string();
    }
    if (c == '$') {
      return parse_path();
    }
    if (s_.substr(pos_, 7) == "States.") {
      return parse_call(depth + 1);
    }
    Node node;
    node.kind = Node::Kind::Literal;
    for (auto [word, value] : {std::pair<std::string_view, Json>{"true", true}, {"false", false}, {"null", nullptr}}) {
      if (s_.substr(pos_, word.size()) == word &&
          (pos_ + word.size() == s_.size() || !is_ident_char(s_[pos_ + word.size()]))) {
        pos_ += word.size();
        node.value = value;
        return node;
      }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = pos_;
      ++pos_;
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                  s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-')) {
        ++pos_;
      }
      std::string_view number = s_.substr(start, pos_ - start);
      node.value = Json::parse(number, nullptr, false);
      if (!node.value.is_number()) {
        error("invalid number '" + std::string(number) + "'");
        return std::nullopt;
      }
      return node;
    }
    error("unexpected '" + std::string(1, c) + "' at position " + std::to_string(pos_));
    return std::nullopt;
  }

  std::optional<Node> parse_string() {
    ++pos_;  // opening quote
    Node node;
    node.kind = Node::Kind::String;
    std::string decoded;
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '\'') {
      if (s_[pos_] == '\\') {
        if (pos_ + 1 >= s_.size()) {
          break;
        }
        char e = s_[pos_ + 1];
        if (e != '\'' && e != '{' && e != '}' && e != '\\') {
          error("invalid escape '\\" + std::string(1, e) + "': only \\' \\{ \\} and \\\\ are allowed");
          return std::nullopt;
        }
        decoded += e;
        pos_ += 2;
        continue;
      }
      decoded += s_[pos_++];
    }
    if (pos_ >= s_.size()) {
      error("unterminated string literal");
      return std::nullopt;
    }
    node.text = std::string(s_.substr(start, pos_ - start));
    node.value = std::move(decoded);
    ++pos_;  // closing quote
    return node;
  }

  // A path runs to the first ',' or ')' or space outside brackets and quotes.
  std::optional<Node> parse_path() {
    size_t start = pos_;
    int brackets = 0;
    char quote = 0;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (quote != 0) {
        if (c == '\\') {
          ++pos_;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (brackets > 0 && (c == '\'' || c == '"')) {
        quote = c;
      } else if (c == '[') {
        ++brackets;
      } else if (c == ']') {
        --brackets;
      } else if (brackets == 0 && (c == ',' || c == ')' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
        break;
      }
      ++pos_;
    }
    Node node;
    node.kind = Node::Kind::Path;
    node.text = std::string(s_.substr(start, std::min(pos_, s_.size()) - start));
    auto compiled = detail::compile_path(node.text);
    if (!compiled.ok()) {
      error("invalid path '" + node.text + "': " + compiled.error().cause);
      return std::nullopt;
    }
    node.path = std::move(compiled).value();
    return node;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string why_;
};

// ---- helpers ----------------------------------------------------------------

struct Failure {
  std::string detail;
};

Failure invalid(const std::string& fn) { return Failure{"Invalid arguments in " + fn}; }

// The text a value contributes to a string: strings as they are, anything else as JSON.
std::string as_text(const Json& v) { return v.is_string() ? v.get<std::string>() : detail::to_text(v); }

// How States.Format renders a value: Java's toString of the parsed value, so
// {"k":[1,"a"]} becomes {k=[1, a]}; scalars other than strings as JSON.
void append_format_text(std::string& out, const Json& v) {
  if (v.is_string()) {
    out += v.get_ref<const std::string&>();
  } else if (v.is_array()) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      out += i ? ", " : "";
      append_format_text(out, v[i]);
    }
    out += ']';
  } else if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : v.items()) {
      out += first ? "" : ", ";
      first = false;
      out += key + "=";
      append_format_text(out, value);
    }
    out += '}';
  } else {
    out += detail::to_text(v);
  }
}

// Java's (int) conversion of a number, refusing what does not fit in 32 bits.
std::optional<int64_t> truncated_int(const Json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        return std::nullopt;
      }
      return static_cast<int64_t>(u);
    }
    int64_t i = v.get<int64_t>();
    if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
      return std::nullopt;
    }
    return i;
  }
  if (v.is_number_float()) {
    double d = std::trunc(v.get<double>());
    if (!std::isfinite(d) || d < std::numeric_limits<int32_t>::min() || d > std::numeric_limits<int32_t>::max()) {
      return std::nullopt;
    }
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// Java's Math.round (half up), as a 32-bit integer.
std::optional<int64_t> rounded_int(const Json& v) {
  if (v.is_number_integer()) {
    return truncated_int(v);
  }
  if (v.is_number_float()) {
    double d = std::floor(v.get<double>() + 0.5);
    if (!std::isfinite(d) || d < std::numeric_limits<int32_t>::min() || d > std::numeric_limits<int32_t>::max()) {
      return std::nullopt;
    }
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

bool fits_int32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += kBase64[n & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Lenient, as AWS: characters outside the alphabet are skipped, padding ends the data.
std::string base64_decode(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') {
      break;
    }
    const char* at = std::char_traits<char>::find(kBase64, 64, c);
    if (at == nullptr) {
      continue;
    }
    bits = (bits << 6) | static_cast<uint32_t>(at - kBase64);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xFF);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) {
    out += static_cast<char>((bits >> 4) & 0xFF);
  } else if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xFF);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  return out;
}

// Decoded bytes become a JSON string: invalid UTF-8 turns into U+FFFD, as Java's new String(bytes, UTF_8).
std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (uint32_t cp : detail::code_points(bytes)) {
    detail::append_utf8(out, cp);
  }
  return out;
}

std::optional<std::string> hex_digest(const std::string& algorithm, std::string_view data) {
  static const std::map<std::string, const EVP_MD* (*)(), std::less<>> kAlgorithms = {
      {"MD5", EVP_md5}, {"SHA-1", EVP_sha1}, {"SHA-256", EVP_sha256}, {"SHA-384", EVP_sha384}, {"SHA-512", EVP_sha512}};
  auto it = kAlgorithms.find(algorithm);
  if (it == kAlgorithms.end()) {
    return std::nullopt;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, it->second(), nullptr) != 1) {
    return std::nullopt;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// java.util.Random(seed).nextInt(bound), bound in (0, 2^31).
int64_t java_random_next_int(int64_t seed, int64_t bound) {
  constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  constexpr uint64_t kMask = (1ULL << 48) - 1;
  uint64_t state = (static_cast<uint64_t>(seed) ^ kMultiplier) & kMask;
  auto next31 = [&]() {
    state = (state * kMultiplier + 0xBULL) & kMask;
    return static_cast<int64_t>(state >> 17);
  };
  if ((bound & -bound) == bound) {
    return (bound * next31()) >> 31;
  }
  while (true) {
    int64_t bits = next31();
    int64_t val = bits % bound;
    if (bits - val + (bound - 1) <= std::numeric_limits<int32_t>::max()) {  // Java's int overflow test
      return val;
    }
  }
}

std::string uuid_v4(uint64_t hi, uint64_t lo) {
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[static_cast<size_t>(i)] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

// ---- evaluation -------------------------------------------------------------

class Evaluator {
 public:
  explicit Evaluator(const Scope& scope) : scope_(scope) {}

  std::optional<Json> eval(const Node& node) {
    switch (node.kind) {
      case Node::Kind::String:
      case Node::Kind::Literal:
        return node.value;
      case Node::Kind::Path:
        return eval_path(node);
      case Node::Kind::Call:
        return eval_call(node);
    }
    return std::nullopt;
  }

  std::string detail_;

 private:
  std::optional<Json> fail(Failure f) {
    detail_ = std::move(f.detail);
    return std::nullopt;
  }

  std::optional<Json> eval_path(const Node& node) {
    const Json* doc = detail::root_document(*node.path, scope_);
    if (doc != nullptr) {
      detail::Lookup found = detail::lookup(*node.path, *doc);
      if (found.found && !found.past_end) {
        return std::move(found.value);
      }
    }
    return fail(Failure{"The JsonPath argument for the field '" + node.text + "' could not be found in the input '" +
                        detail::to_text(doc != nullptr ? *doc : Json()) + "'"});
  }

  std::optional<Json> eval_call(const Node& node) {
    std::vector<Json> args;
    args.reserve(node.args.size());
    for (const auto& arg : node.args) {
      std::optional<Json> value = eval(arg);
      if (!value) {
        return std::nullopt;
      }
      args.push_back(std::move(*value));
    }
    auto result = call(node, args);
    if (auto* failure = std::get_if<Failure>(&result)) {
      return fail(std::move(*failure));
    }
    return std::get<Json>(std::move(result));
  }

  using Outcome = std::variant<Json, Failure>;

  Outcome call(const Node& node, std::vector<Json>& args) {
    const std::string& fn = node.text;
    // The parser checked arity; these are the value rules.
    if (fn == "States.Format") {
      return format(node, args);
    }
    if (fn == "States.StringToJson") {
      if (!args[0].is_string()) {
        return invalid(fn);
      }
      Json parsed = Json::parse(args[0].get<std::string>(), nullptr, false);
      if (parsed.is_discarded()) {
        return invalid(fn);
      }
      return parsed;
    }
    if (fn == "States.JsonToString") {
      return Json(detail::to_text(args[0]));
    }
    if (fn == "States.Array") {
      return Json(std::move(args));
    }
    if (fn == "States.ArrayPartition") {
      auto size = truncated_int(args[1]);
      if (!args[0].is_array() || !size || *size <= 0) {
        return invalid(fn);
      }
      Json out = Json::array();
      for (size_t i = 0; i < args[0].size(); i += static_cast<size_t>(*size)) {
        Json chunk = Json::array();
        for (size_t k = i; k < args[0].size() && k < i + static_cast<size_t>(*size); ++k) {
          chunk.push_back(std::move(args[0][k]));
        }
        out.push_back(std::move(chunk));
      }
      return out;
    }
    if (fn == "States.ArrayContains") {
      if (!args[0].is_array()) {
        return invalid(fn);
      }
      std::string wanted = as_text(args[1]);
      for (const auto& item : args[0]) {
        if (as_text(item) == wanted) {
          return Json(true);
        }
      }
      return Json(false);
    }
    if (fn == "States.ArrayRange") {
      auto first = truncated_int(args[0]);
      auto last = truncated_int(args[1]);
      auto step = truncated_int(args[2]);
      if (!first || !last || !step || *step == 0) {
        return invalid(fn);
      }
      Json out = Json::array();
      if ((*step > 0 && *first > *last) || (*step < 0 && *first < *last)) {
        return out;
      }
      int64_t count = (*last - *first) / *step + 1;
      if (count > kMaxRangeItems) {
        return invalid(fn);
      }
      for (int64_t i = 0; i < count; ++i) {
        out.push_back(*first + i * *step);
      }
      return out;
    }
    if (fn == "States.ArrayGetItem") {
      auto index = truncated_int(args[1]);
      if (!args[0].is_array() || !index) {
        return invalid(fn);
      }
      if (args[0].empty()) {
        return Json();  // AWS answers null here rather than failing
      }
      if (*index < 0 || *index >= static_cast<int64_t>(args[0].size())) {
        return invalid(fn);
      }
      return std::move(args[0][static_cast<size_t>(*index)]);
    }
    if (fn == "States.ArrayLength") {
      if (!args[0].is_array()) {
        return invalid(fn);
      }
      return Json(args[0].size());
    }
    if (fn == "States.ArrayUnique") {
      if (!args[0].is_array()) {
        return invalid(fn);
      }
      Json out = Json::array();
      for (auto& item : args[0]) {
        if (std::find(out.begin(), out.end(), item) == out.end()) {
          out.push_back(std::move(item));
        }
      }
      return out;
    }
    if (fn == "States.Base64Encode") {
      if (!args[0].is_string() || detail::code_points(args[0].get_ref<const std::string&>()).size() > kMaxStringChars) {
        return invalid(fn);
      }
      return Json(base64_encode(args[0].get_ref<const std::string&>()));
    }
    if (fn == "States.Base64Decode") {
      if (!args[0].is_string() || detail::code_points(args[0].get_ref<const std::string&>()).size() > kMaxStringChars) {
        return invalid(fn);
      }
      return Json(valid_utf8(base64_decode(args[0].get_ref<const std::string&>())));
    }
    if (fn == "States.Hash") {
      std::string data = as_text(args[0]);
      if (!args[1].is_string() || detail::code_points(data).size() > kMaxStringChars) {
        return invalid(fn);
      }
      auto digest = hex_digest(args[1].get<std::string>(), data);
      if (!digest) {
        return invalid(fn);
      }
      return Json(std::move(*digest));
    }
    if (fn == "States.JsonMerge") {
      if (!args[0].is_object() || !args[1].is_object() || args[2] == Json(true)) {
        return invalid(fn);
      }
      Json out = std::move(args[0]);
      for (auto& [key, value] : args[1].items()) {
        out[key] = std::move(value);
      }
      return out;
    }
    if (fn == "States.MathRandom") {
      return math_random(fn, args);
    }
    if (fn == "States.MathAdd") {
      auto a = rounded_int(args[0]);
      auto b = rounded_int(args[1]);
      if (!a || !b || !fits_int32(*a + *b)) {
        return invalid(fn);
      }
      return Json(*a + *b);
    }
    if (fn == "States.StringSplit") {
      if (!args[0].is_string() || !args[1].is_string()) {
        return invalid(fn);
      }
      return string_split(args[0].get_ref<const std::string&>(), args[1].get_ref<const std::string&>());
    }
    if (fn == "States.UUID") {
      if (scope_.random == nullptr || !*scope_.random) {
        return Failure{"no source of randomness is available for States.UUID"};
      }
      uint64_t hi = (*scope_.random)();
      uint64_t lo = (*scope_.random)();
      return Json(uuid_v4(hi, lo));
    }
    return Failure{"unknown intrinsic function '" + fn + "'"};
  }

  Outcome format(const Node& node, const std::vector<Json>& args) {
    const std::string fn = "States.Format";
    if (!args[0].is_string()) {
      return invalid(fn);
    }
    // A literal template keeps its escapes, so "\{" is a brace, not a placeholder.
    bool literal = node.args[0].kind == Node::Kind::String;
    const std::string& tmpl = literal ? node.args[0].text : args[0].get_ref<const std::string&>();
    std::string out;
    size_t next_arg = 1;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      char c = tmpl[i];
      if (literal && c == '\\' && i + 1 < tmpl.size()) {
        out += tmpl[++i];
        continue;
      }
      if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
        if (next_arg >= args.size()) {
          return invalid(fn);
        }
        append_format_text(out, args[next_arg++]);
        ++i;
        continue;
      }
      if (literal && (c == '{' || c == '}')) {
        return Failure{"Invalid template in States.Format: unmatched '" + std::string(1, c) + "'"};
      }
      out += c;
    }
    if (next_arg != args.size()) {
      return invalid(fn);
    }
    return Json(std::move(out));
  }

  Outcome math_random(const std::string& fn, const std::vector<Json>& args) {
    auto start = truncated_int(args[0]);
    auto end = truncated_int(args[1]);
    if (!start || !end || *start >= *end || *end - *start > std::numeric_limits<int32_t>::max()) {
      return invalid(fn);
    }
    int64_t bound = *end - *start;
    if (args.size() == 3) {
      const Json& seed = args[2];
      if (!seed.is_number()) {
        return invalid(fn);
      }
      int64_t s = seed.is_number_float() ? static_cast<int64_t>(std::trunc(seed.get<double>())) : seed.get<int64_t>();
      return Json(*start + java_random_next_int(s, bound));
    }
    if (scope_.random == nullptr || !*scope_.random) {
      return Failure{"no source of randomness is available for States.MathRandom"};
    }
    return Json(*start + static_cast<int64_t>((*scope_.random)() % static_cast<uint64_t>(bound)));
  }

  static Json string_split(const std::string& text, const std::string& delimiters) {
    std::vector<uint32_t> delims = detail::code_points(delimiters);
    Json out = Json::array();
    std::string token;
    for (uint32_t cp : detail::code_points(text)) {
      if (std::find(delims.begin(), delims.end(), cp) != delims.end()) {
        if (!token.empty()) {
          out.push_back(std::move(token));
          token.clear();
        }
        continue;
      }
      detail::append_utf8(token, cp);
    }
    if (!token.empty()) {
      out.push_back(std::move(token));
    }
    return out;
  }

  const Scope& scope_;
};

}  // namespace

bool is_intrinsic(std::string_view text) {
  if (!text.starts_with("States.")) {
    return false;
  }
  size_t i = 7;
  while (i < text.size() && is_ident_char(text[i])) {
    ++i;
  }
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
    ++i;
  }
  return i > 7 && i < text.size() && text[i] == '(';
}

bool validate_intrinsic(std::string_view text, std::string* why) {
  Parser parser(text);
  if (parser.parse()) {
    return true;
  }
  if (why != nullptr) {
    *why = parser.why();
  }
  return false;
}

Result<Json> evaluate_intrinsic(std::string_view text, const Scope& scope) {
  auto failure = [&](const std::string& detail) {
    return Error{"States.Runtime", "The function '" + std::string(text) + "' had the following error: " + detail};
  };
  Parser parser(text);
  std::optional<Node> call = parser.parse();
  if (!call) {
    return failure(parser.why());
  }
  Evaluator evaluator(scope);
  std::optional<Json> value = evaluator.eval(*call);
  if (!value) {
    return failure(evaluator.detail_);
  }
  return std::move(*value);
}

}  // namespace switchyard::asl
