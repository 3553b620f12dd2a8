#include "stream_handle.h"

#include <optional>

#include "addon_data.h"
#include "cancel_flag.h"
#include "cache_handle.h"
#include "js_errors.h"

namespace snapkv::binding {

namespace {

struct StreamInit {
  std::shared_ptr<CacheSlot> slot;
  GenerationOptions options;
  std::shared_ptr<CacheLease> lease;
};

// Clears the stepping flag when a step's worker is done with the state.
struct StepGuard {
  std::atomic<bool>* flag;
  ~StepGuard() { flag->store(false); }
};

}  // namespace

Napi::Function TokenStreamHandle::define(Napi::Env env) {
  return DefineClass(env, "TokenStream",
                     {InstanceMethod<&TokenStreamHandle::next>("next"),
                      InstanceMethod<&TokenStreamHandle::finish>("finish"),
                      InstanceAccessor<&TokenStreamHandle::produced>("produced")});
}

Napi::Object TokenStreamHandle::create(Napi::Env env, std::shared_ptr<CacheSlot> slot,
                                       const GenerationOptions& options, std::shared_ptr<CacheLease> lease) {
  StreamInit init{std::move(slot), options, std::move(lease)};
  return addon_data(env).token_stream.New({Napi::External<StreamInit>::New(env, &init)});
}

TokenStreamHandle::TokenStreamHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TokenStreamHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "token streams are made by cache.generate(), not by new");
  }
  StreamInit& init = *info[0].As<Napi::External<StreamInit>>().Data();
  auto state = std::make_shared<State>();
  state->slot = init.slot;
  state->lease = init.lease;
  CaughtError caught;
  if (!capture_errors(caught, [&] {
        state->stream = std::make_unique<TokenStream>(init.slot->model, init.slot->sequence, init.options);
      })) {
    throw_js(info.Env(), caught);
  }
  state_ = std::move(state);
}

std::shared_ptr<TokenStreamHandle::State> TokenStreamHandle::state(Napi::Env env) const {
  if (!state_ || !state_->stream) {
    Napi::Error error = Napi::Error::New(env, "this generation has finished");
    error.Set("code", "FINISHED");
    throw error;
  }
  if (state_->stepping.exchange(true)) {
    Napi::Error error = Napi::Error::New(env, "the previous step of this generation is still running; await it first");
    error.Set("code", "BUSY");
    throw error;
  }
  return state_;
}

// next(cancelFlag?) -> Promise<number | null>
Napi::Value TokenStreamHandle::next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<State> s = state(env);
  auto guard = std::make_shared<StepGuard>(StepGuard{&s->stepping});
  auto cancel = CancelFlag::from(info.Length() > 0 ? info[0] : env.Undefined());
  auto token = std::make_shared<std::optional<int>>();
  return s->slot->thread->run(
      env, [s, guard, cancel, token] { *token = s->stream->next(cancel.get()); },
      [token](Napi::Env env) -> Napi::Value {
        return token->has_value() ? Napi::Number::New(env, **token) : env.Null();
      });
}

// finish(cancelFlag?) -> Promise<void>: adds the last token to the cache and
// releases the sequence for other operations.
Napi::Value TokenStreamHandle::finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<State> s = state(env);
  state_.reset();
  auto guard = std::make_shared<StepGuard>(StepGuard{&s->stepping});
  auto cancel = CancelFlag::from(info.Length() > 0 ? info[0] : env.Undefined());
  return s->slot->thread->run(
      env,
      [s, guard, cancel]() mutable {
        s->stream->finish(cancel.get());
        s->lease.reset();
      },
      [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
}

Napi::Value TokenStreamHandle::produced(const Napi::CallbackInfo& info) {
  if (!state_ || !state_->stream) return info.Env().Null();
  return Napi::Number::New(info.Env(), state_->stream->produced());
}

}  // namespace snapkv::binding
