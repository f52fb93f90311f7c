// JSON text, fast: the same text as nlohmann's dump() (compact, sorted keys,
// UTF-8 kept as it is), written straight into one string. Every step renders
// payloads several times (history events, the run record, size checks), and
// nlohmann's serializer spends most of its time in a per-byte UTF-8 state
// machine and in small writes. Here ASCII strings are copied in runs between
// the bytes that need escaping; anything unusual (non-ASCII strings, floats,
// binary) is handed to nlohmann for that node, so the output is identical.
#include <charconv>

#include "switchyard/asl/json.hpp"

namespace switchyard {

namespace {

// Appends `s` escaped as nlohmann does: \" \\ \b \f \n \r \t, other control
// characters as \u00xx (lowercase hex), everything else as it is.
void append_ascii_escaped(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the pending unescaped run
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        break;
    }
  }
  out.append(s, run, std::string::npos);
  out += '"';
}

bool ascii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

void append_string(std::string& out, const std::string& s) {
  if (ascii(s)) {
    append_ascii_escaped(out, s);
  } else {
    out += Json(s).dump();  // UTF-8: nlohmann validates it (and throws on invalid bytes, as dump() does)
  }
}

template <typename T>
void append_number(std::string& out, T v) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

}  // namespace

void append_json(std::string& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      append_number(out, j.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      append_number(out, j.get<uint64_t>());
      return;
    case Json::value_t::string:
      append_string(out, j.get_ref<const std::string&>());
      return;
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) {
          out += ',';
        }
        first = false;
        append_string(out, k);
        out += ':';
        append_json(out, v);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) {
          out += ',';
        }
        first = false;
        append_json(out, v);
      }
      out += ']';
      return;
    }
    default:
      out += j.dump();  // floats (shortest round-trip digits), binary, discarded
      return;
  }
}

std::string dump_json(const Json& j) {
  std::string out;
  out.reserve(64);
  append_json(out, j);
  return out;
}

size_t json_size(const Json& j) {
  thread_local std::string buf;  // reused: a size check should not allocate
  buf.clear();
  append_json(buf, j);
  size_t n = buf.size();
  if (buf.capacity() > (1U << 20)) {
    std::string().swap(buf);  // do not keep a huge buffer around after a big payload
  }
  return n;
}

}  // namespace switchyard
