#pragma once
/// Time zones of schedule triggers: "UTC", a fixed UTC offset ("+02:00"), or an IANA zone
/// ("Europe/Berlin") read from the system's time zone database, the TZif files of Debian's
/// tzdata under /usr/share/zoneinfo ($TZDIR overrides it): libstdc++ 12 has no
/// std::chrono::locate_zone. Once loaded a zone is pure data: offset_at() looks the instant up
/// in the zone's transitions, and past the last one applies the POSIX TZ rule of the file's
/// footer ("CET-1CEST,M3.5.0,M10.5.0/3"), so daylight saving keeps working after 2037.
///
/// Wall-clock times a zone skips or repeats follow EventBridge Scheduler: a local time the
/// clock skipped (spring forward) does not exist (to_utc: nullopt), and one it repeats (fall
/// back) stands for its first occurrence only, so a schedule fires once.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/common/result.hpp"

namespace switchyard::router {

/// A POSIX TZ rule (RFC 8536 footer, POSIX.1 TZ): standard offset, and optionally a
/// daylight-saving offset with the local dates and times it starts and ends each year.
struct PosixTz {
  struct When {
    enum class Kind { Julian1, Julian0, MonthWeekDay } kind = Kind::MonthWeekDay;  ///< Jn | n | Mm.w.d
    int a = 0;                        ///< day (Jn: 1..365 without Feb 29; n: 0..365), or the month (1..12)
    int week = 0;                     ///< 1..5 (5: the last)
    int weekday = 0;                  ///< 0..6, Sunday 0
    std::chrono::seconds time{7200};  ///< local time of day it happens (-167 h..167 h; default 02:00)
  };
  std::chrono::seconds std_offset{0};  ///< UTC offset of standard time (east positive: CET +3600)
  bool has_dst = false;
  std::chrono::seconds dst_offset{0};
  When start;  ///< in local standard time
  When end;    ///< in local daylight-saving time

  /// Parses a TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30" or "EST5EDT,M3.2.0,M11.1.0".
  static Result<PosixTz> parse(std::string_view s);
  std::chrono::seconds offset_at(std::chrono::sys_seconds utc) const;
};

class TimeZone {
 public:
  /// A zone whose offset never changes.
  static TimeZone fixed(std::chrono::seconds offset, std::string name = "UTC");
  /// "UTC" (also "Etc/UTC", "GMT", "Z"), a fixed offset ("+02:00", "-0530", "UTC+01"), or an IANA
  /// name. Error{"InvalidTimezone", why} for an unknown or malformed name.
  static Result<TimeZone> named(std::string_view name);
  /// A zone from the bytes of a TZif file (version 2 or later, without leap seconds).
  static Result<TimeZone> from_tzif(std::string name, std::string_view bytes);

  const std::string& name() const;
  /// The UTC offset in effect at `utc` (east positive).
  std::chrono::seconds offset_at(std::chrono::sys_seconds utc) const;
  /// The instant the wall-clock time `local` (a sys_seconds read as local time) stands for:
  /// nullopt when the clock skipped it, its first occurrence when the clock repeated it.
  std::optional<std::chrono::sys_seconds> to_utc(std::chrono::sys_seconds local) const;
  /// The offset when it never changes (UTC and fixed offsets), else nullopt.
  std::optional<std::chrono::seconds> fixed_offset() const;

 private:
  struct Data;
  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;  // immutable, shared by copies (every trigger in that zone)
};

}  // namespace switchyard::router
