// $group with exact retraction: every group remembers each member's
// contribution, so an update moves a document's contribution from its old
// group to its new one and a removal takes it back out.
//
// $sum/$avg keep an exact integer part and a compensated (Neumaier) double
// part; $min/$max a counted multiset of values; $first/$last/$push the
// members in order (a preceding $sort's order, else arrival order);
// $addToSet counted distinct values; $count the member count.
//
// Result documents are {_id: <key>, <accumulators>}, keyed by a stable
// string form of the key: the key itself when it is a string (not starting
// with '~'), else '~' followed by its KeyString.
#include <cmath>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "common/string_map.h"
#include "common/strings.h"
#include "query/live/operator.h"

namespace ddp::query {
namespace {

struct ValueLess {
  bool operator()(const Value& a, const Value& b) const { return Compare(a, b) < 0; }
};

// Sum of numbers under insertion and retraction.
struct Sum {
  int64_t ints = 0;
  bool ints_overflowed = false;
  double doubles = 0, compensation = 0;
  int64_t double_count = 0;
  int64_t count = 0;

  void AddDouble(double x) {
    double t = doubles + x;
    compensation += std::fabs(doubles) >= std::fabs(x) ? (doubles - t) + x : (x - t) + doubles;
    doubles = t;
  }
  void Add(const Value& v, int sign) {
    if (!v.is_number()) return;
    count += sign;
    if (v.is_int()) {
      int64_t r;
      if (!ints_overflowed &&
          !__builtin_add_overflow(ints, sign > 0 ? v.as_int() : -v.as_int(), &r)) {
        ints = r;
      } else {
        ints_overflowed = true;
        AddDouble(sign * static_cast<double>(v.as_int()));
      }
    } else {
      double_count += sign;
      AddDouble(sign * v.as_double());
      // Back to exactly zero once no double contributes.
      if (double_count == 0 && !ints_overflowed) doubles = compensation = 0;
    }
  }
  Value Total() const {
    if (double_count == 0 && !ints_overflowed) return Value(ints);
    return Value(static_cast<double>(ints) + (doubles + compensation));
  }
  Value Average() const {
    if (count == 0) return Value();
    double total = static_cast<double>(ints) + doubles + compensation;
    return Value(total / static_cast<double>(count));
  }
};

struct OrderKey {
  std::optional<Sort::Key> sort;
  uint64_t arrival = 0;
  std::string doc_key;
};

class GroupOp : public Operator {
 public:
  GroupOp(const GroupStage& s, const LiveLimits& limits) : s_(s), limits_(limits) {}

  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    StringMap<DocPtr> touched;  // group id -> output before this batch
    auto touch = [&](Group& g) {
      if (!touched.contains(g.id)) touched.emplace(g.id, g.output);
    };
    for (const DocDelta& d : in) {
      if (d.before != nullptr) {
        auto m = member_group_.find(d.key);
        if (m != member_group_.end()) {
          Group& g = groups_.at(m->second);
          touch(g);
          Remove(g, d.key);
          member_group_.erase(m);
        }
      }
      if (d.after != nullptr) {
        Value key = KeyOf(*d.after);
        std::string gid = IdFor(key);
        auto it = groups_.find(gid);
        if (it == groups_.end()) {
          if (groups_.size() >= limits_.max_groups) {
            return absl::ResourceExhaustedError(
                StrCat("live query limit: more than ", limits_.max_groups,
                       " groups (max_groups)"));
          }
          it = groups_.emplace(gid, Group(s_.accumulators.size(), s_.order ? &*s_.order : nullptr))
                   .first;
          it->second.id = gid;
          it->second.key = std::move(key);
        }
        touch(it->second);
        Add(it->second, d.key, *d.after);
        member_group_[d.key] = gid;
      } else {
        arrival_.erase(d.key);
      }
    }
    for (auto& [gid, before] : touched) {
      auto it = groups_.find(gid);
      DocPtr after;
      if (it != groups_.end()) {
        if (it->second.members.empty()) {
          groups_.erase(it);
        } else {
          it->second.output = Output(it->second);
          after = it->second.output;
        }
      }
      EmitChange(out, DocDelta{gid, gid, "", nullptr, nullptr}, before, std::move(after));
    }
    return absl::OkStatus();
  }

 private:
  struct AccState {
    Sum sum;
    std::map<Value, int64_t, ValueLess> multiset;  // $min $max $addToSet
  };
  struct Member {
    OrderKey order;
    std::vector<std::optional<Value>> values;  // one per accumulator
  };
  struct OrderLess {
    bool operator()(const OrderKey& a, const OrderKey& b) const {
      if (a.sort && b.sort) {
        int c = sort->Compare(*a.sort, *b.sort);
        if (c != 0) return c < 0;
      }
      if (a.arrival != b.arrival) return a.arrival < b.arrival;
      return a.doc_key < b.doc_key;
    }
    const Sort* sort;
  };
  struct Group {
    Group(size_t n, const Sort* order) : accs(n), ordered(OrderLess{order}) {}
    std::string id;
    Value key;
    // Node-based: `ordered` points at members.
    absl::node_hash_map<std::string, Member, StringViewHash, StringViewEq> members;
    std::vector<AccState> accs;
    std::map<OrderKey, const Member*, OrderLess> ordered;
    DocPtr output;
  };

  Value KeyOf(const Object& doc) const {
    Value k = s_.key.EvaluateOrNull(doc);
    if (!s_.windowed) return k;
    const Value* w = doc.Find("_window");
    Object key;
    key.Append("key", std::move(k));
    key.Append("start", w && w->Find("start") ? *w->Find("start") : Value());
    key.Append("end", w && w->Find("end") ? *w->Find("end") : Value());
    return Value(std::move(key));
  }

  static std::string IdFor(const Value& key) {
    if (key.is_string() && (key.as_string().empty() || key.as_string()[0] != '~')) {
      return key.as_string();
    }
    return "~" + (key.is_string() ? key.as_string() : KeyString(key));
  }

  bool NeedsOrder() const {
    for (const Accumulator& a : s_.accumulators) {
      if (a.kind == Accumulator::Kind::kFirst || a.kind == Accumulator::Kind::kLast ||
          a.kind == Accumulator::Kind::kPush) {
        return true;
      }
    }
    return false;
  }

  void Add(Group& g, const std::string& doc_key, const Object& doc) {
    Member m;
    m.values.reserve(s_.accumulators.size());
    for (size_t i = 0; i < s_.accumulators.size(); ++i) {
      const Accumulator& a = s_.accumulators[i];
      std::optional<Value> v = a.kind == Accumulator::Kind::kCount ? std::optional<Value>(Value(1))
                                                                   : a.arg.Evaluate(doc);
      Contribute(g.accs[i], a.kind, v, +1);
      m.values.push_back(std::move(v));
    }
    if (NeedsOrder()) {
      auto [arrival, inserted] = arrival_.try_emplace(doc_key, next_arrival_);
      if (inserted) ++next_arrival_;
      m.order.arrival = arrival->second;
      m.order.doc_key = doc_key;
      if (s_.order) m.order.sort = s_.order->KeyFor(doc);
    }
    auto [it, ok] = g.members.insert_or_assign(doc_key, std::move(m));
    if (NeedsOrder()) g.ordered.emplace(it->second.order, &it->second);
  }

  void Remove(Group& g, const std::string& doc_key) {
    auto it = g.members.find(doc_key);
    if (it == g.members.end()) return;
    for (size_t i = 0; i < s_.accumulators.size(); ++i) {
      Contribute(g.accs[i], s_.accumulators[i].kind, it->second.values[i], -1);
    }
    if (NeedsOrder()) g.ordered.erase(it->second.order);
    g.members.erase(it);
  }

  static void Contribute(AccState& st, Accumulator::Kind kind, const std::optional<Value>& v,
                         int sign) {
    switch (kind) {
      case Accumulator::Kind::kSum:
      case Accumulator::Kind::kAvg:
      case Accumulator::Kind::kCount:
        if (v) st.sum.Add(*v, sign);
        break;
      case Accumulator::Kind::kMin:
      case Accumulator::Kind::kMax:
      case Accumulator::Kind::kAddToSet:
        if (!v || (v->is_null() && kind != Accumulator::Kind::kAddToSet)) break;
        if (sign > 0) {
          st.multiset[*v]++;
        } else if (auto it = st.multiset.find(*v); it != st.multiset.end() && --it->second == 0) {
          st.multiset.erase(it);
        }
        break;
      default:
        break;
    }
  }

  DocPtr Output(const Group& g) const {
    Object o;
    o.Append("_id", g.key);
    for (size_t i = 0; i < s_.accumulators.size(); ++i) {
      const Accumulator& a = s_.accumulators[i];
      const AccState& st = g.accs[i];
      Value v;
      switch (a.kind) {
        case Accumulator::Kind::kSum:
          v = st.sum.Total();
          break;
        case Accumulator::Kind::kCount:
          v = Value(static_cast<int64_t>(g.members.size()));
          break;
        case Accumulator::Kind::kAvg:
          v = st.sum.Average();
          break;
        case Accumulator::Kind::kMin:
          if (!st.multiset.empty()) v = st.multiset.begin()->first;
          break;
        case Accumulator::Kind::kMax:
          if (!st.multiset.empty()) v = st.multiset.rbegin()->first;
          break;
        case Accumulator::Kind::kAddToSet: {
          Array set;
          for (const auto& [value, n] : st.multiset) set.push_back(value);
          v = Value(std::move(set));
          break;
        }
        case Accumulator::Kind::kFirst:
        case Accumulator::Kind::kLast: {
          if (g.ordered.empty()) break;
          const Member* m = a.kind == Accumulator::Kind::kFirst ? g.ordered.begin()->second
                                                                 : g.ordered.rbegin()->second;
          if (m->values[i]) v = *m->values[i];
          break;
        }
        case Accumulator::Kind::kPush: {
          Array list;
          for (const auto& [order, m] : g.ordered) {
            if (m->values[i]) list.push_back(*m->values[i]);
          }
          v = Value(std::move(list));
          break;
        }
      }
      o.Append(a.field, std::move(v));
    }
    return std::make_shared<const Object>(std::move(o));
  }

  const GroupStage& s_;
  const LiveLimits& limits_;
  StringMap<Group> groups_;
  StringMap<std::string> member_group_;  // input key -> group id
  StringMap<uint64_t> arrival_;
  uint64_t next_arrival_ = 0;
};

}  // namespace

std::unique_ptr<Operator> MakeGroupOp(const GroupStage& s, const LiveLimits& limits) {
  return std::make_unique<GroupOp>(s, limits);
}

}  // namespace ddp::query
