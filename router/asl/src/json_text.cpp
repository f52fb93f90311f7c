// JSON text, fast: the same text as nlohmann's dump() (compact, sorted keys,
// UTF-8 kept as it is), written straight into one string. Every step renders
// payloads several times (history events, the run record, size checks), and
// nlohmann's serializer spends most of its time in a per-byte UTF-8 state
// machine and in small writes. Here ASCII strings are copied in runs between
// the bytes that need escaping; anything unusual (non-ASCII strings, floats,
// binary) is handed to nlohmann for that node, so the output is identical.
#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "switchyard/asl/json.hpp"

namespace switchyard {

namespace {

// Byte classes: 0 copied as it is, 1 escaped, 2 not ASCII.
constexpr std::array<unsigned char, 256> kClass = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 0x20; ++c) {
    t[static_cast<size_t>(c)] = 1;
  }
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) {
    t[static_cast<size_t>(c)] = 2;
  }
  return t;
}();

// True when none of the 8 bytes of `w` needs a look: all printable ASCII other
// than '"' and '\\' (exact for "any byte": a borrow only spills past a byte that matched).
inline bool plain8(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t control = (w - kOnes * 0x20) & ~w & kHigh;
  const uint64_t q = w ^ (kOnes * '"');
  const uint64_t quote = (q - kOnes) & ~q & kHigh;
  const uint64_t b = w ^ (kOnes * '\\');
  const uint64_t backslash = (b - kOnes) & ~b & kHigh;
  return (control | quote | backslash | (w & kHigh)) == 0;
}

// Appends `s` as a JSON string as nlohmann does: \" \\ \b \f \n \r \t, other control
// characters as \u00xx (lowercase hex), other ASCII as it is, in runs found 8 bytes at
// a time. Returns false (having appended nothing) when `s` is not all ASCII.
bool append_ascii_string(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t start = out.size();
  const char* p = s.data();
  const size_t n = s.size();
  out += '"';
  size_t run = 0;  // start of the pending unescaped run
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (plain8(w)) {
        i += 8;
        continue;
      }
    }
    for (const size_t end = std::min(n, i + 8); i < end; ++i) {
      const unsigned char c = static_cast<unsigned char>(p[i]);
      const unsigned char cls = kClass[c];
      if (cls == 0) {
        continue;
      }
      if (cls == 2) {
        out.resize(start);
        return false;
      }
      out.append(p + run, i - run);
      run = i + 1;
      switch (c) {
        case '"':
          out.append("\\\"", 2);
          break;
        case '\\':
          out.append("\\\\", 2);
          break;
        case '\b':
          out.append("\\b", 2);
          break;
        case '\f':
          out.append("\\f", 2);
          break;
        case '\n':
          out.append("\\n", 2);
          break;
        case '\r':
          out.append("\\r", 2);
          break;
        case '\t':
          out.append("\\t", 2);
          break;
        default: {
          const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out.append(u, 6);
          break;
        }
      }
    }
  }
  out.append(p + run, n - run);
  out += '"';
  return true;
}

void append_string(std::string& out, const std::string& s) {
  if (!append_ascii_string(out, s)) {
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

void append_json_string(std::string& out, const std::string& s) { append_string(out, s); }

std::string& JsonObjectWriter::field(std::string_view key) {
  assert(first_ || last_ < key);  // sorted, as dump_json prints objects
  if (!first_) {
    out_ += ',';
  }
  first_ = false;
  last_ = key;
  out_ += '"';
  out_ += key;  // callers' own field names: nothing to escape
  out_ += "\":";
  return out_;
}

JsonObjectWriter& JsonObjectWriter::number(std::string_view key, int64_t value) {
  append_number(field(key), value);
  return *this;
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
