#pragma once
// JavaScript face of a Sequence (a KV cache and its last logits). One
// operation at a time may use a sequence: a second one is refused, not queued
// behind the first, so a caller's mistake shows up as an error.
#include <napi.h>

#include <atomic>
#include <memory>

#include <mutex>
#include <vector>

#include "engine/compact_cache.h"
#include "engine/sequence.h"
#include "model/model.h"

namespace snapkv::binding {

// Shared by the handle, its workers and its token streams.
struct SequenceSlot {
  std::shared_ptr<Model> model;
  std::shared_ptr<Sequence> sequence;
  // For a compressed cache: what SnapKV kept, and the prompt length.
  std::shared_ptr<const std::vector<std::vector<KeptHead>>> kept;
  int prompt_length = 0;

  // Readers (questions, saves) may share a cache; a writer (extend, truncate,
  // generate) has it alone.
  std::mutex lease_mutex;
  int readers = 0;
  bool writer = false;
};

enum class LeaseKind { Shared, Exclusive };

// Holds a sequence for reading or writing for as long as it lives; refused
// with a BUSY error when that would collide with another operation.
class SequenceLease {
 public:
  SequenceLease(Napi::Env env, std::shared_ptr<SequenceSlot> slot, LeaseKind kind);
  ~SequenceLease();
  SequenceLease(const SequenceLease&) = delete;
  SequenceLease& operator=(const SequenceLease&) = delete;

 private:
  std::shared_ptr<SequenceSlot> slot_;
  LeaseKind kind_;
};

class SequenceHandle : public Napi::ObjectWrap<SequenceHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object create(Napi::Env env, std::shared_ptr<Model> model, int cache_heads, int capacity);
  // Wraps an existing sequence, and for a compressed cache what it kept.
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Model> model, std::shared_ptr<Sequence> sequence,
                           std::shared_ptr<const std::vector<std::vector<KeptHead>>> kept, int prompt_length);
  explicit SequenceHandle(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<SequenceSlot> slot(Napi::Env env) const;

  Napi::Value forward(const Napi::CallbackInfo& info);
  Napi::Value query(const Napi::CallbackInfo& info);
  Napi::Value truncate(const Napi::CallbackInfo& info);
  Napi::Value save(const Napi::CallbackInfo& info);
  Napi::Value tokens(const Napi::CallbackInfo& info);
  Napi::Value kept(const Napi::CallbackInfo& info);
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value last_logits(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<SequenceSlot> slot_;
};

}  // namespace snapkv::binding
