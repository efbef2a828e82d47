// $lookup {from, localField, foreignField, as}: a live equality join.
// Both sides are indexed by the KeyString of their join values (an array
// field contributes each element; a missing field counts as null, which
// matches null and missing on the other side, as in MongoDB). A change on
// the local side recomputes that document's `as` array; a change in `from`
// recomputes every local document joined to its old or new values. The
// `as` array holds the matching `from` documents in _id order.
#include <algorithm>

#include "absl/container/inlined_vector.h"

#include "common/string_map.h"
#include "query/live/operator.h"
#include "query/path.h"

namespace ddp::query {
namespace {

std::vector<std::string> JoinKeys(const Object& doc, const Path& path) {
  return EqualityKeys(doc, path);
}

class LookupOp : public LookupOperator {
 public:
  explicit LookupOp(const LookupStage& s)
      : s_(s), local_path_(s.local_field), foreign_path_(s.foreign_field) {}

  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    for (const DocDelta& d : in) {
      auto it = local_.find(d.key);
      if (it != local_.end() && d.after != nullptr) {
        // An update: the index changes only when the join values do (the
        // usual update leaves them alone).
        Local& l = it->second;
        std::vector<std::string> keys = JoinKeys(*d.after, local_path_);
        if (keys != l.keys) {
          Unindex(local_index_, l.keys, d.key);
          for (const std::string& k : keys) local_index_[k].insert(d.key);
          l.keys = std::move(keys);
        }
        DocPtr before_out = std::move(l.output);
        l.input = d.after;
        l.output = Join(*d.after, l.keys);
        EmitChange(out, d, std::move(before_out), l.output);
        continue;
      }
      DocPtr before_out;
      if (it != local_.end()) {
        before_out = it->second.output;
        Unindex(local_index_, it->second.keys, d.key);
        local_.erase(it);
      }
      DocPtr after_out;
      if (d.after != nullptr) {
        Local l;
        l.meta = DocDelta{d.key, d.id, d.topic, nullptr, nullptr};
        l.input = d.after;
        l.keys = JoinKeys(*d.after, local_path_);
        l.output = Join(*d.after, l.keys);
        after_out = l.output;
        for (const std::string& k : l.keys) local_index_[k].insert(d.key);
        local_.emplace(d.key, std::move(l));
      }
      EmitChange(out, d, std::move(before_out), std::move(after_out));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyForeign(const DocDeltas& foreign, DocDeltas* out) override {
    StringSet touched;
    auto touch = [&](const std::vector<std::string>& keys) {
      for (const std::string& k : keys) {
        auto it = local_index_.find(k);
        if (it == local_index_.end()) continue;
        for (const std::string& local_key : it->second) touched.insert(local_key);
      }
    };
    for (const DocDelta& delta : foreign) {
      DocDelta prepared;
      const DocDelta& d = s_.foreign.empty() ? delta : (prepared = Prepare(delta), prepared);
      auto it = foreign_keys_.find(d.id);
      if (it != foreign_keys_.end()) {
        touch(it->second);
        Unindex(foreign_index_, it->second, d.id);
        foreign_keys_.erase(it);
        foreign_docs_.erase(d.id);
      }
      if (d.after != nullptr) {
        std::vector<std::string> keys = JoinKeys(*d.after, foreign_path_);
        touch(keys);
        for (const std::string& k : keys) foreign_index_[k].insert(d.id);
        foreign_keys_.emplace(d.id, std::move(keys));
        foreign_docs_[d.id] = d.after;
      }
    }
    for (const std::string& key : touched) {
      Local& l = local_.at(key);
      // Only the `as` array can differ from the held output: compare it
      // alone, and build a new document only when it changed.
      Array joined = Joined(l.keys);
      const Value* old = l.output->Find(s_.as);
      if (old != nullptr && old->is_array() && old->as_array() == joined) continue;
      DocPtr now = WithJoined(*l.input, std::move(joined));
      out->push_back(DocDelta{l.meta.key, l.meta.id, l.meta.topic, l.output, now});
      l.output = std::move(now);
    }
    return absl::OkStatus();
  }

 private:
  struct Local {
    DocDelta meta;
    DocPtr input;
    DocPtr output;
    std::vector<std::string> keys;
  };

  // A `from` change as the join sees it: after the stage's own pipeline
  // (only `after` matters: an old version is found by id).
  DocDelta Prepare(const DocDelta& d) const {
    DocDelta out{d.key, d.id, d.topic, nullptr, d.after};
    for (const LookupStage::ForeignStep& step : s_.foreign) {
      if (out.after == nullptr) break;
      if (step.match && !step.match->Matches(*out.after)) {
        out.after = nullptr;
      } else if (step.project) {
        out.after = std::make_shared<const Object>(step.project->Apply(*out.after));
      }
    }
    return out;
  }

  static void Unindex(StringMap<StringSet>& index, const std::vector<std::string>& keys,
                      const std::string& member) {
    for (const std::string& k : keys) {
      auto it = index.find(k);
      if (it == index.end()) continue;
      it->second.erase(member);
      if (it->second.empty()) index.erase(it);
    }
  }

  DocPtr Join(const Object& doc, const std::vector<std::string>& keys) const {
    return WithJoined(doc, Joined(keys));
  }

  // The `from` documents joined to `keys`, in _id order.
  Array Joined(const std::vector<std::string>& keys) const {
    // By foreign _id, each once (a foreign document can match through two
    // keys). Usually one or two: a small sorted vector, no tree.
    absl::InlinedVector<std::pair<std::string_view, const DocPtr*>, 4> matches;
    for (const std::string& k : keys) {
      auto it = foreign_index_.find(k);
      if (it == foreign_index_.end()) continue;
      for (const std::string& fid : it->second) matches.emplace_back(fid, &foreign_docs_.at(fid));
    }
    std::sort(matches.begin(), matches.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    matches.erase(std::unique(matches.begin(), matches.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  matches.end());
    Array joined;
    joined.reserve(matches.size());
    for (const auto& [fid, d] : matches) joined.push_back(Value(**d));
    return joined;
  }

  DocPtr WithJoined(const Object& doc, Array joined) const {
    Object o = doc;
    o.Set(s_.as, Value(std::move(joined)));
    return std::make_shared<const Object>(std::move(o));
  }

  const LookupStage& s_;
  Path local_path_, foreign_path_;
  StringMap<Local> local_;
  StringMap<StringSet> local_index_;
  StringMap<DocPtr> foreign_docs_;
  StringMap<std::vector<std::string>> foreign_keys_;
  StringMap<StringSet> foreign_index_;
};

}  // namespace

std::unique_ptr<LookupOperator> MakeLookupOp(const LookupStage& s) {
  return std::make_unique<LookupOp>(s);
}

}  // namespace ddp::query
