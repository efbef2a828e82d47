// $window (ddpd stage): assigns each document to time windows by its `on`
// field (a number or a date):
//   tumbling  {"tumbling": size}                  one window [k*size, (k+1)*size)
//   hopping   {"hopping": {size, advance}}        every window [k*advance, +size) holding t
//   session   {"session": {gap}}                  runs of events of one key less than
//                                                 `gap` apart: [first, last + gap)
// and passes on one copy per window with `_window: {start, end}`; the next
// $group adds the bounds to its key.
//
// Time is event time. The watermark is the largest event time seen; a
// window closes when watermark >= end + allowedLateness. A closed window is
// frozen: late documents and later updates are ignored (a removal still
// retracts, so that topic retention can clean old windows up). With emit
// "final" a window's documents are held back and released when it closes,
// so the next stage sees each window once, complete.
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "common/status_macros.h"
#include "common/string_map.h"
#include "common/strings.h"
#include "query/live/operator.h"

namespace ddp::query {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

class WindowOp : public Operator {
 public:
  WindowOp(const WindowStage& s, const LiveLimits& limits) : s_(s), limits_(limits) {}

  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    // Affected input documents, and (sessions) affected session keys.
    std::vector<std::string> affected;
    StringSet affected_set;
    StringSet session_keys;
    int64_t max_time = watermark_;
    bool any_time = has_watermark_;
    for (const DocDelta& d : in) {
      Doc& doc = docs_[d.key];
      doc.meta = DocDelta{d.key, d.id, d.topic, nullptr, nullptr};
      if (s_.kind == WindowStage::Kind::kSession && doc.present) {
        sessions_[doc.session_key].erase({doc.time, d.key});
        session_keys.insert(doc.session_key);
      }
      doc.deleted = d.after == nullptr;
      doc.doc = d.after;
      doc.present = false;
      if (d.after != nullptr) {
        std::optional<int64_t> t = TimeOf(*d.after);
        if (t) {
          doc.present = true;
          doc.time = *t;
          if (!any_time || *t > max_time) max_time = *t;
          any_time = true;
          if (s_.kind == WindowStage::Kind::kSession) {
            doc.session_key = KeyString(s_.session_key.EvaluateOrNull(*d.after));
            sessions_[doc.session_key].insert({doc.time, d.key});
            session_keys.insert(doc.session_key);
          }
        }
      }
      if (affected_set.insert(d.key).second) affected.push_back(d.key);
    }
    // Sessions can merge or split: every document of a touched key may move.
    for (const std::string& k : session_keys) {
      for (const auto& [time, key] : sessions_[k]) {
        if (affected_set.insert(key).second) affected.push_back(key);
      }
    }
    for (const std::string& key : affected) Reassign(key, out);
    if (any_time) {
      watermark_ = max_time;
      has_watermark_ = true;
    }
    CloseWindows(out);
    for (const std::string& key : affected) {
      auto it = docs_.find(key);
      if (it != docs_.end() && it->second.deleted && it->second.assignments.empty()) {
        docs_.erase(it);
      }
    }
    for (const std::string& k : session_keys) {
      if (sessions_[k].empty()) sessions_.erase(k);
    }
    if (closing_.size() > limits_.max_open_windows) {
      return absl::ResourceExhaustedError(StrCat("live query limit: more than ",
                                                 limits_.max_open_windows,
                                                 " open windows (max_open_windows)"));
    }
    return absl::OkStatus();
  }

 private:
  struct Bounds {
    int64_t start = 0, end = 0;
    std::string session_key;
    std::string Id() const { return StrCat(start, ":", end, ":", session_key); }
  };
  struct Assignment {
    Bounds bounds;
    std::string out_key;
    DocPtr emitted;  // what downstream holds; null when held back or frozen-out
  };
  struct Doc {
    DocDelta meta;
    DocPtr doc;
    bool present = false;  // has an event time and is not deleted
    bool deleted = false;
    int64_t time = 0;
    std::string session_key;
    std::vector<Assignment> assignments;
  };
  struct Window {
    Bounds bounds;
    bool closed = false;
    StringSet members;  // input keys
  };

  std::optional<int64_t> TimeOf(const Object& doc) {
    const Value* v = doc.Find(s_.on);
    if (v == nullptr) return std::nullopt;
    if (v->is_date()) {
      dates_ = true;
      return v->as_date().millis;
    }
    if (v->is_int()) return v->as_int();
    if (v->is_double() && std::isfinite(v->as_double())) {
      return static_cast<int64_t>(std::floor(v->as_double()));
    }
    return std::nullopt;
  }

  std::vector<Bounds> Desired(const Doc& doc) const {
    std::vector<Bounds> out;
    if (!doc.present) return out;
    int64_t t = doc.time;
    switch (s_.kind) {
      case WindowStage::Kind::kTumbling: {
        int64_t start = FloorDiv(t, s_.size) * s_.size;
        out.push_back(Bounds{start, start + s_.size, ""});
        break;
      }
      case WindowStage::Kind::kHopping: {
        int64_t last = FloorDiv(t, s_.advance);
        int64_t first = FloorDiv(t - s_.size, s_.advance) + 1;
        for (int64_t k = first; k <= last; ++k) {
          out.push_back(Bounds{k * s_.advance, k * s_.advance + s_.size, ""});
        }
        break;
      }
      case WindowStage::Kind::kSession: {
        // The run of the key's events (less than `gap` apart) that holds
        // this one: [first, last + gap).
        const auto& events = sessions_.at(doc.session_key);
        int64_t run_start = 0, prev = 0;
        bool first = true, found = false;
        for (const auto& [time, key] : events) {
          if (first || time - prev >= s_.gap) {
            if (found) break;
            run_start = time;
          }
          prev = time;
          first = false;
          if (key == doc.meta.key) found = true;
        }
        if (found) out.push_back(Bounds{run_start, prev + s_.gap, doc.session_key});
        break;
      }
    }
    return out;
  }

  bool Closed(const Bounds& b) const {
    return has_watermark_ && watermark_ >= b.end + s_.allowed_lateness;
  }

  DocPtr Stamp(const Object& doc, const Bounds& b) const {
    Object o = doc;
    Object w;
    w.Append("start", dates_ ? Value(Date{b.start}) : Value(b.start));
    w.Append("end", dates_ ? Value(Date{b.end}) : Value(b.end));
    o.Set("_window", Value(std::move(w)));
    return std::make_shared<const Object>(std::move(o));
  }

  void Reassign(const std::string& key, DocDeltas* out) {
    Doc& doc = docs_.at(key);
    std::vector<Bounds> desired = Desired(doc);
    std::vector<Assignment> next;
    // Existing assignments: kept, updated, frozen or retracted.
    for (Assignment& a : doc.assignments) {
      Window& w = windows_[a.bounds.Id()];
      bool wanted = std::any_of(desired.begin(), desired.end(),
                                [&](const Bounds& b) { return b.Id() == a.bounds.Id(); });
      if (wanted && !doc.deleted) {
        if (!w.closed && a.emitted != nullptr) {
          DocPtr now = Stamp(*doc.doc, a.bounds);
          EmitChange(out, Like(doc, a.out_key), a.emitted, now);
          a.emitted = now;
        }
        next.push_back(std::move(a));
      } else if (w.closed && !doc.deleted) {
        next.push_back(std::move(a));  // frozen: the closed window keeps it
      } else {
        if (a.emitted != nullptr) EmitChange(out, Like(doc, a.out_key), a.emitted, nullptr);
        w.members.erase(key);
        if (w.members.empty()) {
          if (!w.closed) {
            auto range = closing_.equal_range(a.bounds.end + s_.allowed_lateness);
            for (auto c = range.first; c != range.second; ++c) {
              if (c->second == a.bounds.Id()) {
                closing_.erase(c);
                break;
              }
            }
          }
          windows_.erase(a.bounds.Id());
        }
      }
    }
    // New assignments: late ones (closed windows) are dropped.
    for (const Bounds& b : desired) {
      bool have = std::any_of(next.begin(), next.end(),
                              [&](const Assignment& a) { return a.bounds.Id() == b.Id(); });
      if (have || doc.deleted) continue;
      auto wit = windows_.find(b.Id());
      if ((wit != windows_.end() && wit->second.closed) || Closed(b)) continue;
      auto [wit2, created] = windows_.try_emplace(b.Id());
      Window& w = wit2->second;
      if (created) {
        w.bounds = b;
        closing_.emplace(b.end + s_.allowed_lateness, b.Id());
      }
      w.members.insert(key);
      Assignment a{b, StrCat(key, "@", b.start), nullptr};
      if (!s_.emit_final) {
        a.emitted = Stamp(*doc.doc, b);
        EmitChange(out, Like(doc, a.out_key), nullptr, a.emitted);
      }
      next.push_back(std::move(a));
    }
    doc.assignments = std::move(next);
  }

  // Closes every open window the watermark has passed, oldest first.
  void CloseWindows(DocDeltas* out) {
    while (has_watermark_ && !closing_.empty() && closing_.begin()->first <= watermark_) {
      std::string id = closing_.begin()->second;
      closing_.erase(closing_.begin());
      auto it = windows_.find(id);
      if (it == windows_.end() || it->second.closed) continue;
      Window& w = it->second;
      w.closed = true;
      if (!s_.emit_final) continue;
      for (const std::string& key : w.members) {
        Doc& doc = docs_.at(key);
        for (Assignment& x : doc.assignments) {
          if (x.bounds.Id() == id && x.emitted == nullptr && doc.doc != nullptr) {
            x.emitted = Stamp(*doc.doc, x.bounds);
            EmitChange(out, Like(doc, x.out_key), nullptr, x.emitted);
          }
        }
      }
    }
  }

  static DocDelta Like(const Doc& doc, const std::string& out_key) {
    return DocDelta{out_key, out_key, doc.meta.topic, nullptr, nullptr};
  }

  const WindowStage& s_;
  const LiveLimits& limits_;
  StringMap<Doc> docs_;
  StringMap<Window> windows_;
  std::multimap<int64_t, std::string> closing_;  // close time -> window id
  StringMap<std::set<std::pair<int64_t, std::string>>> sessions_;
  int64_t watermark_ = 0;
  bool has_watermark_ = false;
  bool dates_ = false;
};

}  // namespace

std::unique_ptr<Operator> MakeWindowOp(const WindowStage& s, const LiveLimits& limits) {
  return std::make_unique<WindowOp>(s, limits);
}

}  // namespace ddp::query
