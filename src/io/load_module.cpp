// Model files: a module's name and config from the metadata, its parameters
// under a key prefix (docs/case-format.md).
#include "edgeattn/io.h"
#include "edgeattn/model.h"
#include "model_file.h"

namespace edgeattn {
namespace detail {

ParamSet read_params(const SafetensorsFile& f, const std::string& prefix, const std::string& where) {
  ParamSet p(where);
  for (const TensorEntry& e : f.entries()) {
    if (!starts_with(e.name, prefix)) continue;
    const std::size_t dot = e.name.rfind(".scale");
    if (dot != std::string::npos && dot + 6 == e.name.size()) {  // int8 scales go with their weight
      const TensorEntry* w = f.find(e.name.substr(0, dot));
      if (w && w->dtype == DType::i8) continue;
    }
    Result<Tensor> t = f.read_weight(e);
    if (t.ok()) p.add(e.name.substr(prefix.size()), std::move(t).value());
    else p.add_unreadable(e.name.substr(prefix.size()), t.status());
  }
  return p;
}

Status read_weight_type(const SafetensorsFile& f, ParamSet& params) {
  const auto weights = f.metadata().find("weights");
  if (weights == f.metadata().end()) return {};
  Result<WeightType> t = weight_type_from_name(weights->second);
  if (!t.ok()) return Status::invalid(f.name() + ": __metadata__ weights: " + t.status().message());
  params.set_weight_type(t.value());
  return {};
}

Result<std::unique_ptr<Module>> module_from(const SafetensorsFile& f, const std::string& kind,
                                            const std::string& config_text,
                                            const std::string& prefix) {
  if (kind == "graph" && prefix == "param.") {  // a whole network (docs/model-format.md)
    EDGEATTN_ASSIGN_OR_RETURN(model, Model::load(f));
    return Model::as_module(std::move(model));
  }
  Result<Json> config = parse_json(config_text);
  if (!config.ok()) return Status::invalid(f.name() + ": config: " + config.status().message());
  ParamSet params = read_params(f, prefix, f.name() + ": ");
  EDGEATTN_RETURN_IF_ERROR(read_weight_type(f, params));
  Result<std::unique_ptr<Module>> m = create_module(kind, config.value(), params);
  if (!m.ok()) {
    const std::string& msg = m.status().message();
    return Status(m.status().code(), starts_with(msg, f.name()) ? msg : f.name() + ": " + msg);
  }
  return m;
}

Result<std::string> metadata(const SafetensorsFile& f, const std::string& key) {
  if (!f.has_metadata()) return Status::invalid(f.name() + ": no __metadata__ (module, config)");
  const auto it = f.metadata().find(key);
  if (it == f.metadata().end()) return Status::invalid(f.name() + ": __metadata__ has no '" + key + "'");
  return it->second;
}

}  // namespace detail

Result<std::unique_ptr<Module>> load_module(const std::string& path) {
  EDGEATTN_ASSIGN_OR_RETURN(f, SafetensorsFile::open(path));
  EDGEATTN_ASSIGN_OR_RETURN(kind, detail::metadata(f, "module"));
  EDGEATTN_ASSIGN_OR_RETURN(config, detail::metadata(f, "config"));
  return detail::module_from(f, kind, config, "param.");
}

Result<std::unique_ptr<Module>> load_module(const std::string& path, const std::string& kind,
                                            const std::string& config_json,
                                            const std::string& prefix) {
  EDGEATTN_ASSIGN_OR_RETURN(f, SafetensorsFile::open(path));
  return detail::module_from(f, kind, config_json, prefix);
}

}  // namespace edgeattn
