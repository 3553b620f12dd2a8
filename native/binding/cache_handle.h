#pragma once
// What the JavaScript faces of PrefixCache and CompactCache share: the
// sequence they hold, the lease that lets one operation at a time change it,
// and generation, logits, statistics and dispose. A second operation that
// would collide is refused, not queued behind the first, so a caller's
// mistake shows up as an error; a caller that admits readers and writers in
// turn (the server's scheduler) never meets it. The model's thread runs one
// job at a time, but that alone would not do: a queued question would find
// its prefix changed by a job queued before it, and truncate runs on the
// JavaScript thread.
#include <napi.h>

#include <memory>
#include <mutex>

#include "engine/sequence.h"
#include "engine/token_stream.h"
#include "engine_thread.h"
#include "model/model.h"

namespace snapkv::binding {

// Shared by a cache handle, its jobs and its token streams.
struct CacheSlot {
  std::shared_ptr<Model> model;
  std::shared_ptr<EngineThread> thread;  // the model's: where the cache's long work runs
  std::shared_ptr<Sequence> sequence;

  // Readers (questions, saves) may share a cache; a writer (extend, truncate,
  // generate) has it alone.
  std::mutex lease_mutex;
  int readers = 0;
  bool writer = false;
};

enum class LeaseKind { Shared, Exclusive };

// Holds a cache for reading or writing for as long as it lives; refused
// with a BUSY error when that would collide with another operation.
class CacheLease {
 public:
  CacheLease(Napi::Env env, std::shared_ptr<CacheSlot> slot, LeaseKind kind);
  ~CacheLease();
  CacheLease(const CacheLease&) = delete;
  CacheLease& operator=(const CacheLease&) = delete;

 private:
  std::shared_ptr<CacheSlot> slot_;
  LeaseKind kind_;
};

// The slot of a live handle; a DISPOSED error once dispose() was called.
std::shared_ptr<CacheSlot> live_slot(Napi::Env env, const std::shared_ptr<CacheSlot>& slot);

// The methods both handles offer, each taking the handle's slot.
Napi::Value generate_from(const Napi::CallbackInfo& info, std::shared_ptr<CacheSlot> slot);
Napi::Value last_logits_of(const Napi::CallbackInfo& info, const CacheSlot& slot);
Napi::Value stats_of(const Napi::CallbackInfo& info, CacheSlot& slot);

// The shared half of PrefixCacheHandle and CompactCacheHandle.
template <typename Self>
class CacheHandle : public Napi::ObjectWrap<Self> {
 public:
  explicit CacheHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Self>(info) {}

  // generate({ maxTokens, temperature, topK, topP, seed, stopTokens }) -> TokenStream
  Napi::Value generate(const Napi::CallbackInfo& info) { return generate_from(info, slot(info.Env())); }
  Napi::Value last_logits(const Napi::CallbackInfo& info) { return last_logits_of(info, *slot(info.Env())); }
  Napi::Value stats(const Napi::CallbackInfo& info) { return stats_of(info, *slot(info.Env())); }
  Napi::Value dispose(const Napi::CallbackInfo& info);

  static std::vector<typename Napi::ObjectWrap<Self>::PropertyDescriptor> shared_methods() {
    using Wrap = Napi::ObjectWrap<Self>;
    return {Wrap::InstanceMethod("generate", &CacheHandle::generate),
            Wrap::InstanceMethod("lastLogits", &CacheHandle::last_logits),
            Wrap::InstanceMethod("stats", &CacheHandle::stats), Wrap::InstanceMethod("dispose", &CacheHandle::dispose)};
  }

 protected:
  std::shared_ptr<CacheSlot> slot(Napi::Env env) const { return live_slot(env, slot_); }
  void hold(ModelOnThread engine, std::shared_ptr<Sequence> sequence) {
    slot_ = std::make_shared<CacheSlot>();
    slot_->model = std::move(engine.model);
    slot_->thread = std::move(engine.thread);
    slot_->sequence = std::move(sequence);
  }

 private:
  std::shared_ptr<CacheSlot> slot_;
};

void release_cache_memory();

template <typename Self>
Napi::Value CacheHandle<Self>::dispose(const Napi::CallbackInfo& info) {
  slot_.reset();
  release_cache_memory();
  return info.Env().Undefined();
}

}  // namespace snapkv::binding
