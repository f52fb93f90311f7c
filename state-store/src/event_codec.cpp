#include "switchyard/store/event_codec.hpp"

#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace switchyard::store {

namespace {

// The vocabulary, in match order (a word before any word it starts with). Words are part of the
// stored format: append new ones at the end, never change or reorder the existing ones.
constexpr std::array<std::string_view, 22> kWords{
    R"({"type":")",  // first: every event starts with it, so the first stored byte says "encoded"
    R"(","timestamp":")",
    R"(EventDetails":{)",
    R"("inputDetails":{"truncated":false})",
    R"("outputDetails":{"truncated":false})",
    R"("resourceType":")",
    R"("resource":")",
    R"("input":")",
    R"("output":")",
    R"("parameters":")",
    R"("name":")",
    R"("region":")",
    "StateEntered",
    "StateExited",
    "Task",
    "Succeeded",
    R"("}})",
    "Execution",
    R"(\")",  // the quotes of JSON documents carried as strings (input, output, parameters)
    R"("error":")",
    R"("cause":")",
    "Failed",
};

// Control bytes that are not JSON whitespace (\t \n \r may appear between tokens).
constexpr std::array<unsigned char, 28> kMarkers{1,  2,  3,  4,  5,  6,  7,  8,  11, 12, 14, 15, 16, 17,
                                                 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static_assert(kWords.size() <= kMarkers.size() && kWords.size() <= 32);

struct Tables {
  std::array<signed char, 32> word_of_marker{};  ///< -1 = not a marker
  std::array<uint32_t, 256> first{};             ///< bit k: word k starts with this byte
  std::array<uint32_t, 256> second{};            ///< bit k: word k's second byte is this byte
  std::array<bool, 256> special{};               ///< starts a word, or a control byte that is not whitespace
  Tables() {
    word_of_marker.fill(-1);
    for (int c = 0; c < 0x20; ++c) {
      special[static_cast<size_t>(c)] = c != '\t' && c != '\n' && c != '\r';
    }
    for (size_t k = 0; k < kWords.size(); ++k) {
      word_of_marker[kMarkers[k]] = static_cast<signed char>(k);
      first[static_cast<unsigned char>(kWords[k][0])] |= 1U << k;
      second[static_cast<unsigned char>(kWords[k][1])] |= 1U << k;
      special[static_cast<unsigned char>(kWords[k][0])] = true;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

void encode_event(std::string_view json, std::string& out) {
  if (json.substr(0, kWords[0].size()) != kWords[0]) {
    if (!json.empty() && static_cast<unsigned char>(json[0]) == kMarkers[0]) {
      // Stored as it is, it would read back as encoded: not an event text at all.
      throw std::invalid_argument("a history event must be a JSON object text");
    }
    out.assign(json);
    return;
  }
  const Tables& t = tables();
  // Every word is at least 2 bytes and becomes 1: the stored form is never longer. Written through
  // a pointer (this runs over every byte of every event a step writes).
  out.resize(json.size());
  char* w = out.data();
  *w++ = static_cast<char>(kMarkers[0]);
  const char* p = json.data() + kWords[0].size();
  const char* end = json.data() + json.size();
  while (p < end) {
    auto c = static_cast<unsigned char>(*p);
    if (!t.special[c]) {
      *w++ = *p++;
      continue;
    }
    if (c < 0x20) {
      out.assign(json);  // not JSON text as we write it: keep it as it is rather than guess
      return;
    }
    // The words whose first two bytes match here (usually none, rarely two), in match order.
    uint32_t candidates = t.first[c];
    bool matched = false;
    if (end - p >= 2) {
      candidates &= t.second[static_cast<unsigned char>(p[1])];
      while (candidates != 0) {
        auto k = static_cast<size_t>(std::countr_zero(candidates));
        candidates &= candidates - 1;
        std::string_view word = kWords[k];
        if (static_cast<size_t>(end - p) >= word.size() && std::memcmp(p, word.data(), word.size()) == 0) {
          *w++ = static_cast<char>(kMarkers[k]);
          p += word.size();
          matched = true;
          break;
        }
      }
    }
    if (!matched) {
      *w++ = *p++;
    }
  }
  out.resize(static_cast<size_t>(w - out.data()));
}

std::string encode_event(std::string_view json) {
  std::string out;
  encode_event(json, out);
  return out;
}

bool is_encoded_event(std::string_view stored) {
  return !stored.empty() && static_cast<unsigned char>(stored[0]) == kMarkers[0];
}

std::string decode_event(std::string_view stored) {
  if (!is_encoded_event(stored)) {
    return std::string(stored);
  }
  const Tables& t = tables();
  std::string out;
  out.reserve(stored.size() * 2 + 32);
  for (char ch : stored) {
    auto c = static_cast<unsigned char>(ch);
    int k = c < 0x20 ? t.word_of_marker[c] : -1;
    if (k >= 0) {
      out.append(kWords[static_cast<size_t>(k)]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

}  // namespace switchyard::store
