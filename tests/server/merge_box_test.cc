#include "server/ddp/merge_box.h"

#include <map>
#include <random>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/ddp_message.h"
#include "protocol/json.h"

namespace ddp {
namespace {

// Records messages and keeps the client's view by applying them, as a DDP
// client would.
class RecordingSink : public MergeSink {
 public:
  void SendAdded(std::string_view c, std::string_view id, const Object& fields) override {
    log.push_back(EncodeAdded(c, id, fields));
    auto& doc = view[std::string(c)][std::string(id)];
    EXPECT_TRUE(doc.empty()) << "added twice: " << id;
    for (const Member& m : fields) doc[m.key] = m.value;
    present[std::string(c)].insert(std::string(id));
  }
  void SendChanged(std::string_view c, std::string_view id, const Object& fields,
                   const std::vector<std::string>& cleared) override {
    EXPECT_FALSE(fields.empty() && cleared.empty()) << "empty changed";
    EXPECT_TRUE(present[std::string(c)].contains(std::string(id))) << "changed before added";
    log.push_back(EncodeChanged(c, id, fields, cleared));
    auto& doc = view[std::string(c)][std::string(id)];
    for (const Member& m : fields) doc[m.key] = m.value;
    for (const std::string& k : cleared) {
      EXPECT_TRUE(doc.contains(k)) << "cleared a field the client does not have: " << k;
      doc.erase(k);
    }
  }
  void SendRemoved(std::string_view c, std::string_view id) override {
    EXPECT_TRUE(present[std::string(c)].erase(std::string(id))) << "removed unknown " << id;
    log.push_back(EncodeRemoved(c, id));
    view[std::string(c)].erase(std::string(id));
  }
  void SendAddedBefore(std::string_view c, std::string_view id, const Object& fields,
                       const std::optional<std::string>& before) override {
    log.push_back(EncodeMessage(AddedBeforeMsg{std::string(c), std::string(id), fields, before}));
    present[std::string(c)].insert(std::string(id));
    for (const Member& m : fields) view[std::string(c)][std::string(id)][m.key] = m.value;
  }
  void SendMovedBefore(std::string_view c, std::string_view id,
                       const std::optional<std::string>& before) override {
    log.push_back(EncodeMessage(MovedBeforeMsg{std::string(c), std::string(id), before}));
  }
  // Counts the pre-encoded messages passed through, then handles them as
  // any sink does by default (decode, dispatch).
  void SendEncoded(const std::shared_ptr<const std::string>& message) override {
    ++encoded_used;
    MergeSink::SendEncoded(message);
  }
  std::vector<std::string> Take() { return std::exchange(log, {}); }

  int encoded_used = 0;

  std::vector<std::string> log;
  std::map<std::string, std::map<std::string, std::map<std::string, Value>>> view;
  std::map<std::string, std::set<std::string>> present;
};

Object O(std::string_view json) { return ParseJson(json)->as_object(); }

TEST(MergeBoxTest, SingleSubscriptionPassesThroughMinimalMessages) {
  MergeBox box;
  RecordingSink sink;
  ASSERT_TRUE(box.Added(1, "c", "d", O(R"({"a":1,"b":2})"), sink).ok());
  EXPECT_EQ(sink.Take(), std::vector<std::string>{
                             R"({"msg":"added","collection":"c","id":"d","fields":{"a":1,"b":2}})"});
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"a":1,"b":3})"), {}, sink).ok());
  EXPECT_EQ(sink.Take(), std::vector<std::string>{
                             R"({"msg":"changed","collection":"c","id":"d","fields":{"b":3}})"});
  // Same values again: nothing at all.
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"a":1})"), {}, sink).ok());
  EXPECT_TRUE(sink.Take().empty());
  // Clearing a field the document does not have: nothing.
  ASSERT_TRUE(box.Changed(1, "c", "d", Object(), {"zzz"}, sink).ok());
  EXPECT_TRUE(sink.Take().empty());
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"n":null})"), {"a"}, sink).ok());
  EXPECT_EQ(sink.Take(), std::vector<std::string>{
                             R"({"msg":"changed","collection":"c","id":"d","fields":{"n":null},"cleared":["a"]})"});
  // int 1 and double 1.0 are different JSON: the client is told.
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"b":3.0})"), {}, sink).ok());
  EXPECT_EQ(sink.Take().size(), 1u);
  ASSERT_TRUE(box.Removed(1, "c", "d", sink).ok());
  EXPECT_EQ(sink.Take(),
            std::vector<std::string>{R"({"msg":"removed","collection":"c","id":"d"})"});
  EXPECT_EQ(box.document_count(), 0u);
}

TEST(MergeBoxTest, OverlappingSubscriptionsSendTheUnion) {
  MergeBox box;
  RecordingSink sink;
  ASSERT_TRUE(box.Added(1, "c", "d", O(R"({"a":1,"b":2})"), sink).ok());
  sink.Take();
  // The second subscription adds the same document: only the new field shows.
  ASSERT_TRUE(box.Added(2, "c", "d", O(R"({"b":3,"c":4})"), sink).ok());
  EXPECT_EQ(sink.Take(), std::vector<std::string>{
                             R"({"msg":"changed","collection":"c","id":"d","fields":{"c":4}})"});
  EXPECT_EQ(ToJson(Value(*box.ClientView("c", "d"))), R"({"a":1,"b":2,"c":4})");
  // Sub 2 changes a field sub 1 owns: invisible.
  ASSERT_TRUE(box.Changed(2, "c", "d", O(R"({"b":5})"), {}, sink).ok());
  EXPECT_TRUE(sink.Take().empty());
  // Sub 1 lets go of the document: b falls back to sub 2's value, a vanishes.
  ASSERT_TRUE(box.Removed(1, "c", "d", sink).ok());
  EXPECT_EQ(sink.Take(), std::vector<std::string>{
                             R"({"msg":"changed","collection":"c","id":"d","fields":{"b":5},"cleared":["a"]})"});
  ASSERT_TRUE(box.Removed(2, "c", "d", sink).ok());
  EXPECT_EQ(sink.Take(),
            std::vector<std::string>{R"({"msg":"removed","collection":"c","id":"d"})"});
}

TEST(MergeBoxTest, RemoveSubscriptionRetractsOnlyWhatNobodyElseHolds) {
  MergeBox box;
  RecordingSink sink;
  ASSERT_TRUE(box.Added(1, "c", "x", O(R"({"a":1})"), sink).ok());
  ASSERT_TRUE(box.Added(1, "c", "y", O(R"({"a":1,"s":"same"})"), sink).ok());
  ASSERT_TRUE(box.Added(1, "other", "z", O(R"({})"), sink).ok());
  ASSERT_TRUE(box.Added(2, "c", "y", O(R"({"b":2,"s":"same"})"), sink).ok());
  sink.Take();
  box.RemoveSubscription(1, sink);
  std::vector<std::string> msgs = sink.Take();
  std::sort(msgs.begin(), msgs.end());
  // y keeps b and s (sub 2's s equals sub 1's: no change for it), loses a.
  EXPECT_EQ(msgs, (std::vector<std::string>{
                      R"({"msg":"changed","collection":"c","id":"y","cleared":["a"]})",
                      R"({"msg":"removed","collection":"c","id":"x"})",
                      R"({"msg":"removed","collection":"other","id":"z"})",
                  }));
  EXPECT_EQ(box.document_count(), 1u);
  EXPECT_FALSE(box.Holds(1, "c", "y"));
  EXPECT_TRUE(box.Holds(2, "c", "y"));
  box.RemoveSubscription(2, sink);
  EXPECT_EQ(sink.Take(),
            std::vector<std::string>{R"({"msg":"removed","collection":"c","id":"y"})"});
  box.RemoveSubscription(3, sink);  // unknown: nothing
  EXPECT_TRUE(sink.Take().empty());
}

TEST(MergeBoxTest, OrderedCollectionsBelongToOneSubscription) {
  MergeBox box;
  RecordingSink sink;
  ASSERT_TRUE(box.AddedBefore(1, "o", "a", O(R"({"n":1})"), std::nullopt, sink).ok());
  ASSERT_TRUE(box.AddedBefore(1, "o", "b", O(R"({"n":2})"), std::string("a"), sink).ok());
  ASSERT_TRUE(box.MovedBefore(1, "o", "a", std::string("b"), sink).ok());
  EXPECT_EQ(sink.Take(), (std::vector<std::string>{
                             R"({"msg":"addedBefore","collection":"o","id":"a","fields":{"n":1},"before":null})",
                             R"({"msg":"addedBefore","collection":"o","id":"b","fields":{"n":2},"before":"a"})",
                             R"({"msg":"movedBefore","collection":"o","id":"a","before":"b"})"}));
  // Another subscription may not publish there, ordered or not.
  EXPECT_EQ(box.Added(2, "o", "c", O("{}"), sink).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(box.AddedBefore(2, "o", "c", O("{}"), std::nullopt, sink).code(),
            absl::StatusCode::kInvalidArgument);
  // An ordered subscription cannot join a collection with unordered documents.
  ASSERT_TRUE(box.Added(2, "u", "x", O("{}"), sink).ok());
  EXPECT_EQ(box.AddedBefore(1, "u", "y", O("{}"), std::nullopt, sink).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(box.Changed(1, "o", "a", O(R"({"n":5})"), {}, sink).ok());
  sink.Take();
  box.RemoveSubscription(1, sink);
  EXPECT_EQ(sink.Take().size(), 2u);
  // Once it is gone the collection is free again.
  EXPECT_TRUE(box.Added(2, "o", "c", O("{}"), sink).ok());
}

TEST(MergeBoxTest, MisuseIsReportedAndChangesNothing) {
  MergeBox box;
  RecordingSink sink;
  EXPECT_EQ(box.Changed(1, "c", "d", O(R"({"a":1})"), {}, sink).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(box.Removed(1, "c", "d", sink).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(box.Added(1, "c", "d", O(R"({"a":1})"), sink).ok());
  EXPECT_EQ(box.Added(1, "c", "d", O(R"({"a":2})"), sink).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(box.Removed(2, "c", "d", sink).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(box.Changed(2, "c", "d", O(R"({"a":3})"), {}, sink).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ToJson(Value(*box.ClientView("c", "d"))), R"({"a":1})");
}

// Random operations from several subscriptions; after each, the client's
// view (built only from the messages) equals the model: for every field,
// the value of the earliest subscription that still holds it.
TEST(MergeBoxTest, RandomOperationsMatchTheModel) {
  std::mt19937 rng(12345);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const std::vector<std::string> ids = {"d1", "d2", "d3"};
  const std::vector<std::string> keys = {"a", "b", "c", "d"};
  int encoded_used = 0;
  for (int round = 0; round < 36; ++round) {
    // Rounds of kind 1 and 2 hand the merge box each change pre-encoded
    // (as live queries do): it may forward those bytes only where the
    // client's message is exactly that change, so the view must match all
    // the same. Kind 2 also hands over each changed document whole (as
    // live queries do), which keeps a collection that one subscription
    // alone publishes into without an index. 1 to 3 subscriptions: with
    // fewer, one alone holds the collection more often.
    const int kind = round % 3;
    const bool pre_encoded = kind >= 1;
    const bool with_after = kind == 2;
    const int subs = 1 + (round / 3) % 3;
    auto enc = [&](std::string text) {
      return pre_encoded ? std::make_shared<const std::string>(std::move(text)) : nullptr;
    };
    MergeBox box;
    RecordingSink sink;
    // model[id][key] = [(sub, value)] in precedence order; holders[id] = subs
    std::map<std::string, std::map<std::string, std::vector<std::pair<SubHandle, Value>>>> model;
    std::map<std::string, std::vector<SubHandle>> holders;
    auto holds = [&](SubHandle s, const std::string& id) {
      auto& h = holders[id];
      return std::find(h.begin(), h.end(), s) != h.end();
    };
    auto model_set = [&](SubHandle s, const std::string& id, const std::string& k, Value v) {
      auto& list = model[id][k];
      for (auto& p : list) {
        if (p.first == s) {
          p.second = std::move(v);
          return;
        }
      }
      list.emplace_back(s, std::move(v));
    };
    auto model_clear = [&](SubHandle s, const std::string& id, const std::string& k) {
      auto& list = model[id][k];
      std::erase_if(list, [&](auto& p) { return p.first == s; });
      if (list.empty()) model[id].erase(k);
    };
    auto model_drop = [&](SubHandle s, const std::string& id) {
      std::erase(holders[id], s);
      for (const auto& k : keys) model_clear(s, id, k);
    };
    for (int step = 0; step < 400; ++step) {
      SubHandle sub = static_cast<SubHandle>(1 + pick(subs));
      const std::string& id = ids[static_cast<size_t>(pick(3))];
      int op = pick(10);
      if (op == 9) {
        box.RemoveSubscription(sub, sink);
        for (const auto& i : ids) {
          if (holds(sub, i)) model_drop(sub, i);
        }
      } else if (!holds(sub, id)) {
        Object fields;
        for (const auto& k : keys) {
          if (pick(2)) fields.Set(k, Value(pick(3)));
        }
        for (const Member& m : fields) model_set(sub, id, m.key, m.value);
        holders[id].push_back(sub);
        auto e = enc(EncodeAdded("c", id, fields));
        // Pre-encoded rounds also hand the fields over shared (as live
        // queries do): the box keeps the reference until it must copy.
        auto shared = pre_encoded ? SharedDocumentRef::Make(id, fields) : nullptr;
        ASSERT_TRUE(
            box.Added(sub, "c", id, shared ? shared->fields() : fields, sink, e, shared).ok());
      } else if (op < 2) {
        model_drop(sub, id);
        ASSERT_TRUE(box.Removed(sub, "c", id, sink, enc(EncodeRemoved("c", id))).ok());
      } else {
        // The document as this subscription publishes it.
        auto own = [&] {
          Object o;
          for (const auto& [k, list] : model[id]) {
            for (const auto& [holder, v] : list) {
              if (holder == sub) o.Append(k, v);
            }
          }
          return o;
        };
        const Object before = own();
        Object fields;
        std::vector<std::string> cleared;
        for (const auto& k : keys) {
          int what = pick(4);
          if (with_after) {
            // Exact deltas, as a producer that hands documents over sends
            // them: only values that differ, only fields it has.
            const Value* v = before.Find(k);
            Value next(pick(3));
            if (what == 0 && (v == nullptr || *v != next)) fields.Set(k, next);
            if (what == 1 && v != nullptr) cleared.push_back(k);
            continue;
          }
          if (what == 0) fields.Set(k, Value(pick(3)));
          if (what == 1) cleared.push_back(k);
        }
        for (const Member& m : fields) model_set(sub, id, m.key, m.value);
        for (const auto& k : cleared) {
          if (!fields.Contains(k)) model_clear(sub, id, k);
        }
        auto e = enc(EncodeChanged("c", id, fields, cleared));
        const SharedDocumentRef after = with_after ? SharedDocumentRef::Make(id, own()) : nullptr;
        ASSERT_TRUE(box.Changed(sub, "c", id, fields, cleared, sink, e, after).ok());
      }
      size_t present_count = 0;
      for (const auto& i : ids) {
        bool present = !holders[i].empty();
        present_count += present ? 1 : 0;
        ASSERT_EQ(sink.present["c"].contains(i), present) << "round " << round << " step " << step;
        if (!present) continue;
        std::map<std::string, Value> expected;
        for (const auto& [k, list] : model[i]) expected[k] = list.front().second;
        ASSERT_EQ(sink.view["c"][i], expected) << "round " << round << " step " << step;
        std::optional<Object> view = box.ClientView("c", i);
        ASSERT_TRUE(view.has_value());
        std::map<std::string, Value> box_view;
        for (const Member& m : *view) box_view[m.key] = m.value;
        ASSERT_EQ(box_view, expected) << "round " << round << " step " << step;
      }
      ASSERT_EQ(box.document_count(), present_count) << "round " << round << " step " << step;
    }
    encoded_used += sink.encoded_used;
  }
  EXPECT_GT(encoded_used, 500);  // the pass-through path was exercised
}

TEST(MergeBoxTest, PreEncodedChangesPassThroughOnlyWhenExact) {
  MergeBox box;
  RecordingSink sink;
  auto E = [](std::string s) { return std::make_shared<const std::string>(std::move(s)); };
  ASSERT_TRUE(box.Added(1, "c", "d", O(R"({"a":1})"), sink, E(EncodeAdded("c", "d", O(R"({"a":1})")))).ok());
  EXPECT_EQ(sink.encoded_used, 1);
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"a":2})"), {}, sink, E(EncodeChanged("c", "d", O(R"({"a":2})"), {}))).ok());
  EXPECT_EQ(sink.encoded_used, 2);
  // A second subscription: the client gets a `changed` with what became
  // visible, not the `added` it was handed.
  ASSERT_TRUE(box.Added(2, "c", "d", O(R"({"a":9,"b":1})"), sink, E(EncodeAdded("c", "d", O(R"({"a":9,"b":1})")))).ok());
  EXPECT_EQ(sink.encoded_used, 2);
  EXPECT_EQ(sink.log.back(), R"({"msg":"changed","collection":"c","id":"d","fields":{"b":1}})");
  // Sub 1 leaves: a retraction (`changed`), not the `removed` handed in.
  ASSERT_TRUE(box.Removed(1, "c", "d", sink, E(EncodeRemoved("c", "d"))).ok());
  EXPECT_EQ(sink.encoded_used, 2);
  EXPECT_EQ(sink.log.back(), R"({"msg":"changed","collection":"c","id":"d","fields":{"a":9}})");
  // The last holder leaves: exactly `removed`.
  ASSERT_TRUE(box.Removed(2, "c", "d", sink, E(EncodeRemoved("c", "d"))).ok());
  EXPECT_EQ(sink.encoded_used, 3);
  EXPECT_EQ(sink.log.back(), R"({"msg":"removed","collection":"c","id":"d"})");
}

// An index that grows to tens of thousands of documents (its table rehashed
// several times, with documents removed in between), some of them held by
// a second subscription (the client's own copies): every document stays
// exactly as the client sees it, and retraction finds them all.
TEST(MergeBoxTest, LargeIndexKeepsEveryDocumentAsTheClientSeesIt) {
  MergeBox box;
  RecordingSink sink;
  std::mt19937 rng(7);
  std::map<std::string, int> model;  // id -> the value of field "n" the client sees
  std::vector<std::string> ids;
  std::set<std::string> second;  // also held by subscription 2
  for (int i = 0; i < 40000; ++i) {
    std::string id = "d" + std::to_string(i);
    ASSERT_TRUE(box.Added(1, "c", id, O(R"({"n":0})"), sink).ok());
    model[id] = 0;
    ids.push_back(id);
    if (i % 5 == 0) {  // change a random document still there
      const std::string& victim = ids[rng() % ids.size()];
      if (model.contains(victim)) {
        ASSERT_TRUE(box.Changed(1, "c", victim, O(StrCat(R"({"n":)", i, "}")), {}, sink).ok());
        model[victim] = i;
      }
    }
    if (i % 7 == 0) {  // a second subscription holds this one too
      ASSERT_TRUE(box.Added(2, "c", id, O(R"({"m":1})"), sink).ok());
      second.insert(id);
    }
    if (i % 3 == 0) {  // remove a random one that only the first holds
      const std::string& victim = ids[rng() % ids.size()];
      if (!second.contains(victim) && model.erase(victim) > 0) {
        ASSERT_TRUE(box.Removed(1, "c", victim, sink).ok());
      }
    }
    if (i % 4999 == 0) {
      ASSERT_EQ(box.document_count(), model.size()) << "after " << i;
    }
  }
  ASSERT_EQ(box.document_count(), model.size());
  for (const auto& [id, n] : model) {
    std::optional<Object> view = box.ClientView("c", id);
    ASSERT_TRUE(view.has_value()) << id;
    ASSERT_EQ(*view->Find("n"), Value(n)) << id;
    ASSERT_EQ(sink.view["c"][id]["n"], Value(n)) << id;
    if (second.contains(id)) ASSERT_EQ(*view->Find("m"), Value(1)) << id;
  }
  EXPECT_EQ(sink.present["c"].size(), model.size());
  box.RemoveSubscription(1, sink);
  box.RemoveSubscription(2, sink);
  EXPECT_EQ(box.document_count(), 0u);
  EXPECT_TRUE(sink.present["c"].empty());
}

// A change that carries the whole document after it (live queries' `after`)
// replaces the shared document of its only holder: the client gets the
// change as it is, the box keeps no copy of its own, and what the box holds
// is the new document — also when a second subscription comes later and
// the box has to copy it then.
TEST(MergeBoxTest, AChangeWithItsAfterImageKeepsTheDocumentShared) {
  MergeBox box;
  RecordingSink sink;
  auto v1 = SharedDocumentRef::Make("d", O(R"({"a":1,"b":2})"));
  ASSERT_TRUE(box.Added(1, "c", "d", v1->fields(), sink, nullptr, v1).ok());
  auto v2 = SharedDocumentRef::Make("d", O(R"({"a":5,"c":3})"));
  auto encoded = std::make_shared<const std::string>(
      EncodeChanged("c", "d", O(R"({"a":5,"c":3})"), {"b"}));
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"a":5,"c":3})"), {"b"}, sink, encoded, v2).ok());
  EXPECT_EQ(sink.encoded_used, 1);
  EXPECT_EQ(sink.log.back(), *encoded);
  EXPECT_EQ(box.ClientView("c", "d"), O(R"({"a":5,"c":3})"));
  // A second holder: the box copies the current (second) version.
  ASSERT_TRUE(box.Added(2, "c", "d", O(R"({"a":9,"z":1})"), sink).ok());
  EXPECT_EQ(sink.log.back(), R"({"msg":"changed","collection":"c","id":"d","fields":{"z":1}})");
  EXPECT_EQ(box.ClientView("c", "d"), O(R"({"a":5,"c":3,"z":1})"));
  // From here on the change goes through the copy; `after` is ignored.
  auto v3 = SharedDocumentRef::Make("d", O(R"({"a":6,"c":3})"));
  ASSERT_TRUE(box.Changed(1, "c", "d", O(R"({"a":6})"), {}, sink, nullptr, v3).ok());
  EXPECT_EQ(box.ClientView("c", "d"), O(R"({"a":6,"c":3,"z":1})"));
  box.RemoveSubscription(1, sink);
  EXPECT_EQ(box.ClientView("c", "d"), O(R"({"a":9,"z":1})"));
  EXPECT_EQ(sink.view["c"]["d"]["a"], Value(9));
  EXPECT_FALSE(sink.view["c"]["d"].contains("c"));
}


// A collection that one subscription alone publishes into, with whole
// documents, keeps a list instead of an index (see merge_box.h). Through
// many removals (the list rewrites itself), documents added again, many
// changes (the list becomes an index), a second subscription and the
// retraction of the first, the client sees what it would see with an
// index all along. Without the changes the list lasts until the second
// subscription arrives.
TEST(MergeBoxTest, OneSubscriptionAloneKeepsAListThatBecomesAnIndexWhenNeeded) {
  for (int variant = 0; variant < 4; ++variant) {
    const bool second_joins = (variant & 1) != 0;
    const bool with_changes = (variant & 2) != 0;
    SCOPED_TRACE(StrCat(second_joins ? "a second subscription joins" : "one subscription throughout",
                        with_changes ? ", many changes" : ", no changes"));
    MergeBox box;
    RecordingSink sink;
    std::map<std::string, int64_t> expected;  // id -> the value of "v" the client sees
    auto doc = [](const std::string& id, int64_t v) {
      return SharedDocumentRef::Make(id, O(StrCat(R"({"v":)", v, "}")));
    };
    auto add = [&](const std::string& id, int64_t v) {
      auto d = doc(id, v);
      ASSERT_TRUE(box.Added(1, "c", id, d->fields(), sink, nullptr, d).ok());
      expected[id] = v;
    };
    for (int i = 0; i < 2000; ++i) add(StrCat("d", i), i);
    // Removals, enough to rewrite the list, and documents added again.
    for (int i = 1; i < 2000; i += 4) {
      std::string id = StrCat("d", i);
      ASSERT_TRUE(box.Removed(1, "c", id, sink).ok());
      expected.erase(id);
    }
    for (int i = 1; i < 400; i += 4) add(StrCat("d", i), 7);  // added again
    // Changes: the first ones in the list, then (past a quarter of it) in
    // the index the list turns into.
    for (int i = 0; with_changes && i < 2000; i += 3) {
      std::string id = StrCat("d", i);
      if (!expected.contains(id)) continue;
      ASSERT_TRUE(box.Changed(1, "c", id, O(StrCat(R"({"v":)", -i, "}")), {}, sink, nullptr,
                              doc(id, -i))
                      .ok());
      expected[id] = -i;
    }
    ASSERT_EQ(box.document_count(), expected.size());
    for (const auto& [id, v] : expected) {
      ASSERT_EQ(sink.view["c"][id]["v"], Value(v)) << id;
      std::optional<Object> seen = box.ClientView("c", id);
      ASSERT_TRUE(seen.has_value()) << id;
      EXPECT_EQ(*seen->Find("v"), Value(v)) << id;
      EXPECT_TRUE(box.Holds(1, "c", id));
    }
    EXPECT_FALSE(box.ClientView("c", "d1001").has_value());  // removed, not added again
    EXPECT_FALSE(box.Holds(2, "c", "d0"));
    // Another subscription may not touch what it does not hold.
    EXPECT_EQ(box.Removed(2, "c", "d0", sink).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(box.Changed(2, "c", "d0", O(R"({"v":1})"), {}, sink).code(),
              absl::StatusCode::kFailedPrecondition);
    std::set<std::string> kept;  // what the client keeps after the first stops
    if (second_joins) {
      // The second subscription publishes d0 (held by the first) with a
      // field of its own, and a document of its own.
      ASSERT_TRUE(box.Added(2, "c", "d0", O(R"({"v":99,"w":1})"), sink).ok());
      EXPECT_EQ(sink.view["c"]["d0"]["v"], Value(int64_t{0}));  // the first holder's value
      EXPECT_EQ(sink.view["c"]["d0"]["w"], Value(1));
      ASSERT_TRUE(box.Added(2, "c", "x", O(R"({"v":5})"), sink).ok());
      ASSERT_EQ(box.document_count(), expected.size() + 1);
      // The first keeps publishing into the collection, now indexed.
      ASSERT_TRUE(box.Changed(1, "c", "d3", O(R"({"v":33})"), {}, sink, nullptr, doc("d3", 33)).ok());
      EXPECT_EQ(sink.view["c"]["d3"]["v"], Value(33));
      kept = {"d0", "x"};
    }
    sink.Take();
    box.RemoveSubscription(1, sink);
    std::set<std::string> left;
    for (const auto& [id, fields] : sink.view["c"]) left.insert(id);
    EXPECT_EQ(left, kept);
    EXPECT_EQ(box.document_count(), kept.size());
    if (second_joins) {
      // d0 is the second's alone now: its own value.
      EXPECT_EQ(sink.view["c"]["d0"]["v"], Value(99));
    }
  }
}

// A change without the whole document ends the list (the box cannot
// follow the document any more); the client's view is unaffected.
TEST(MergeBoxTest, AChangeWithoutItsDocumentIndexesTheCollection) {
  MergeBox box;
  RecordingSink sink;
  for (int i = 0; i < 10; ++i) {
    auto d = SharedDocumentRef::Make(StrCat("d", i), O(R"({"a":1,"b":2})"));
    ASSERT_TRUE(box.Added(1, "c", d->id(), d->fields(), sink, nullptr, d).ok());
  }
  ASSERT_TRUE(box.Changed(1, "c", "d4", O(R"({"a":5})"), {"b"}, sink).ok());
  EXPECT_EQ(*box.ClientView("c", "d4"), O(R"({"a":5})"));
  // Index checks apply again: adding a document the subscription holds.
  auto again = SharedDocumentRef::Make("d1", O(R"({"a":1})"));
  EXPECT_EQ(box.Added(1, "c", "d1", again->fields(), sink, nullptr, again).code(),
            absl::StatusCode::kFailedPrecondition);
  box.RemoveSubscription(1, sink);
  EXPECT_TRUE(sink.present["c"].empty());
  EXPECT_EQ(box.document_count(), 0u);
}

}  // namespace
}  // namespace ddp
