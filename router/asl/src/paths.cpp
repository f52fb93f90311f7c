/*
 * JSONPath as AWS Step Functions evaluates it.
 *
 * Step Functions runs Jayway JsonPath (with a Jackson JSON provider) under the
 * hood, and its quirks are what users see, so this evaluator follows Jayway
 * rather than RFC 9535:
 *   - A path is "definite" when every step selects at most one node (a name,
 *     an index, or a name union as the last step, which merges into one
 *     object). A definite path that selects nothing fails; an indefinite path
 *     returns the list of its matches, possibly empty.
 *   - While every step so far has been definite, a missing property or a step
 *     through the wrong type fails immediately ("Missing property in path
 *     $['a']"); after the first indefinite step such branches are skipped.
 *   - An array index past the end, as the last step, yields null rather than
 *     failing (Jackson's ArrayNode.get); AWS shows the same.
 *   - A union of names as the last step, "$['a','b']", yields one object with
 *     the present keys.
 * Filters support ==, !=, <, <=, >, >=, &&, ||, !, parentheses, existence
 * tests (`@.isbn`) and literals; `@` is the current element, `$` the document.
 * Slices take an optional step with Python's semantics (Jayway's for step 1).
 * Roots: "$" input, "$$" context object, "$name" a variable.
 */
#include "switchyard/asl/paths.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "path_engine.hpp"

namespace switchyard::asl {
namespace detail {

struct FilterOperand {
  enum class Kind { Literal, Current, Document };
  Kind kind = Kind::Literal;
  Json literal;
  std::shared_ptr<const CompiledPath> path;  // Current ("@...") or Document ("$...")
};

struct FilterExpr {
  enum class Kind { Or, And, Not, Compare, Exists };
  Kind kind = Kind::Exists;
  std::vector<std::shared_ptr<const FilterExpr>> children;  // Or, And, Not
  FilterOperand lhs;                                        // Compare, Exists
  FilterOperand rhs;                                        // Compare
  std::string op;                                           // Compare
};

namespace {

constexpr int kMaxFilterDepth = 32;     // parentheses/nesting in one filter; keeps recursion shallow
constexpr size_t kMaxSteps = 1000;      // steps in one path; evaluation recurses once per step
constexpr size_t kMaxTextDepth = 2000;  // nlohmann's dump recurses per level and overflows near 100,000

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_var_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_var_char(char c) { return is_var_start(c) || is_digit(c); }

// ---- parser -----------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<CompiledPath> parse_top() {
    CompiledPath path;
    path.text = std::string(s_);
    if (s_.empty() || s_[0] != '$') {
      return fail("a path must start with '$'");
    }
    pos_ = 1;
    if (pos_ < s_.size() && s_[pos_] == '$') {
      path.root = Root::Context;
      ++pos_;
    } else if (pos_ < s_.size() && is_var_start(s_[pos_])) {
      path.root = Root::Variable;
      size_t start = pos_;
      while (pos_ < s_.size() && is_var_char(s_[pos_])) {
        ++pos_;
      }
      path.variable = std::string(s_.substr(start, pos_ - start));
    }
    if (!parse_segments(path.segments, false, 0)) {
      return fail(error_);
    }
    if (pos_ != s_.size()) {
      return fail("unexpected '" + std::string(s_.substr(pos_)) + "'");
    }
    finish(path);
    return path;
  }

 private:
  Error fail(const std::string& why) const { return Error{"States.Runtime", why}; }

  bool error(std::string why) {
    if (error_.empty()) {
      error_ = std::move(why);
    }
    return false;
  }

  static void finish(CompiledPath& path) {
    path.definite = true;
    path.reference = true;
    for (size_t i = 0; i < path.segments.size(); ++i) {
      const Segment& seg = path.segments[i];
      bool leaf = i + 1 == path.segments.size();
      bool single = (seg.kind == Segment::Kind::Names && seg.names.size() == 1) ||
                    (seg.kind == Segment::Kind::Indices && seg.indices.size() == 1);
      bool merge = seg.kind == Segment::Kind::Names && seg.names.size() > 1 && leaf;
      if (seg.descendant || !(single || merge)) {
        path.definite = false;
      }
      if (seg.descendant || !single) {
        path.reference = false;
      }
    }
  }

  // In a filter, a path ends at the first character that cannot continue it.
  bool at_path_end(bool in_filter) const {
    if (pos_ >= s_.size()) {
      return true;
    }
    if (!in_filter) {
      return false;
    }
    char c = s_[pos_];
    return c != '.' && c != '[';
  }

  bool parse_segments(std::vector<Segment>& out, bool in_filter, int depth) {
    while (!at_path_end(in_filter)) {
      if (out.size() >= kMaxSteps) {
        return error("a path may have at most " + std::to_string(kMaxSteps) + " steps");
      }
      char c = s_[pos_];
      if (c == '.') {
        ++pos_;
        bool descendant = false;
        if (pos_ < s_.size() && s_[pos_] == '.') {
          descendant = true;
          ++pos_;
        }
        if (pos_ >= s_.size()) {
          return error(descendant ? "'..' must be followed by a name, '*' or '['" : "a path must not end with '.'");
        }
        if (s_[pos_] == '[') {
          if (!parse_bracket(out, descendant, depth)) {
            return false;
          }
          continue;
        }
        Segment seg;
        seg.descendant = descendant;
        if (s_[pos_] == '*') {
          ++pos_;
          seg.kind = Segment::Kind::Wildcard;
        } else {
          std::string name;
          if (!read_dot_name(name, in_filter)) {
            return false;
          }
          seg.kind = Segment::Kind::Names;
          seg.names.push_back(std::move(name));
        }
        out.push_back(std::move(seg));
      } else if (c == '[') {
        if (!parse_bracket(out, false, depth)) {
          return false;
        }
      } else {
        return error("unexpected '" + std::string(1, c) + "' at position " + std::to_string(pos_));
      }
    }
    return true;
  }

  bool read_dot_name(std::string& name, bool in_filter) {
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '.' || c == '[') {
        break;
      }
      if (in_filter && (c == ' ' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' ||
                        c == ',' || c == ']' || c == '\t')) {
        break;
      }
      if (c == '(') {
        return error("functions such as '" + std::string(s_.substr(start, pos_ - start)) + "()' are not supported");
      }
      if (c == ' ' || c == ')' || c == ']' || c == '\'' || c == '"' || c == '\t' || c == '\n') {
        return error("unexpected '" + std::string(1, c) + "' in a name; use ['...'] for such names");
      }
      ++pos_;
    }
    if (pos_ == start) {
      return error("empty name after '.'");
    }
    name = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  void skip_spaces() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }

  bool read_quoted(std::string& out) {
    char quote = s_[pos_++];
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
        char e = s_[pos_ + 1];
        pos_ += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          default:
            out += e;  // \' \" \\ and anything else: the character itself
        }
        continue;
      }
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) {
      return error("unterminated quoted name");
    }
    ++pos_;
    return true;
  }

  bool read_int(int64_t& v) {
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') {
      ++pos_;
    }
    while (pos_ < s_.size() && is_digit(s_[pos_])) {
      ++pos_;
    }
    auto [ptr, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, v);
    if (ec != std::errc() || ptr != s_.data() + pos_) {
      pos_ = start;
      return error("expected an integer at position " + std::to_string(start));
    }
    return true;
  }

  bool parse_bracket(std::vector<Segment>& out, bool descendant, int depth) {
    ++pos_;  // '['
    skip_spaces();
    if (pos_ >= s_.size()) {
      return error("unterminated '['");
    }
    Segment seg;
    seg.descendant = descendant;
    char c = s_[pos_];
    if (c == '*') {
      ++pos_;
      seg.kind = Segment::Kind::Wildcard;
    } else if (c == '?') {
      ++pos_;
      skip_spaces();
      if (pos_ >= s_.size() || s_[pos_] != '(') {
        return error("a filter must look like [?(...)]");
      }
      ++pos_;
      auto expr = parse_or(depth + 1);
      if (!expr) {
        return false;
      }
      skip_spaces();
      if (pos_ >= s_.size() || s_[pos_] != ')') {
        return error("expected ')' to close the filter");
      }
      ++pos_;
      seg.kind = Segment::Kind::Filter;
      seg.filter = std::move(expr);
    } else if (c == '\'' || c == '"') {
      seg.kind = Segment::Kind::Names;
      while (true) {
        if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) {
          return error("expected a quoted name");
        }
        std::string name;
        if (!read_quoted(name)) {
          return false;
        }
        seg.names.push_back(std::move(name));
        skip_spaces();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          skip_spaces();
          continue;
        }
        break;
      }
    } else if (c == '-' || is_digit(c) || c == ':') {
      std::optional<int64_t> first;
      if (c != ':') {
        int64_t v = 0;
        if (!read_int(v)) {
          return false;
        }
        first = v;
      }
      skip_spaces();
      if (pos_ < s_.size() && s_[pos_] == ':') {
        seg.kind = Segment::Kind::Slice;
        seg.start = first;
        ++pos_;
        skip_spaces();
        if (pos_ < s_.size() && (s_[pos_] == '-' || is_digit(s_[pos_]))) {
          int64_t v = 0;
          if (!read_int(v)) {
            return false;
          }
          seg.end = v;
        }
        skip_spaces();
        if (pos_ < s_.size() && s_[pos_] == ':') {
          ++pos_;
          skip_spaces();
          if (pos_ < s_.size() && (s_[pos_] == '-' || is_digit(s_[pos_]))) {
            if (!read_int(seg.step)) {
              return false;
            }
            if (seg.step == 0) {
              return error("a slice step must not be 0");
            }
          }
        }
      } else {
        seg.kind = Segment::Kind::Indices;
        seg.indices.push_back(*first);
        while (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          skip_spaces();
          int64_t v = 0;
          if (!read_int(v)) {
            return false;
          }
          seg.indices.push_back(v);
          skip_spaces();
        }
      }
    } else {
      return error("unexpected '" + std::string(1, c) + "' after '['");
    }
    skip_spaces();
    if (pos_ >= s_.size() || s_[pos_] != ']') {
      return error("expected ']' at position " + std::to_string(pos_));
    }
    ++pos_;
    out.push_back(std::move(seg));
    return true;
  }

  // ---- filter expressions ----

  using ExprPtr = std::shared_ptr<const FilterExpr>;

  ExprPtr parse_or(int depth) {
    if (depth > kMaxFilterDepth) {
      error("the filter is nested too deeply");
      return nullptr;
    }
    ExprPtr left = parse_and(depth);
    if (!left) {
      return nullptr;
    }
    skip_spaces();
    if (!starts_with("||")) {
      return left;
    }
    auto node = std::make_shared<FilterExpr>();
    node->kind = FilterExpr::Kind::Or;
    node->children.push_back(std::move(left));
    while (starts_with("||")) {
      pos_ += 2;
      ExprPtr next = parse_and(depth);
      if (!next) {
        return nullptr;
      }
      node->children.push_back(std::move(next));
      skip_spaces();
    }
    return node;
  }

  ExprPtr parse_and(int depth) {
    ExprPtr left = parse_unary(depth);
    if (!left) {
      return nullptr;
    }
    skip_spaces();
    if (!starts_with("&&")) {
      return left;
    }
    auto node = std::make_shared<FilterExpr>();
    node->kind = FilterExpr::Kind::And;
    node->children.push_back(std::move(left));
    while (starts_with("&&")) {
      pos_ += 2;
      ExprPtr next = parse_unary(depth);
      if (!next) {
        return nullptr;
      }
      node->children.push_back(std::move(next));
      skip_spaces();
    }
    return node;
  }

  ExprPtr parse_unary(int depth) {
    skip_spaces();
    if (pos_ >= s_.size()) {
      error("unterminated filter");
      return nullptr;
    }
    if (s_[pos_] == '!' && !starts_with("!=")) {
      ++pos_;
      ExprPtr inner = parse_unary(depth + 1);
      if (!inner) {
        return nullptr;
      }
      auto node = std::make_shared<FilterExpr>();
      node->kind = FilterExpr::Kind::Not;
      node->children.push_back(std::move(inner));
      return node;
    }
    if (s_[pos_] == '(') {
      ++pos_;
      ExprPtr inner = parse_or(depth + 1);
      if (!inner) {
        return nullptr;
      }
      skip_spaces();
      if (pos_ >= s_.size() || s_[pos_] != ')') {
        error("expected ')' in the filter");
        return nullptr;
      }
      ++pos_;
      return inner;
    }
    auto node = std::make_shared<FilterExpr>();
    if (!parse_operand(node->lhs, depth)) {
      return nullptr;
    }
    skip_spaces();
    static constexpr std::string_view kOps[] = {"==", "!=", "<=", ">=", "<", ">"};
    for (std::string_view op : kOps) {
      if (starts_with(op)) {
        pos_ += op.size();
        node->kind = FilterExpr::Kind::Compare;
        node->op = std::string(op);
        skip_spaces();
        if (!parse_operand(node->rhs, depth)) {
          return nullptr;
        }
        return node;
      }
    }
    if (node->lhs.kind == FilterOperand::Kind::Literal) {
      error("a filter term must be a comparison or a path");
      return nullptr;
    }
    node->kind = FilterExpr::Kind::Exists;
    return node;
  }

  bool parse_operand(FilterOperand& operand, int depth) {
    if (pos_ >= s_.size()) {
      return error("unterminated filter");
    }
    char c = s_[pos_];
    if (c == '@' || c == '$') {
      ++pos_;
      auto path = std::make_shared<CompiledPath>();
      path->root = Root::Input;
      size_t start = pos_ - 1;
      if (!parse_segments(path->segments, true, depth)) {
        return false;
      }
      path->text = std::string(s_.substr(start, pos_ - start));
      finish(*path);
      operand.kind = c == '@' ? FilterOperand::Kind::Current : FilterOperand::Kind::Document;
      operand.path = std::move(path);
      return true;
    }
    operand.kind = FilterOperand::Kind::Literal;
    if (c == '\'' || c == '"') {
      std::string text;
      if (!read_quoted(text)) {
        return false;
      }
      operand.literal = std::move(text);
      return true;
    }
    for (auto [word, value] : {std::pair<std::string_view, Json>{"true", true}, {"false", false}, {"null", nullptr}}) {
      if (starts_with(word)) {
        pos_ += word.size();
        operand.literal = value;
        return true;
      }
    }
    if (c == '-' || is_digit(c)) {
      size_t start = pos_;
      ++pos_;
      while (pos_ < s_.size() &&
             (is_digit(s_[pos_]) || s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E' ||
              ((s_[pos_] == '-' || s_[pos_] == '+') && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E')))) {
        ++pos_;
      }
      Json number = Json::parse(s_.substr(start, pos_ - start), nullptr, false);
      if (!number.is_number()) {
        return error("bad number in the filter");
      }
      operand.literal = std::move(number);
      return true;
    }
    return error("unexpected '" + std::string(1, c) + "' in the filter");
  }

  bool starts_with(std::string_view prefix) const { return s_.substr(pos_).substr(0, prefix.size()) == prefix; }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

// ---- evaluation ---------------------------------------------------------------

std::string quote_name(const std::string& name) { return "['" + name + "']"; }

std::string segment_text(const Segment& seg) {
  std::string out = seg.descendant ? ".." : "";
  switch (seg.kind) {
    case Segment::Kind::Names: {
      out += "[";
      for (size_t i = 0; i < seg.names.size(); ++i) {
        out += (i ? "," : "") + std::string("'") + seg.names[i] + "'";
      }
      return out + "]";
    }
    case Segment::Kind::Indices: {
      out += "[";
      for (size_t i = 0; i < seg.indices.size(); ++i) {
        out += (i ? "," : "") + std::to_string(seg.indices[i]);
      }
      return out + "]";
    }
    case Segment::Kind::Slice:
      return out + "[" + (seg.start ? std::to_string(*seg.start) : "") + ":" +
             (seg.end ? std::to_string(*seg.end) : "") + (seg.step != 1 ? ":" + std::to_string(seg.step) : "") + "]";
    case Segment::Kind::Wildcard:
      return out + "[*]";
    case Segment::Kind::Filter:
      return out + "[?]";
  }
  return out;
}

const Json& null_json() {
  static const Json kNull;
  return kNull;
}

bool numeric_equal(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    if (a.is_number_unsigned() || b.is_number_unsigned()) {
      // Mixed signedness: compare through the exact representations.
      if (a.is_number_unsigned() && b.is_number_unsigned()) {
        return a.get<uint64_t>() == b.get<uint64_t>();
      }
      const Json& u = a.is_number_unsigned() ? a : b;
      const Json& s = a.is_number_unsigned() ? b : a;
      return s.get<int64_t>() >= 0 && static_cast<uint64_t>(s.get<int64_t>()) == u.get<uint64_t>();
    }
    return a.get<int64_t>() == b.get<int64_t>();
  }
  return a.get<double>() == b.get<double>();
}

class Evaluator {
 public:
  explicit Evaluator(const Json& doc) : doc_(doc) {}

  // Appends the matches of segs[i..] applied to `node`. Returns false (with
  // detail_) on a Jayway failure, which only happens on definite prefixes.
  bool walk(const std::vector<Segment>& segs, size_t i, const Json& node, const std::string& where, bool definite,
            std::vector<Json>& out) {
    if (i == segs.size()) {
      out.push_back(node);
      return true;
    }
    const Segment& seg = segs[i];
    if (seg.descendant) {
      return scan(segs, i, node, out);
    }
    return step(segs, i, node, where, definite, out);
  }

  std::string detail_;
  bool past_end_ = false;

 private:
  bool fail(std::string why) {
    detail_ = std::move(why);
    return false;
  }

  // Recursive descent, iterative so deeply nested documents cannot exhaust the stack.
  bool scan(const std::vector<Segment>& segs, size_t i, const Json& node, std::vector<Json>& out) {
    std::vector<const Json*> stack{&node};
    while (!stack.empty()) {
      const Json* current = stack.back();
      stack.pop_back();
      if (!step(segs, i, *current, std::string(), false, out)) {
        return false;
      }
      if (current->is_object() || current->is_array()) {
        size_t before = stack.size();
        for (const auto& child : *current) {
          if (child.is_object() || child.is_array()) {
            stack.push_back(&child);
          }
        }
        std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(before), stack.end());
      }
    }
    return true;
  }

  bool check_array(const Segment& seg, const Json& node, const std::string& where, bool definite, bool& skip) {
    skip = false;
    if (node.is_array()) {
      return true;
    }
    skip = true;
    if (!definite) {
      return true;
    }
    if (node.is_null()) {
      return fail("The path " + where + " is null");
    }
    return fail("Filter: " + segment_text(seg) +
                " can only be applied to arrays. Current context is: " + to_text(node));
  }

  bool step(const std::vector<Segment>& segs, size_t i, const Json& node, const std::string& where, bool definite,
            std::vector<Json>& out) {
    const Segment& seg = segs[i];
    bool leaf = i + 1 == segs.size();
    auto next_where = [&](const std::string& part) { return definite ? where + part : std::string(); };
    switch (seg.kind) {
      case Segment::Kind::Names: {
        if (!node.is_object()) {
          if (!definite) {
            return true;
          }
          return fail("Expected to find an object with property " + quote_name(seg.names.front()) + " in path " +
                      where + " but found '" + json_type_name(node) + "'");
        }
        if (seg.names.size() == 1) {
          auto it = node.find(seg.names.front());
          if (it == node.end()) {
            if (leaf || !definite) {
              return true;  // a missing leaf is judged by the caller; off a definite prefix it is skipped
            }
            return fail("Missing property in path " + where + quote_name(seg.names.front()));
          }
          return walk(segs, i + 1, *it, next_where(quote_name(seg.names.front())), definite, out);
        }
        if (leaf) {
          Json merged = Json::object();
          for (const auto& name : seg.names) {
            auto it = node.find(name);
            if (it != node.end()) {
              merged[name] = *it;
            }
          }
          out.push_back(std::move(merged));
          return true;
        }
        for (const auto& name : seg.names) {
          auto it = node.find(name);
          if (it != node.end() && !walk(segs, i + 1, *it, std::string(), false, out)) {
            return false;
          }
        }
        return true;
      }
      case Segment::Kind::Indices: {
        bool skip = false;
        if (!check_array(seg, node, where, definite, skip)) {
          return false;
        }
        if (skip) {
          return true;
        }
        auto size = static_cast<int64_t>(node.size());
        if (seg.indices.size() == 1) {
          int64_t idx = seg.indices.front() < 0 ? size + seg.indices.front() : seg.indices.front();
          bool inside = idx >= 0 && idx < size;
          if (!inside && leaf && definite) {
            past_end_ = true;
          }
          const Json& item = inside ? node[static_cast<size_t>(idx)] : null_json();
          return walk(segs, i + 1, item, next_where("[" + std::to_string(seg.indices.front()) + "]"), definite, out);
        }
        for (int64_t raw : seg.indices) {
          int64_t idx = raw < 0 ? size + raw : raw;
          if (idx >= 0 && idx < size && !walk(segs, i + 1, node[static_cast<size_t>(idx)], std::string(), false, out)) {
            return false;
          }
        }
        return true;
      }
      case Segment::Kind::Slice: {
        bool skip = false;
        if (!check_array(seg, node, where, definite, skip)) {
          return false;
        }
        if (skip) {
          return true;
        }
        auto size = static_cast<int64_t>(node.size());
        auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
          if (!v) {
            return dflt;
          }
          int64_t x = *v < 0 ? *v + size : *v;
          return std::clamp(x, lo, hi);
        };
        if (seg.step > 0) {
          int64_t from = clamp(seg.start, 0, 0, size);
          int64_t to = clamp(seg.end, size, 0, size);
          for (int64_t k = from; k < to; k += seg.step) {
            if (!walk(segs, i + 1, node[static_cast<size_t>(k)], std::string(), false, out)) {
              return false;
            }
          }
        } else {
          int64_t from = clamp(seg.start, size - 1, -1, size - 1);
          int64_t to = clamp(seg.end, -1, -1, size - 1);
          for (int64_t k = from; k > to; k += seg.step) {
            if (!walk(segs, i + 1, node[static_cast<size_t>(k)], std::string(), false, out)) {
              return false;
            }
          }
        }
        return true;
      }
      case Segment::Kind::Wildcard: {
        if (node.is_object() || node.is_array()) {
          for (const auto& child : node) {
            if (!walk(segs, i + 1, child, std::string(), false, out)) {
              return false;
            }
          }
        }
        return true;
      }
      case Segment::Kind::Filter: {
        if (node.is_object()) {
          return !matches(*seg.filter, node) || walk(segs, i + 1, node, std::string(), false, out);
        }
        if (node.is_array()) {
          for (const auto& child : node) {
            if (matches(*seg.filter, child) && !walk(segs, i + 1, child, std::string(), false, out)) {
              return false;
            }
          }
          return true;
        }
        if (!definite) {
          return true;
        }
        return fail("Filter: [?] can not be applied to primitives. Current context is: " + to_text(node));
      }
    }
    return true;
  }

  // ---- filters ----

  // The value of an operand, or nullopt when its path selects nothing.
  std::optional<Json> operand_value(const FilterOperand& operand, const Json& current) {
    if (operand.kind == FilterOperand::Kind::Literal) {
      return operand.literal;
    }
    const Json& start = operand.kind == FilterOperand::Kind::Current ? current : doc_;
    Evaluator inner(doc_);
    std::vector<Json> found;
    if (!inner.walk(operand.path->segments, 0, start, "@", true, found)) {
      return std::nullopt;  // a failing sub-path is simply absent, as in Jayway filters
    }
    if (operand.path->definite) {
      if (found.empty()) {
        return std::nullopt;
      }
      return std::move(found.front());
    }
    return Json(std::move(found));
  }

  static bool loose_equal(const Json& a, const Json& b) {
    if (a.is_number() && b.is_number()) {
      return numeric_equal(a, b);
    }
    // Jayway compares a number and a numeric string by value.
    if ((a.is_number() && b.is_string()) || (a.is_string() && b.is_number())) {
      const Json& str = a.is_string() ? a : b;
      Json parsed = Json::parse(str.get_ref<const std::string&>(), nullptr, false);
      return parsed.is_number() && numeric_equal(parsed, a.is_number() ? a : b);
    }
    return a == b;
  }

  static bool compare(const Json& a, const std::string& op, const Json& b) {
    if (op == "==") {
      return loose_equal(a, b);
    }
    if (op == "!=") {
      return !loose_equal(a, b);
    }
    int cmp = 0;
    if (a.is_number() && b.is_number()) {
      if (numeric_equal(a, b)) {
        cmp = 0;
      } else {
        cmp = a.get<double>() < b.get<double>() ? -1 : 1;
      }
    } else if (a.is_string() && b.is_string()) {
      cmp = compare_utf16(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
    } else {
      return false;
    }
    if (op == "<") {
      return cmp < 0;
    }
    if (op == "<=") {
      return cmp <= 0;
    }
    if (op == ">") {
      return cmp > 0;
    }
    return cmp >= 0;
  }

  bool matches(const FilterExpr& expr, const Json& current) {
    switch (expr.kind) {
      case FilterExpr::Kind::Or:
        return std::any_of(expr.children.begin(), expr.children.end(),
                           [&](const auto& child) { return matches(*child, current); });
      case FilterExpr::Kind::And:
        return std::all_of(expr.children.begin(), expr.children.end(),
                           [&](const auto& child) { return matches(*child, current); });
      case FilterExpr::Kind::Not:
        return !matches(*expr.children.front(), current);
      case FilterExpr::Kind::Exists:
        return operand_value(expr.lhs, current).has_value();
      case FilterExpr::Kind::Compare: {
        auto lhs = operand_value(expr.lhs, current);
        auto rhs = operand_value(expr.rhs, current);
        if (!lhs || !rhs) {
          return expr.op == "!=";
        }
        return compare(*lhs, expr.op, *rhs);
      }
    }
    return false;
  }

  const Json& doc_;
};

std::string root_text(const CompiledPath& path) {
  switch (path.root) {
    case Root::Context:
      return "$$";
    case Root::Variable:
      return "$" + path.variable;
    case Root::Input:
      break;
  }
  return "$";
}

Error runtime(std::string cause) { return Error{"States.Runtime", std::move(cause)}; }

}  // namespace

Result<CompiledPath> compile_path(std::string_view text) { return Parser(text).parse_top(); }

Lookup lookup(const CompiledPath& path, const Json& doc) {
  Lookup result;
  Evaluator evaluator(doc);
  std::vector<Json> found;
  if (!evaluator.walk(path.segments, 0, doc, root_text(path), true, found)) {
    result.detail = std::move(evaluator.detail_);
    return result;
  }
  if (path.definite) {
    if (found.empty()) {
      std::string where = root_text(path);
      for (const auto& seg : path.segments) {
        where += segment_text(seg);
      }
      result.detail = "No results for path: " + where;
      return result;
    }
    result.found = true;
    result.past_end = evaluator.past_end_;
    result.value = std::move(found.front());
    return result;
  }
  result.found = true;
  result.value = Json(std::move(found));
  return result;
}

const Json* root_document(const CompiledPath& path, const Scope& scope) {
  switch (path.root) {
    case Root::Input:
      return &scope.input;
    case Root::Context:
      return scope.context;
    case Root::Variable: {
      if (scope.variables == nullptr || !scope.variables->is_object()) {
        return nullptr;
      }
      auto it = scope.variables->find(path.variable);
      return it == scope.variables->end() ? nullptr : &*it;
    }
  }
  return nullptr;
}

size_t nesting_depth(const Json& value) {
  size_t deepest = 0;
  std::vector<std::pair<const Json*, size_t>> stack{{&value, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) {
      continue;
    }
    deepest = std::max(deepest, depth);
    for (const auto& child : *node) {
      stack.emplace_back(&child, depth + 1);
    }
  }
  return deepest;
}

std::string to_text(const Json& value) {
  if (nesting_depth(value) > kMaxTextDepth) {
    return "<JSON nested more than " + std::to_string(kMaxTextDepth) + " levels deep>";
  }
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<uint32_t> code_points(std::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto b = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0;
    size_t len = 0;
    uint32_t min = 0;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      len = 2;
      min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      len = 3;
      min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    bool ok = i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      auto c = static_cast<unsigned char>(text[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

int compare_utf16(std::string_view a, std::string_view b) {
  // UTF-8 byte order equals code point order; it differs from UTF-16 order
  // only between supplementary characters and U+E000..U+FFFF.
  auto units = [](std::string_view s) {
    std::u16string out;
    for (uint32_t cp : code_points(s)) {
      if (cp >= 0x10000) {
        cp -= 0x10000;
        out += static_cast<char16_t>(0xD800 + (cp >> 10));
        out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
      } else {
        out += static_cast<char16_t>(cp);
      }
    }
    return out;
  };
  std::u16string ua = units(a);
  std::u16string ub = units(b);
  int c = ua.compare(ub);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

const char* json_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    default:
      return "number";
  }
}

}  // namespace detail

bool is_valid_path(std::string_view path, PathKind kind, std::string* why) {
  auto compiled = detail::compile_path(path);
  if (!compiled.ok()) {
    if (why != nullptr) {
      *why = compiled.error().cause;
    }
    return false;
  }
  if (kind == PathKind::Reference && !compiled->reference) {
    if (why != nullptr) {
      *why = "a reference path must identify a single node: no '*', '..', filters, slices or unions";
    }
    return false;
  }
  return true;
}

Result<Json> evaluate_path(std::string_view path, const Scope& scope) {
  auto compiled = detail::compile_path(path);
  if (!compiled.ok()) {
    return detail::runtime("Invalid path '" + std::string(path) + "' : " + compiled.error().cause);
  }
  const Json* doc = detail::root_document(*compiled, scope);
  if (doc == nullptr) {
    std::string what = compiled->root == detail::Root::Context
                           ? "the context object is not available"
                           : "the variable '" + compiled->variable + "' is not defined";
    return detail::runtime("Invalid path '" + std::string(path) + "' : " + what);
  }
  detail::Lookup found = detail::lookup(*compiled, *doc);
  if (!found.found) {
    return detail::runtime("Invalid path '" + std::string(path) + "' : " + found.detail);
  }
  return std::move(found.value);
}

Result<Json> apply_result_path(Json input, std::string_view path, Json result) {
  auto failure = [&] {
    return Error{"States.ResultPathMatchFailure",
                 "Unable to apply ResultPath '" + std::string(path) + "' to input '" + detail::to_text(input) + "'"};
  };
  auto compiled = detail::compile_path(path);
  if (!compiled.ok() || !compiled->reference || compiled->root != detail::Root::Input) {
    return failure();
  }
  const auto& segs = compiled->segments;
  auto index_of = [](const detail::Segment& seg, const Json& array) -> std::optional<size_t> {
    auto size = static_cast<int64_t>(array.size());
    int64_t idx = seg.indices.front() < 0 ? size + seg.indices.front() : seg.indices.front();
    if (idx < 0 || idx >= size) {
      return std::nullopt;
    }
    return static_cast<size_t>(idx);
  };
  // First check the whole walk without touching the input, so a failure
  // reports the input as it was: missing names are created as objects, but
  // nothing else may be missing and nothing may be of the wrong type.
  const Json* probe = &input;
  for (const auto& seg : segs) {
    if (probe == nullptr) {  // below a name that will be created: only names can follow
      if (seg.kind != detail::Segment::Kind::Names) {
        return failure();
      }
      continue;
    }
    if (seg.kind == detail::Segment::Kind::Names) {
      if (!probe->is_object()) {
        return failure();
      }
      auto it = probe->find(seg.names.front());
      probe = it == probe->end() ? nullptr : &*it;
    } else {
      if (!probe->is_array()) {
        return failure();
      }
      auto idx = index_of(seg, *probe);
      if (!idx) {
        return failure();
      }
      probe = &(*probe)[*idx];
    }
  }
  if (segs.empty()) {
    return result;
  }
  Json* node = &input;
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (segs[i].kind == detail::Segment::Kind::Names) {
      const std::string& name = segs[i].names.front();
      if (!node->contains(name)) {
        (*node)[name] = Json::object();
      }
      node = &(*node)[name];
    } else {
      node = &(*node)[*index_of(segs[i], *node)];
    }
  }
  const auto& last = segs.back();
  if (last.kind == detail::Segment::Kind::Names) {
    (*node)[last.names.front()] = std::move(result);
  } else {
    (*node)[*index_of(last, *node)] = std::move(result);
  }
  return input;
}

}  // namespace switchyard::asl
