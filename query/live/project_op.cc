// $project and $addFields / $set: each output document is a function of
// one input document, so a change maps to a change (or to nothing when the
// output is unchanged).
#include "query/live/operator.h"

#include "query/modifier.h"

namespace ddp::query {
namespace {

class ProjectOp : public Operator {
 public:
  explicit ProjectOp(const ProjectStage& s) : s_(s) {}
  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    for (const DocDelta& d : in) {
      DocPtr before = d.before ? Transform(*d.before) : nullptr;
      DocPtr after = d.after ? Transform(*d.after) : nullptr;
      EmitChange(out, d, std::move(before), std::move(after));
    }
    return absl::OkStatus();
  }

 private:
  DocPtr Transform(const Object& doc) const {
    Value out;
    if (s_.add) {
      out = Value(doc);
    } else if (s_.has_plain) {
      out = Value(s_.plain.Apply(doc));
    } else {
      out = Value(Object());
      if (const Value* id = doc.Find("_id"); id != nullptr && s_.keep_id) {
        out.as_object().Append("_id", *id);
      }
    }
    for (const auto& [path, expr] : s_.computed) {
      std::optional<Value> v = expr.Evaluate(doc);
      if (!v) continue;  // a missing value leaves the field out
      // Paths were validated at compile time; a scalar in the way is
      // replaced, as $addFields does.
      if (!SetPath(out, path, *v).ok()) {
        size_t dot = path.find('.');
        out.as_object().Set(path.substr(0, dot), Value(Object()));
        (void)SetPath(out, path, std::move(*v));
      }
    }
    return std::make_shared<const Object>(std::move(out.as_object()));
  }
  const ProjectStage& s_;
};

}  // namespace

std::unique_ptr<Operator> MakeProjectOp(const ProjectStage& s) {
  return std::make_unique<ProjectOp>(s);
}

}  // namespace ddp::query
