#pragma once
// JavaScript face of a Sequence (a KV cache and its last logits). One
// operation at a time may use a sequence: a second one is refused, not queued
// behind the first, so a caller's mistake shows up as an error.
#include <napi.h>

#include <atomic>
#include <memory>

#include "engine/sequence.h"
#include "model/model.h"

namespace snapkv::binding {

// Shared by the handle, its workers and its token streams.
struct SequenceSlot {
  std::shared_ptr<Model> model;
  std::shared_ptr<Sequence> sequence;
  std::atomic<bool> busy{false};
};

// Marks a sequence busy for as long as it lives.
class SequenceLease {
 public:
  SequenceLease(Napi::Env env, std::shared_ptr<SequenceSlot> slot);
  ~SequenceLease();
  SequenceLease(const SequenceLease&) = delete;
  SequenceLease& operator=(const SequenceLease&) = delete;

 private:
  std::shared_ptr<SequenceSlot> slot_;
};

class SequenceHandle : public Napi::ObjectWrap<SequenceHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object create(Napi::Env env, std::shared_ptr<Model> model, int cache_heads, int capacity);
  explicit SequenceHandle(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<SequenceSlot> slot(Napi::Env env) const;

  Napi::Value forward(const Napi::CallbackInfo& info);
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value last_logits(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<SequenceSlot> slot_;
};

}  // namespace snapkv::binding
