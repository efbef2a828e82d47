// Randomized differential test of live queries: random documents, random
// queries over every stage, random interleaved inserts, updates and
// removals (on the queried topic and on a $lookup's `from` topic). After
// every batch the incremental result must equal a reference that
// recomputes the query from scratch, and the deltas the evaluation emitted,
// applied to the previous client view, must give the new one (in order,
// for ordered queries).
//
// The reference reuses the stateless parts (selector, expression,
// projection, sort, which have their own tests) and recomputes everything
// stateful from the current documents: windows, groups and their
// retraction, sort/limit windows, joins. Windows run with no closing here
// (a huge allowedLateness), because closed windows depend on history; their
// closing is tested with scripted cases in live_test.cc.
//
// DDP_RANDOM_ITERATIONS sets the number of queries (default 150, what CI
// runs); DDP_RANDOM_SEED the seed.
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "query/live/plan.h"
#include "query/path.h"

namespace ddp::query {
namespace {

using Docs = std::map<std::string, Object>;  // id -> doc

// ------------------------------------------------------------ reference

struct RefDoc {
  std::string key;
  std::string id;
  Object doc;
};

std::vector<RefDoc> RefStage(const Stage& stage, std::vector<RefDoc> in, const Docs& foreign);

std::string GroupIdFor(const Value& key) {
  if (key.is_string() && (key.as_string().empty() || key.as_string()[0] != '~')) {
    return key.as_string();
  }
  return "~" + (key.is_string() ? key.as_string() : KeyString(key));
}

Value RefAccumulate(const Accumulator& a, const std::vector<const RefDoc*>& members) {
  std::vector<std::optional<Value>> vals;
  for (const RefDoc* m : members) {
    vals.push_back(a.kind == Accumulator::Kind::kCount ? std::optional<Value>(Value(1))
                                                       : a.arg.Evaluate(m->doc));
  }
  switch (a.kind) {
    case Accumulator::Kind::kCount:
      return Value(static_cast<int64_t>(members.size()));
    case Accumulator::Kind::kSum:
    case Accumulator::Kind::kAvg: {
      int64_t isum = 0;
      double dsum = 0;
      bool any_double = false;
      int64_t n = 0;
      for (auto& v : vals) {
        if (!v || !v->is_number()) continue;
        ++n;
        if (v->is_int()) {
          isum += v->as_int();
        } else {
          any_double = true;
          dsum += v->as_double();
        }
      }
      if (a.kind == Accumulator::Kind::kAvg) {
        if (n == 0) return Value();
        return Value((static_cast<double>(isum) + dsum) / static_cast<double>(n));
      }
      return any_double ? Value(static_cast<double>(isum) + dsum) : Value(isum);
    }
    case Accumulator::Kind::kMin:
    case Accumulator::Kind::kMax: {
      std::optional<Value> best;
      for (auto& v : vals) {
        if (!v || v->is_null()) continue;
        if (!best || (a.kind == Accumulator::Kind::kMin ? Compare(*v, *best) < 0
                                                         : Compare(*v, *best) > 0)) {
          best = *v;
        }
      }
      return best.value_or(Value());
    }
    case Accumulator::Kind::kFirst:
      return vals.empty() || !vals.front() ? Value() : *vals.front();
    case Accumulator::Kind::kLast:
      return vals.empty() || !vals.back() ? Value() : *vals.back();
    case Accumulator::Kind::kPush: {
      Array out;
      for (auto& v : vals) {
        if (v) out.push_back(*v);
      }
      return Value(std::move(out));
    }
    case Accumulator::Kind::kAddToSet: {
      std::vector<Value> set;
      for (auto& v : vals) {
        if (!v) continue;
        bool present = std::any_of(set.begin(), set.end(), [&](const Value& x) { return Compare(x, *v) == 0; });
        if (!present) set.push_back(*v);
      }
      std::sort(set.begin(), set.end(), [](const Value& x, const Value& y) { return Compare(x, y) < 0; });
      return Value(Array(set.begin(), set.end()));
    }
  }
  return Value();
}

std::vector<RefDoc> RefStage(const Stage& stage, std::vector<RefDoc> in, const Docs& foreign) {
  std::vector<RefDoc> out;
  if (auto* f = std::get_if<FilterStage>(&stage)) {
    for (RefDoc& d : in) {
      if (f->selector.Matches(d.doc)) out.push_back(std::move(d));
    }
    return out;
  }
  if (auto* p = std::get_if<PartitionStage>(&stage)) {
    for (RefDoc& d : in) {
      uint64_t h = 1469598103934665603ULL;
      for (unsigned char c : KeyString(p->by.EvaluateOrNull(d.doc))) {
        h ^= c;
        h *= 1099511628211ULL;
      }
      if (static_cast<int64_t>(h % static_cast<uint64_t>(p->count)) == p->index) {
        out.push_back(std::move(d));
      }
    }
    return out;
  }
  if (std::holds_alternative<ProjectStage>(stage)) {
    // Stateless: the operator itself is the reference for one document.
    std::unique_ptr<Operator> op = MakeProjectOp(std::get<ProjectStage>(stage));
    for (RefDoc& d : in) {
      DocDeltas o;
      EXPECT_TRUE(op->Apply({DocDelta{d.key, d.id, "", nullptr,
                                      std::make_shared<const Object>(d.doc)}},
                            &o)
                      .ok());
      if (!o.empty()) out.push_back(RefDoc{d.key, d.id, *o[0].after});
    }
    return out;
  }
  if (auto* s = std::get_if<SortLimitStage>(&stage)) {
    std::stable_sort(in.begin(), in.end(), [&](const RefDoc& a, const RefDoc& b) {
      int c = s->sort.Compare(s->sort.KeyFor(a.doc), s->sort.KeyFor(b.doc));
      return c != 0 ? c < 0 : a.key < b.key;
    });
    for (size_t i = static_cast<size_t>(s->skip);
         i < in.size() && (s->limit == 0 || out.size() < static_cast<size_t>(s->limit)); ++i) {
      out.push_back(std::move(in[i]));
    }
    return out;
  }
  if (auto* g = std::get_if<GroupStage>(&stage)) {
    std::map<std::string, std::pair<Value, std::vector<const RefDoc*>>> groups;
    std::vector<const RefDoc*> ordered;
    for (const RefDoc& d : in) ordered.push_back(&d);
    if (g->order) {
      std::stable_sort(ordered.begin(), ordered.end(), [&](const RefDoc* a, const RefDoc* b) {
        int c = g->order->Compare(g->order->KeyFor(a->doc), g->order->KeyFor(b->doc));
        return c != 0 ? c < 0 : a->key < b->key;
      });
    }
    for (const RefDoc* d : ordered) {
      Value key = g->key.EvaluateOrNull(d->doc);
      if (g->windowed) {
        const Value* w = d->doc.Find("_window");
        key = Value(Object{{"key", key}, {"start", *w->Find("start")}, {"end", *w->Find("end")}});
      }
      auto& slot = groups[GroupIdFor(key)];
      slot.first = key;
      slot.second.push_back(d);
    }
    for (auto& [gid, slot] : groups) {
      Object o;
      o.Append("_id", slot.first);
      for (const Accumulator& a : g->accumulators) o.Append(a.field, RefAccumulate(a, slot.second));
      out.push_back(RefDoc{gid, gid, std::move(o)});
    }
    return out;
  }
  if (auto* w = std::get_if<WindowStage>(&stage)) {
    for (RefDoc& d : in) {
      const Value* t = d.doc.Find(w->on);
      if (t == nullptr || !t->is_int()) continue;
      int64_t time = t->as_int();
      auto floordiv = [](int64_t a, int64_t b) {
        int64_t q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
        return q;
      };
      std::vector<std::pair<int64_t, int64_t>> bounds;
      if (w->kind == WindowStage::Kind::kTumbling) {
        int64_t s = floordiv(time, w->size) * w->size;
        bounds.emplace_back(s, s + w->size);
      } else if (w->kind == WindowStage::Kind::kHopping) {
        for (int64_t k = floordiv(time - w->size, w->advance) + 1; k <= floordiv(time, w->advance); ++k) {
          bounds.emplace_back(k * w->advance, k * w->advance + w->size);
        }
      } else {
        // Sessions of this document's key among all input documents.
        std::string sk = KeyString(w->session_key.EvaluateOrNull(d.doc));
        std::vector<std::pair<int64_t, std::string>> events;
        for (const RefDoc& o : in) {
          const Value* ot = o.doc.Find(w->on);
          if (ot == nullptr || !ot->is_int()) continue;
          if (KeyString(w->session_key.EvaluateOrNull(o.doc)) != sk) continue;
          events.emplace_back(ot->as_int(), o.key);
        }
        std::sort(events.begin(), events.end());
        int64_t start = 0, prev = 0;
        bool first = true, found = false;
        for (auto& [et, ek] : events) {
          if (first || et - prev >= w->gap) {
            if (found) break;
            start = et;
          }
          prev = et;
          first = false;
          if (ek == d.key) found = true;
        }
        bounds.emplace_back(start, prev + w->gap);
      }
      for (auto [s, e] : bounds) {
        Object o = d.doc;
        o.Set("_window", Value(Object{{"start", Value(s)}, {"end", Value(e)}}));
        std::string key = StrCat(d.key, "@", s);
        out.push_back(RefDoc{key, key, std::move(o)});
      }
    }
    return out;
  }
  if (auto* l = std::get_if<LookupStage>(&stage)) {
    Path lp(l->local_field), fp(l->foreign_field);
    auto keys = [](const Object& doc, const Path& p) {
      Branches b, e;
      LookupBranches(doc, p, &b);
      ExpandArrays(b, false, &e);
      std::set<std::string> k;
      bool null = e.empty();
      for (const Branch& x : e) {
        if (x.value == nullptr || x.value->is_null()) {
          null = true;
        } else {
          k.insert(KeyString(*x.value));
        }
      }
      if (null) k.insert(KeyString(Value()));
      return k;
    };
    for (RefDoc& d : in) {
      std::set<std::string> mine = keys(d.doc, lp);
      Array joined;
      for (const auto& [fid, fdoc] : foreign) {
        std::set<std::string> theirs = keys(fdoc, fp);
        bool hit = std::any_of(theirs.begin(), theirs.end(), [&](const std::string& k) { return mine.contains(k); });
        if (hit) joined.push_back(Value(fdoc));
      }
      d.doc.Set(l->as, Value(std::move(joined)));
      out.push_back(std::move(d));
    }
    return out;
  }
  return out;
}

// The expected client view: collection/id -> fields (as DDP shows them).
std::map<std::string, Object> Reference(const LivePlan& plan, const Docs& docs, const Docs& foreign,
                                        std::vector<std::string>* order) {
  std::vector<RefDoc> cur;
  for (const auto& [id, doc] : docs) cur.push_back(RefDoc{id, id, doc});
  for (const Stage& s : plan.stages) cur = RefStage(s, std::move(cur), foreign);
  std::map<std::string, Object> view;
  std::vector<std::pair<Sort::Key, std::string>> keyed;
  for (RefDoc& d : cur) {
    Object fields = plan.fields.Apply(d.doc);
    if (const Value* id = fields.Find("_id"); id != nullptr && !(id->is_string() && id->as_string() == d.id)) {
      Value key = *id;
      fields.Erase("_id");
      fields.Set("_key", key);
    }
    fields.Erase("_id");
    std::string coll = CollectionFor(plan, plan.derived ? "" : plan.target);
    keyed.emplace_back(plan.order.KeyFor(d.doc), coll + "/" + d.id);
    view[coll + "/" + d.id] = std::move(fields);
  }
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    int c = plan.order.Compare(a.first, b.first);
    return c != 0 ? c < 0 : a.second < b.second;
  });
  for (auto& [k, id] : keyed) order->push_back(id);
  return view;
}

// ------------------------------------------------------------ client view

struct Client {
  std::map<std::string, Object> docs;  // collection/id -> fields
  std::vector<std::string> order;      // ordered queries
  std::string error;

  void Apply(const LiveDelta& d) {
    std::string key = d.collection + "/" + d.id;
    switch (d.kind) {
      case LiveDelta::Kind::kAdded:
      case LiveDelta::Kind::kAddedBefore: {
        if (docs.contains(key)) error = "added twice: " + key;
        docs[key] = d.fields;
        if (d.kind == LiveDelta::Kind::kAddedBefore) Place(key, d.before ? d.collection + "/" + *d.before : "");
        break;
      }
      case LiveDelta::Kind::kChanged: {
        if (!docs.contains(key)) error = "changed unknown: " + key;
        if (d.fields.empty() && d.cleared.empty()) error = "empty changed: " + key;
        for (const Member& m : d.fields) docs[key].Set(m.key, m.value);
        for (const auto& c : d.cleared) {
          if (!docs[key].Erase(c)) error = "cleared a missing field: " + c;
        }
        break;
      }
      case LiveDelta::Kind::kRemoved:
        if (!docs.erase(key)) error = "removed unknown: " + key;
        std::erase(order, key);
        break;
      case LiveDelta::Kind::kMovedBefore:
        if (!docs.contains(key)) error = "moved unknown: " + key;
        std::erase(order, key);
        Place(key, d.before ? d.collection + "/" + *d.before : "");
        break;
    }
  }
  void Place(const std::string& key, const std::string& before) {
    if (before.empty()) {
      order.push_back(key);
      return;
    }
    auto it = std::find(order.begin(), order.end(), before);
    if (it == order.end()) error = "before unknown: " + before;
    order.insert(it, key);
  }
};

// Doubles compared to 9 significant digits (sums are compensated but not
// in the same order as the reference's).
std::string Normalize(const Value& v) {
  if (v.is_double()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v.as_double());
    return buf;
  }
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_array()) {
    std::string s = "[";
    for (const Value& e : v.as_array()) s += Normalize(e) + ",";
    return s + "]";
  }
  if (v.is_object()) {
    // A client's field order is not meaningful (changed fields arrive
    // later); compare members sorted.
    std::map<std::string, std::string> sorted;
    for (const Member& m : v.as_object()) sorted[m.key] = Normalize(m.value);
    std::string s = "{";
    for (const auto& [k, x] : sorted) s += k + ":" + x + ",";
    return s + "}";
  }
  return ToJson(v);
}

std::string Normalize(const std::map<std::string, Object>& view) {
  std::string s;
  for (const auto& [k, o] : view) s += k + "=" + Normalize(Value(o)) + "\n";
  return s;
}

// ------------------------------------------------------------ generators

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Coin() { return Int(2) == 1; }

  Object Doc() {
    Object o;
    if (Int(6)) o.Append("n", Value(Int(6)));
    if (Int(4)) o.Append("x", Int(3) ? Value(Int(100)) : Value(Int(100) + 0.5));
    if (Int(5)) o.Append("g", Value(std::string(1, "abc"[Int(3)])));
    if (Int(4)) o.Append("t", Value(Int(60)));
    if (Int(3)) o.Append("ref", Value(StrCat("f", Int(4))));
    if (Int(4) == 0) o.Append("tags", Value(Array{Value("a"), Value(std::string(1, "bc"[Int(2)]))}));
    return o;
  }
  Object Foreign() {
    Object o;
    o.Append("k", Value(StrCat("f", Int(4))));
    o.Append("w", Value(Int(10)));
    return o;
  }

  std::string Filter() {
    const char* f[] = {R"({})", R"({"n":{"$gte":2}})", R"({"g":{"$in":["a","b"]}})",
                       R"({"$or":[{"x":{"$lt":50}},{"n":0}]})", R"({"tags":"a"})", R"({"n":{"$exists":true}})"};
    return f[Int(6)];
  }

  std::string Query() {
    std::vector<std::string> stages;
    int shape = Int(9);
    switch (shape) {
      case 0:  // plain filter (+ fields)
        break;
      case 1:
        stages.push_back(R"({"$sort":{"x":-1}})");
        stages.push_back(StrCat(R"({"$limit":)", 1 + Int(5), "}"));
        if (Coin()) stages.insert(stages.begin() + 1, StrCat(R"({"$skip":)", Int(3), "}"));
        break;
      case 2:
        stages.push_back(R"({"$addFields":{"y":{"$add":["$n",1]},"z":{"$concat":["$g","!"]}}})");
        stages.push_back(R"({"$match":{"y":{"$gte":2}}})");
        break;
      case 3:
        stages.push_back(R"({"$sort":{"t":1}})");
        stages.push_back(R"({"$group":{"_id":"$g","total":{"$sum":"$x"},"avg":{"$avg":"$x"},"lo":{"$min":"$n"},"hi":{"$max":"$n"},"c":{"$count":{}},"first":{"$first":"$t"},"last":{"$last":"$t"},"all":{"$push":"$n"},"set":{"$addToSet":"$n"}}})");
        break;
      case 4:
        stages.push_back(R"({"$group":{"_id":{"g":"$g","big":{"$gte":["$x",50]}},"s":{"$sum":1}}})");
        if (Coin()) stages.push_back(R"({"$match":{"s":{"$gte":2}}})");
        break;
      case 5: {
        const char* w[] = {R"({"$window":{"on":"t","tumbling":10,"allowedLateness":1000000}})",
                           R"({"$window":{"on":"t","hopping":{"size":20,"advance":10},"allowedLateness":1000000}})",
                           R"({"$window":{"on":"t","session":{"gap":5},"allowedLateness":1000000}})"};
        stages.push_back(w[Int(3)]);
        stages.push_back(R"({"$group":{"_id":"$g","c":{"$count":{}},"s":{"$sum":"$n"}}})");
        break;
      }
      case 6:
        stages.push_back(R"({"$lookup":{"from":"foreign","localField":"ref","foreignField":"k","as":"joined"}})");
        if (Coin()) stages.push_back(R"({"$project":{"ref":1,"joined":1,"n":1}})");
        break;
      case 7:
        stages.push_back(StrCat(R"({"$partition":{"by":"g","count":3,"index":)", Int(3), "}}"));
        break;
      default:
        stages.push_back(R"({"$project":{"n":1,"dbl":{"$multiply":["$x",2]},"_id":1}})");
        stages.push_back(R"({"$sort":{"dbl":1,"n":-1}})");
        stages.push_back(R"({"$limit":4})");
        break;
    }
    std::string q = StrCat(R"({"filter":)", Filter());
    if (!stages.empty()) {
      q += R"(,"pipeline":[)";
      for (size_t i = 0; i < stages.size(); ++i) q += (i ? "," : "") + stages[i];
      q += "]";
    }
    if (Int(4) == 0) q += R"(,"sort":{"n":1},"limit":3)";
    if (Int(3) == 0) q += R"(,"ordered":true)";
    if (Int(5) == 0 && shape < 3) q += R"(,"fields":{"tags":0})";
    return q + "}";
  }

 private:
  std::mt19937_64 rng_;
};

int Iterations() {
  const char* env = std::getenv("DDP_RANDOM_ITERATIONS");
  return env ? std::atoi(env) : 150;
}

TEST(LiveRandomTest, IncrementalEqualsRecomputedAndDeltasReplay) {
  const char* seed_env = std::getenv("DDP_RANDOM_SEED");
  uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
  Gen gen(seed);
  LiveLimits limits;
  size_t total_deltas = 0, moves = 0, nonempty_results = 0;
  for (int q = 0; q < Iterations(); ++q) {
    std::string query = gen.Query();
    SCOPED_TRACE(StrCat("seed ", seed, " query ", q, ": ", query));
    auto plan = LivePlan::Parse("main", *ParseJson(query), limits);
    ASSERT_TRUE(plan.ok()) << plan.status();
    LiveEvaluation eval(*plan);
    Docs docs, foreign;
    Client client;
    for (int step = 0; step < 60; ++step) {
      // A batch of 1-3 changes to one topic.
      bool foreign_batch = !(*plan)->lookup_topics.empty() && gen.Int(4) == 0;
      Docs& target = foreign_batch ? foreign : docs;
      std::vector<DocDelta> batch;
      std::set<std::string> touched;
      int n = 1 + gen.Int(3);
      for (int k = 0; k < n; ++k) {
        std::string id = StrCat(foreign_batch ? "F" : "d", gen.Int(12));
        if (touched.contains(id)) continue;
        touched.insert(id);
        DocPtr before = target.contains(id) ? std::make_shared<const Object>(target[id]) : nullptr;
        DocPtr after;
        if (before == nullptr || gen.Int(4) != 0) {
          Object o = foreign_batch ? gen.Foreign() : gen.Doc();
          Object with_id;
          with_id.Append("_id", Value(id));
          for (Member& m : o) with_id.Append(m.key, m.value);
          target[id] = with_id;
          after = std::make_shared<const Object>(std::move(with_id));
        } else {
          target.erase(id);
        }
        batch.push_back(DocDelta{id, id, foreign_batch ? "foreign" : "main", before, after});
      }
      LiveDeltas out;
      absl::Status s = foreign_batch ? eval.ApplyForeign("foreign", batch, &out)
                                     : eval.ApplySource("main", batch, &out);
      ASSERT_TRUE(s.ok()) << s;
      for (const LiveDelta& d : out) {
        client.Apply(d);
        ++total_deltas;
        moves += d.kind == LiveDelta::Kind::kMovedBefore;
      }
      ASSERT_EQ(client.error, "") << "step " << step;
      std::vector<std::string> expected_order;
      auto expected = Reference(**plan, docs, foreign, &expected_order);
      ASSERT_EQ(Normalize(client.docs), Normalize(expected)) << "step " << step;
      if ((*plan)->ordered) {
        ASSERT_EQ(client.order, expected_order) << "step " << step;
      }
      nonempty_results += !expected.empty();
      // A late joiner's snapshot is the same view.
      if (step % 20 == 19) {
        Client fresh;
        for (const LiveDelta& d : eval.Snapshot()) fresh.Apply(d);
        ASSERT_EQ(Normalize(fresh.docs), Normalize(expected));
        if ((*plan)->ordered) {
          ASSERT_EQ(fresh.order, expected_order);
        }
      }
    }
  }
  // The run exercised something: deltas, reorderings, non-empty results.
  std::cout << "live random: " << total_deltas << " deltas, " << moves << " moves, "
            << nonempty_results << " non-empty results, seed " << seed << "\n";
  EXPECT_GT(total_deltas, static_cast<size_t>(Iterations()) * 10);
  EXPECT_GT(nonempty_results, static_cast<size_t>(Iterations()) * 20);
  if (Iterations() >= 100) {
    EXPECT_GT(moves, 0u);
  }
}

}  // namespace
}  // namespace ddp::query
