#pragma once
// Reads SnapKV compression options from a JavaScript object.
#include <napi.h>

#include "engine/compact_cache.h"

namespace snapkv::binding {

// { window, budget, kernel, pooling: 'max'|'avg', gqa: 'mean'|'repeat', reserveTokens, chunkTokens }
CompressOptions compress_options_from_js(Napi::Object options);

}  // namespace snapkv::binding
