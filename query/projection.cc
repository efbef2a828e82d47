#include "query/projection.h"

#include "common/strings.h"
#include "query/path.h"

namespace ddp::query {
namespace {

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("invalid fields: ", what));
}

Value ProjectValue(const Value& v, const Projection::Node& node, bool include);

Object ProjectObject(const Object& o, const Projection::Node& node, bool include) {
  Object out;
  for (const Member& m : o) {
    auto it = node.children.find(m.key);
    if (it == node.children.end()) {
      if (!include) out.Append(m.key, m.value);
      continue;
    }
    if (it->second.leaf) {
      if (include) out.Append(m.key, m.value);
      continue;
    }
    if (m.value.is_object() || m.value.is_array()) {
      out.Append(m.key, ProjectValue(m.value, it->second, include));
    } else if (!include) {
      out.Append(m.key, m.value);
    }
  }
  return out;
}

Value ProjectValue(const Value& v, const Projection::Node& node, bool include) {
  if (v.is_object()) return Value(ProjectObject(v.as_object(), node, include));
  Array out;
  for (const Value& e : v.as_array()) {
    if (e.is_object() || e.is_array()) {
      out.push_back(ProjectValue(e, node, include));
    } else if (!include) {
      out.push_back(e);  // inclusion of sub-fields drops scalars in arrays
    }
  }
  return Value(std::move(out));
}

}  // namespace

absl::StatusOr<Projection> Projection::Compile(const Value& fields) {
  if (fields.is_null()) return Projection();
  if (!fields.is_object()) return Bad("must be an object");
  auto root = std::make_shared<Node>();
  int mode = -1;  // 1 include, 0 exclude
  Projection out;
  for (const Member& m : fields.as_object()) {
    bool on;
    if (m.value.is_bool()) {
      on = m.value.as_bool();
    } else if (m.value.is_number()) {
      on = m.value.ToDouble() != 0;
    } else {
      return Bad(StrCat("the value of '", m.key, "' must be 1, 0, true or false"));
    }
    if (m.key.empty() || m.key[0] == '$') return Bad(StrCat("invalid field '", m.key, "'"));
    if (m.key == "_id") {
      out.include_id_ = on;
      continue;
    }
    int this_mode = on ? 1 : 0;
    if (mode != -1 && mode != this_mode) {
      return Bad("cannot mix inclusion and exclusion (except for _id)");
    }
    mode = this_mode;
    Path path(m.key);
    Node* node = root.get();
    for (const std::string& part : path.parts()) {
      if (part.empty()) return Bad(StrCat("invalid field '", m.key, "'"));
      if (node->leaf) return Bad(StrCat("path collision at '", m.key, "'"));
      node = &node->children[part];
    }
    if (node->leaf || !node->children.empty()) {
      return Bad(StrCat("path collision at '", m.key, "'"));
    }
    node->leaf = true;
  }
  if (mode == -1) {
    // Only _id was named: {_id: 0} excludes it, {_id: 1} keeps only it.
    if (out.include_id_ && fields.as_object().empty()) return Projection();
    out.include_ = out.include_id_;
    if (!out.include_) {
      root->children["_id"].leaf = true;
      out.include_id_ = true;  // handled through the tree
    }
  } else {
    out.include_ = mode == 1;
  }
  out.tree_ = std::move(root);
  return out;
}

Object Projection::Apply(const Object& doc) const {
  if (tree_ == nullptr) return doc;
  Object out = ProjectObject(doc, *tree_, include_);
  const Value* id = doc.Find("_id");
  if (include_ && include_id_ && id != nullptr && !out.Contains("_id")) {
    // _id leads, as MongoDB returns it.
    Object with_id;
    with_id.reserve(out.size() + 1);
    with_id.Append("_id", *id);
    for (Member& m : out) with_id.Append(std::move(m.key), std::move(m.value));
    return with_id;
  }
  if (!include_id_) out.Erase("_id");
  return out;
}

}  // namespace ddp::query
