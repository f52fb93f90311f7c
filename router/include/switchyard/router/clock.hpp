#pragma once
/// Wall-clock helpers (the one place the router reads time) and RFC 3339.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::router {

/// Milliseconds since the Unix epoch.
int64_t now_ms();
/// "2026-11-22T15:09:58.123Z"
std::string rfc3339(int64_t ms);
/// rfc3339(ms) appended to `out` (no string of its own: once per history event).
void append_rfc3339(std::string& out, int64_t ms);
/// 128 random bits from the OS CSPRNG as 32 lowercase hex chars.
std::string random_hex128();
/// 64 random bits from the OS CSPRNG.
uint64_t random_u64();
/// 64 unpredictable-enough bits, cheaply (splitmix64 seeded from the CSPRNG):
/// for ids that need uniqueness, not secrecy (trace span ids). Never for tokens.
uint64_t fast_random_u64();
/// A random UUID v4 string (execution ids).
std::string uuid_v4();

}  // namespace switchyard::router
