#pragma once
// JavaScript face of a TokenStream: one promise per generated token.
#include <napi.h>

#include <atomic>
#include <memory>

#include "engine/token_stream.h"

namespace snapkv::binding {

struct CacheSlot;
class CacheLease;

class TokenStreamHandle : public Napi::ObjectWrap<TokenStreamHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object create(Napi::Env env, std::shared_ptr<CacheSlot> slot, const GenerationOptions& options,
                             std::shared_ptr<CacheLease> lease);
  explicit TokenStreamHandle(const Napi::CallbackInfo& info);

 private:
  // Shared with the workers: the stream, the lease on its sequence, and a
  // guard against two steps at once.
  struct State {
    std::shared_ptr<CacheSlot> slot;
    std::unique_ptr<TokenStream> stream;
    std::shared_ptr<CacheLease> lease;
    std::atomic<bool> stepping{false};
  };

  std::shared_ptr<State> state(Napi::Env env) const;
  Napi::Value next(const Napi::CallbackInfo& info);
  Napi::Value finish(const Napi::CallbackInfo& info);
  Napi::Value produced(const Napi::CallbackInfo& info);

  std::shared_ptr<State> state_;
};

}  // namespace snapkv::binding
