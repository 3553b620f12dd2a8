#include "cache_handle.h"

#include "common/free_memory.h"
#include "js_values.h"
#include "stream_handle.h"

namespace snapkv::binding {

namespace {

Napi::Error busy_error(Napi::Env env, const char* message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", "BUSY");
  return error;
}

}  // namespace

CacheLease::CacheLease(Napi::Env env, std::shared_ptr<CacheSlot> slot, LeaseKind kind)
    : slot_(std::move(slot)), kind_(kind) {
  std::lock_guard<std::mutex> lock(slot_->lease_mutex);
  if (slot_->writer) {
    throw busy_error(env, "this cache is in use by another operation (a prefill, a truncation or a generation); "
                          "wait for it to finish");
  }
  if (kind_ == LeaseKind::Exclusive) {
    if (slot_->readers > 0) {
      throw busy_error(env, "this cache is being read (a question or a save is running); wait for it to finish "
                            "before changing it");
    }
    slot_->writer = true;
  } else {
    ++slot_->readers;
  }
}

CacheLease::~CacheLease() {
  std::lock_guard<std::mutex> lock(slot_->lease_mutex);
  if (kind_ == LeaseKind::Exclusive) {
    slot_->writer = false;
  } else {
    --slot_->readers;
  }
}

std::shared_ptr<CacheSlot> live_slot(Napi::Env env, const std::shared_ptr<CacheSlot>& slot) {
  if (!slot) {
    Napi::Error error = Napi::Error::New(env, "this cache has been disposed");
    error.Set("code", "DISPOSED");
    throw error;
  }
  return slot;
}

Napi::Value generate_from(const Napi::CallbackInfo& info, std::shared_ptr<CacheSlot> slot) {
  Napi::Env env = info.Env();
  Napi::Object options = options_argument(info, 0);
  GenerationOptions generation;
  generation.max_tokens = static_cast<int>(number_option(options, "maxTokens", 256));
  generation.sampling.temperature = static_cast<float>(number_option(options, "temperature", 0));
  generation.sampling.top_k = static_cast<int>(number_option(options, "topK", 0));
  generation.sampling.top_p = static_cast<float>(number_option(options, "topP", 1));
  generation.sampling.seed = static_cast<std::uint64_t>(number_option(options, "seed", 0));
  Napi::Value stop = options.Get("stopTokens");
  if (!stop.IsUndefined()) generation.stop_tokens = tokens_from_js(stop);
  auto lease = std::make_shared<CacheLease>(env, slot, LeaseKind::Exclusive);
  return TokenStreamHandle::create(env, slot, generation, lease);
}

Napi::Value last_logits_of(const Napi::CallbackInfo& info, const CacheSlot& slot) {
  if (slot.sequence->last_logits.empty()) return info.Env().Null();
  return floats_to_js(info.Env(), slot.sequence->last_logits);
}

Napi::Value stats_of(const Napi::CallbackInfo& info, CacheSlot& slot) {
  Napi::Env env = info.Env();
  const KvStore& kv = *slot.sequence->kv;
  const KvMemory memory = kv.memory();
  Napi::Object result = Napi::Object::New(env);
  result.Set("tokens", kv.length());
  result.Set("nextPosition", kv.next_position());
  result.Set("capacity", kv.capacity());
  result.Set("cacheHeads", kv.heads());
  result.Set("placement", memory.placement);
  result.Set("usedBytes", static_cast<double>(memory.used_bytes));
  result.Set("capacityBytes", static_cast<double>(memory.bytes()));
  result.Set("deviceBytes", static_cast<double>(memory.device_bytes));
  result.Set("hostBytes", static_cast<double>(memory.host_bytes));
  result.Set("forwardedTokens", static_cast<double>(slot.sequence->forwarded_tokens));
  std::lock_guard<std::mutex> lock(slot.lease_mutex);
  result.Set("busy", slot.writer || slot.readers > 0);
  return result;
}

void release_cache_memory() { return_free_memory_to_os(); }

}  // namespace snapkv::binding
