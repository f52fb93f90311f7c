#include "switchyard/router/clock.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <stdexcept>

namespace switchyard::router {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_rfc3339(std::string& out, int64_t ms) {
  // Every history event carries one, mostly of the same second: the date part
  // is formatted once per second (gmtime_r + snprintf cost more than the rest
  // of an event). Two slots, because the calls alternate between now (events)
  // and a deadline a Task timeout ahead (the Switchyard-Deadline header).
  struct Slot {
    int64_t secs = std::numeric_limits<int64_t>::min();
    char text[64] = {};  // "YYYY-MM-DDTHH:MM:SS."
  };
  thread_local Slot slots[2];
  thread_local int victim = 0;
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - secs * 1000);
  Slot* slot = slots[0].secs == secs ? &slots[0] : slots[1].secs == secs ? &slots[1] : nullptr;
  if (slot == nullptr) {
    slot = &slots[victim];
    victim ^= 1;
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::snprintf(slot->text, sizeof slot->text, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    slot->secs = secs;
  }
  out += slot->text;
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

std::string rfc3339(int64_t ms) {
  std::string out;
  append_rfc3339(out, ms);
  return out;
}

namespace {
void random_bytes(unsigned char* out, int n) {
  // Tokens authorize completing a step: they must come from a CSPRNG.
  if (RAND_bytes(out, n) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}
}  // namespace

std::string random_hex128() {
  unsigned char b[16];
  random_bytes(b, sizeof b);
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  for (int i = 0; i < 16; ++i) {
    s[2 * i] = hex[b[i] >> 4];
    s[2 * i + 1] = hex[b[i] & 15];
  }
  return s;
}

uint64_t fast_random_u64() {
  // splitmix64 over a per-thread state seeded once from the CSPRNG.
  thread_local uint64_t state = random_u64();
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t random_u64() {
  unsigned char b[8];
  random_bytes(b, sizeof b);
  uint64_t v = 0;
  for (unsigned char c : b) {
    v = (v << 8) | c;
  }
  return v;
}

std::string uuid_v4() {
  std::string h = random_hex128();
  h[12] = '4';
  h[16] = "89ab"[h[16] % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace switchyard::router
