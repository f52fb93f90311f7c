#include "switchyard/router/timezone.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include "switchyard/router/cron.hpp"

namespace switchyard::router {

using namespace std::chrono;

struct TimeZone::Data {
  std::string name;
  std::optional<seconds> fixed;       // set: the offset never changes
  std::vector<int64_t> transitions;   // UTC seconds, ascending
  std::vector<int32_t> offset_after;  // the offset from transitions[i] on
  int32_t offset_before = 0;          // before the first transition (time type 0, RFC 8536)
  std::optional<PosixTz> rule;        // after the last transition (the footer)
};

// ---- POSIX TZ ---------------------------------------------------------------------------

namespace {

class TzReader {
 public:
  explicit TzReader(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // "CET", or "<+0530>" (quoted names may hold digits and signs).
  bool name() {
    if (eat('<')) {
      size_t close = s_.find('>', i_);
      if (close == std::string_view::npos || close == i_) {
        return false;
      }
      i_ = close + 1;
      return true;
    }
    size_t from = i_;
    while (!done() && std::isalpha(static_cast<unsigned char>(peek())) != 0) {
      ++i_;
    }
    return i_ - from >= 3;
  }
  std::optional<int> number(int max_digits) {
    int v = 0;
    int n = 0;
    while (n < max_digits && !done() && std::isdigit(static_cast<unsigned char>(peek())) != 0) {
      v = v * 10 + (s_[i_++] - '0');
      ++n;
    }
    return n == 0 ? std::nullopt : std::optional<int>(v);
  }
  // [+-]hh[:mm[:ss]] with hours up to max_hours.
  std::optional<seconds> hms(int max_hours) {
    int sign = eat('-') ? -1 : (eat('+'), 1);
    auto h = number(3);
    if (!h || *h > max_hours) {
      return std::nullopt;
    }
    int m = 0;
    int sec = 0;
    if (eat(':')) {
      auto mm = number(2);
      if (!mm || *mm > 59) {
        return std::nullopt;
      }
      m = *mm;
      if (eat(':')) {
        auto ss = number(2);
        if (!ss || *ss > 59) {
          return std::nullopt;
        }
        sec = *ss;
      }
    }
    return seconds{sign * (*h * 3600 + m * 60 + sec)};
  }
  std::optional<PosixTz::When> when() {
    PosixTz::When w;
    if (eat('M')) {
      auto m = number(2);
      if (!m || *m < 1 || *m > 12 || !eat('.')) {
        return std::nullopt;
      }
      auto wk = number(1);
      if (!wk || *wk < 1 || *wk > 5 || !eat('.')) {
        return std::nullopt;
      }
      auto d = number(1);
      if (!d || *d > 6) {
        return std::nullopt;
      }
      w.kind = PosixTz::When::Kind::MonthWeekDay;
      w.a = *m;
      w.week = *wk;
      w.weekday = *d;
    } else if (eat('J')) {
      auto n = number(3);
      if (!n || *n < 1 || *n > 365) {
        return std::nullopt;
      }
      w.kind = PosixTz::When::Kind::Julian1;
      w.a = *n;
    } else {
      auto n = number(3);
      if (!n || *n > 365) {
        return std::nullopt;
      }
      w.kind = PosixTz::When::Kind::Julian0;
      w.a = *n;
    }
    if (eat('/')) {
      auto t = hms(167);  // RFC 8536 allows -167..167 hours
      if (!t) {
        return std::nullopt;
      }
      w.time = *t;
    }
    return w;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

sys_days date_of(const PosixTz::When& w, int y) {
  year yr{y};
  switch (w.kind) {
    case PosixTz::When::Kind::Julian1: {
      // Day 1..365 never counts Feb 29: day 60 is March 1 in every year.
      int extra = (yr.is_leap() && w.a >= 60) ? 1 : 0;
      return sys_days{yr / January / 1} + days{w.a - 1 + extra};
    }
    case PosixTz::When::Kind::Julian0:
      return sys_days{yr / January / 1} + days{w.a};
    case PosixTz::When::Kind::MonthWeekDay:
      break;
  }
  auto m = month{static_cast<unsigned>(w.a)};
  sys_days first{yr / m / 1};
  unsigned first_wd = weekday{first}.c_encoding();
  int day = 1 + (w.weekday - static_cast<int>(first_wd) + 7) % 7 + (w.week - 1) * 7;
  int last_day = static_cast<int>(static_cast<unsigned>(year_month_day_last{yr / m / last}.day()));
  while (day > last_day) {
    day -= 7;  // week 5: the last such weekday of the month
  }
  return first + days{day - 1};
}

}  // namespace

Result<PosixTz> PosixTz::parse(std::string_view s) {
  auto bad = [&s](const char* why) {
    return Error{"InvalidTimezone", "time zone rule '" + std::string(s) + "': " + why};
  };
  TzReader r(s);
  PosixTz tz;
  if (!r.name()) {
    return bad("expected a zone name such as CET or <+03>");
  }
  auto off = r.hms(24);
  if (!off) {
    return bad("expected the standard time's offset");
  }
  tz.std_offset = -*off;  // POSIX offsets count west of Greenwich
  if (r.done()) {
    return tz;
  }
  if (!r.name()) {
    return bad("expected a daylight saving time name");
  }
  tz.has_dst = true;
  tz.dst_offset = tz.std_offset + hours{1};
  if (r.peek() != ',' && !r.done()) {
    auto d = r.hms(24);
    if (!d) {
      return bad("expected the daylight saving time's offset");
    }
    tz.dst_offset = -*d;
  }
  if (r.done()) {
    // No rule: POSIX leaves it to the implementation; the US rule is the common default.
    tz.start = When{When::Kind::MonthWeekDay, 3, 2, 0, hours{2}};
    tz.end = When{When::Kind::MonthWeekDay, 11, 1, 0, hours{2}};
    return tz;
  }
  if (!r.eat(',')) {
    return bad("expected ',' before the daylight saving time's start");
  }
  auto start = r.when();
  if (!start || !r.eat(',')) {
    return bad("expected a start such as M3.5.0 and ','");
  }
  auto end = r.when();
  if (!end || !r.done()) {
    return bad("expected an end such as M10.5.0/3 and nothing after it");
  }
  tz.start = *start;
  tz.end = *end;
  return tz;
}

seconds PosixTz::offset_at(sys_seconds utc) const {
  if (!has_dst) {
    return std_offset;
  }
  // The changes of the years around (a rule's time of day may push one into the next or the
  // previous year): the latest at or before `utc` says which time is in effect.
  int y = static_cast<int>(year_month_day{floor<days>(utc + std_offset)}.year());
  std::optional<sys_seconds> latest;
  bool dst = false;
  for (int k = y - 1; k <= y + 1; ++k) {
    sys_seconds begins = sys_seconds{date_of(start, k)} + start.time - std_offset;
    sys_seconds ends = sys_seconds{date_of(end, k)} + end.time - dst_offset;
    // ">=": where one year's end meets the next year's start (a rule for all-year daylight
    // saving, "EST5EDT,0/0,J365/25"), the later year's change is the one in effect.
    if (begins <= utc && (!latest || begins >= *latest)) {
      latest = begins;
      dst = true;
    }
    if (ends <= utc && (!latest || ends >= *latest)) {
      latest = ends;
      dst = false;
    }
  }
  return dst ? dst_offset : std_offset;
}

// ---- TZif -------------------------------------------------------------------------------

namespace {

class Bytes {
 public:
  explicit Bytes(std::string_view b) : b_(b) {}
  bool has(size_t n) const { return b_.size() - i_ >= n; }
  void skip(size_t n) { i_ += n; }
  uint8_t u8() { return static_cast<uint8_t>(b_[i_++]); }
  uint32_t u32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      v = (v << 8) | u8();
    }
    return v;
  }
  int64_t i64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) {
      v = (v << 8) | u8();
    }
    return static_cast<int64_t>(v);
  }
  std::string_view rest() const { return b_.substr(i_); }

 private:
  std::string_view b_;
  size_t i_ = 0;
};

struct Counts {
  uint32_t isut, isstd, leap, time, type, chars;
};

bool read_header(Bytes& in, char& version, Counts& c) {
  if (!in.has(44) || in.rest().substr(0, 4) != "TZif") {
    return false;
  }
  in.skip(4);
  version = static_cast<char>(in.u8());
  in.skip(15);
  c = Counts{in.u32(), in.u32(), in.u32(), in.u32(), in.u32(), in.u32()};
  return true;
}

}  // namespace

Result<TimeZone> TimeZone::from_tzif(std::string name, std::string_view bytes) {
  auto bad = [&name](const std::string& why) { return Error{"InvalidTimezone", "time zone '" + name + "': " + why}; };
  Bytes in(bytes);
  char version = 0;
  Counts c{};
  if (!read_header(in, version, c)) {
    return bad("not a TZif file");
  }
  if (version < '2') {
    return bad("a version 1 TZif file (64-bit data and the footer rule are needed)");
  }
  // Skip the version 1 data (32-bit times): the second header and 64-bit data follow it.
  size_t v1 = size_t{c.time} * 5 + size_t{c.type} * 6 + c.chars + size_t{c.leap} * 8 + c.isstd + c.isut;
  if (!in.has(v1)) {
    return bad("truncated");
  }
  in.skip(v1);
  if (!read_header(in, version, c)) {
    return bad("no version 2 header");
  }
  if (c.leap != 0) {
    return bad("leap-second (\"right/\") zones are not supported");
  }
  if (c.type == 0 || c.type > 256) {
    return bad("no local time types");
  }
  size_t v2 = size_t{c.time} * 9 + size_t{c.type} * 6 + c.chars + c.isstd + c.isut;
  if (!in.has(v2)) {
    return bad("truncated");
  }
  auto data = std::make_shared<Data>();
  data->name = name;
  std::vector<int64_t> times(c.time);
  for (auto& t : times) {
    t = in.i64();
  }
  std::vector<uint8_t> type_of(c.time);
  for (auto& t : type_of) {
    t = in.u8();
  }
  std::vector<int32_t> offsets(c.type);
  for (auto& o : offsets) {
    o = static_cast<int32_t>(in.u32());
    in.skip(2);  // isdst, abbreviation index
  }
  in.skip(size_t{c.chars} + c.isstd + c.isut);
  for (size_t k = 0; k < times.size(); ++k) {
    if (type_of[k] >= offsets.size() || (k > 0 && times[k] <= times[k - 1])) {
      return bad("malformed transitions");
    }
    data->transitions.push_back(times[k]);
    data->offset_after.push_back(offsets[type_of[k]]);
  }
  data->offset_before = offsets[0];
  // Footer: "\n<POSIX TZ>\n"; empty when the last transition's type holds for ever.
  std::string_view footer = in.rest();
  if (footer.size() >= 2 && footer.front() == '\n') {
    footer.remove_prefix(1);
    footer = footer.substr(0, footer.find('\n'));
    if (!footer.empty()) {
      auto rule = PosixTz::parse(footer);
      if (!rule) {
        return bad(rule.error().cause);
      }
      data->rule = *rule;
    }
  }
  if (data->transitions.empty() && (!data->rule || !data->rule->has_dst)) {
    data->fixed = data->rule ? data->rule->std_offset : seconds{data->offset_before};  // Etc/GMT+5, UTC
  }
  return TimeZone(std::move(data));
}

TimeZone TimeZone::fixed(seconds offset, std::string name) {
  auto data = std::make_shared<Data>();
  data->name = std::move(name);
  data->fixed = offset;
  data->offset_before = static_cast<int32_t>(offset.count());
  return TimeZone(std::move(data));
}

Result<TimeZone> TimeZone::named(std::string_view name) {
  if (auto off = parse_utc_offset(name)) {
    return fixed(*off, std::string(name));
  }
  // An IANA name: letters, digits and "/_+-." only, no "." or ".." component, nothing absolute,
  // so a trigger cannot read an arbitrary file.
  auto invalid = [&name](const std::string& why) {
    return Error{"InvalidTimezone", "time zone '" + std::string(name) + "' " + why +
                                        ": use \"UTC\", a fixed offset such as \"+02:00\", or an IANA "
                                        "zone name such as \"Europe/Berlin\""};
  };
  bool chars_ok = !name.empty() && name.size() <= 128 && name.front() != '/' && name.back() != '/' &&
                  std::all_of(name.begin(), name.end(), [](char ch) {
                    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '/' || ch == '_' || ch == '+' ||
                           ch == '-' || ch == '.';
                  });
  const std::string parts = "/" + std::string(name) + "/";
  bool parts_ok = chars_ok && parts.find("/./") == std::string::npos && parts.find("/../") == std::string::npos &&
                  parts.find("//") == std::string::npos;
  // Files of the database that are not zones: "localtime" is the host's own setting (routers on
  // different hosts would disagree), "posixrules" and "Factory" are internals.
  if (!parts_ok || name == "localtime" || name == "posixrules" || name == "Factory") {
    return invalid("is not a time zone name");
  }
  // Each zone is read once per process and shared: triggers are reloaded every minute.
  static std::mutex mu;
  static std::map<std::string, TimeZone, std::less<>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(name); it != cache.end()) {
    return it->second;
  }
  const char* dir_env = std::getenv("TZDIR");
  std::string dir = dir_env != nullptr && *dir_env != '\0' ? dir_env : "/usr/share/zoneinfo";
  std::ifstream file(dir + "/" + std::string(name), std::ios::binary);
  if (!file) {
    return invalid("is not in the time zone database (" + dir + ")");
  }
  // TZif files are a few KiB; a bound keeps a stray huge file (or a directory) from being read.
  constexpr size_t kMaxTzif = 256 * 1024;
  std::string bytes(kMaxTzif + 1, '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(file.gcount()));
  if (bytes.size() > kMaxTzif) {
    return invalid("is not a TZif file (too large)");
  }
  auto zone = from_tzif(std::string(name), bytes);
  if (!zone) {
    return invalid("is not a usable zone (" + zone.error().cause + ")");
  }
  cache.emplace(std::string(name), *zone);
  return zone;
}

const std::string& TimeZone::name() const { return data_->name; }

std::optional<seconds> TimeZone::fixed_offset() const { return data_->fixed; }

seconds TimeZone::offset_at(sys_seconds utc) const {
  const Data& d = *data_;
  if (d.fixed) {
    return *d.fixed;
  }
  if (d.transitions.empty()) {
    assert(d.rule);  // without transitions or a rule the zone is fixed (from_tzif)
    return d.rule->offset_at(utc);
  }
  int64_t t = utc.time_since_epoch().count();
  auto it = std::upper_bound(d.transitions.begin(), d.transitions.end(), t);
  if (it == d.transitions.begin()) {
    return seconds{d.offset_before};
  }
  if (it == d.transitions.end() && d.rule) {
    return d.rule->offset_at(utc);
  }
  return seconds{d.offset_after[static_cast<size_t>(it - d.transitions.begin()) - 1]};
}

std::optional<sys_seconds> TimeZone::to_utc(sys_seconds local) const {
  if (data_->fixed) {
    return local - *data_->fixed;
  }
  // The offsets in effect around: UTC offsets lie within -12 h..+14 h, so the instant is in
  // [local - 14 h, local + 12 h], and a zone changes its offset at most once in such a span.
  seconds candidates[3] = {offset_at(local - hours{15}), offset_at(local + hours{13}),
                           offset_at(local - offset_at(local))};
  std::optional<sys_seconds> first;
  for (seconds o : candidates) {
    sys_seconds u = local - o;
    if (offset_at(u) == o && (!first || u < *first)) {
      first = u;
    }
  }
  return first;
}

}  // namespace switchyard::router
