#include "sequence_handle.h"

#include "addon_data.h"
#include "cancel_flag.h"
#include "engine/forward.h"
#include "js_values.h"
#include "progress_channel.h"
#include "promise_worker.h"
#include "stream_handle.h"

namespace snapkv::binding {

namespace {

struct SequenceInit {
  std::shared_ptr<Model> model;
  int cache_heads;
  int capacity;
};

LogitsMode logits_mode(Napi::Env env, const std::string& name) {
  if (name == "none") return LogitsMode::None;
  if (name == "last") return LogitsMode::Last;
  if (name == "all") return LogitsMode::All;
  throw Napi::RangeError::New(env, "logits must be 'none', 'last' or 'all'");
}

}  // namespace

SequenceLease::SequenceLease(Napi::Env env, std::shared_ptr<SequenceSlot> slot) : slot_(std::move(slot)) {
  if (slot_->busy.exchange(true)) {
    slot_.reset();
    Napi::Error error = Napi::Error::New(
        env, "this cache is in use by another operation (a prefill or a generation); wait for it to finish");
    error.Set("code", "BUSY");
    throw error;
  }
}

SequenceLease::~SequenceLease() {
  if (slot_) slot_->busy.store(false);
}

Napi::Function SequenceHandle::define(Napi::Env env) {
  return DefineClass(env, "Sequence",
                     {InstanceMethod<&SequenceHandle::forward>("forward"),
                      InstanceMethod<&SequenceHandle::generate>("generate"),
                      InstanceMethod<&SequenceHandle::last_logits>("lastLogits"),
                      InstanceMethod<&SequenceHandle::stats>("stats"),
                      InstanceMethod<&SequenceHandle::dispose>("dispose")});
}

Napi::Object SequenceHandle::create(Napi::Env env, std::shared_ptr<Model> model, int cache_heads, int capacity) {
  SequenceInit init{std::move(model), cache_heads, capacity};
  return addon_data(env).sequence.New({Napi::External<SequenceInit>::New(env, &init)});
}

SequenceHandle::SequenceHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SequenceHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "sequences are made by model.createSequence(), not by new");
  }
  SequenceInit& init = *info[0].As<Napi::External<SequenceInit>>().Data();
  const ModelConfig& c = init.model->config();
  slot_ = std::make_shared<SequenceSlot>();
  slot_->model = init.model;
  CaughtError caught;
  if (!capture_errors(caught, [&] {
        slot_->sequence = std::make_shared<Sequence>(c.layers, init.cache_heads, c.head_dim, init.capacity);
      })) {
    throw_js(info.Env(), caught);
  }
}

std::shared_ptr<SequenceSlot> SequenceHandle::slot(Napi::Env env) const {
  if (!slot_) {
    Napi::Error error = Napi::Error::New(env, "this cache has been disposed");
    error.Set("code", "DISPOSED");
    throw error;
  }
  return slot_;
}

// forward(tokens, { logits, chunkTokens }, cancelFlag?, onProgress?) -> Promise<Float32Array | null>
Napi::Value SequenceHandle::forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  auto tokens = std::make_shared<std::vector<int>>(tokens_from_js(info[0]));
  Napi::Object options = options_argument(info, 1);
  ForwardOptions forward;
  forward.logits = logits_mode(env, string_option(options, "logits", "last"));
  forward.chunk_tokens = static_cast<int>(number_option(options, "chunkTokens", 256));
  if (forward.chunk_tokens < 1) throw Napi::RangeError::New(env, "chunkTokens must be positive");
  auto cancel = CancelFlag::from(info.Length() > 2 ? info[2] : env.Undefined());
  auto progress = std::make_shared<ProgressChannel>(env, info.Length() > 3 ? info[3] : env.Undefined());
  auto lease = std::make_shared<SequenceLease>(env, s);
  auto logits = std::make_shared<std::vector<float>>();

  return PromiseWorker::start(
      env,
      [s, tokens, forward, cancel, progress, lease, logits]() mutable {
        forward.cancel = cancel.get();
        forward.on_progress = [progress](int done, int total) { progress->report(done, total); };
        const LogitsMode mode = forward.logits;
        // Generation continues from the last token, so its logits are always kept.
        if (mode == LogitsMode::None) forward.logits = LogitsMode::Last;
        *logits = run_forward(*s->model, s->sequence->cache, tokens->data(), static_cast<int>(tokens->size()), forward);
        const int vocab = s->model->config().vocab;
        s->sequence->last_logits.assign(logits->end() - vocab, logits->end());
        if (mode == LogitsMode::None) logits->clear();
      },
      [logits, forward](Napi::Env env) -> Napi::Value {
        if (forward.logits == LogitsMode::None) return env.Null();
        return floats_to_js(env, *logits);
      });
}

// generate({ maxTokens, temperature, topK, topP, seed, stopTokens }) -> TokenStream
Napi::Value SequenceHandle::generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  Napi::Object options = options_argument(info, 0);
  GenerationOptions generation;
  generation.max_tokens = static_cast<int>(number_option(options, "maxTokens", 256));
  generation.sampling.temperature = static_cast<float>(number_option(options, "temperature", 0));
  generation.sampling.top_k = static_cast<int>(number_option(options, "topK", 0));
  generation.sampling.top_p = static_cast<float>(number_option(options, "topP", 1));
  generation.sampling.seed = static_cast<std::uint64_t>(number_option(options, "seed", 0));
  Napi::Value stop = options.Get("stopTokens");
  if (!stop.IsUndefined()) generation.stop_tokens = tokens_from_js(stop);
  auto lease = std::make_shared<SequenceLease>(env, s);
  return TokenStreamHandle::create(env, s, generation, lease);
}

Napi::Value SequenceHandle::last_logits(const Napi::CallbackInfo& info) {
  std::shared_ptr<SequenceSlot> s = slot(info.Env());
  if (s->sequence->last_logits.empty()) return info.Env().Null();
  return floats_to_js(info.Env(), s->sequence->last_logits);
}

Napi::Value SequenceHandle::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  const KvCache& cache = s->sequence->cache;
  Napi::Object result = Napi::Object::New(env);
  result.Set("tokens", cache.length());
  result.Set("nextPosition", cache.next_position());
  result.Set("capacity", cache.capacity());
  result.Set("cacheHeads", cache.heads());
  result.Set("usedBytes", static_cast<double>(cache.used_bytes()));
  result.Set("capacityBytes", static_cast<double>(cache.capacity_bytes()));
  result.Set("busy", s->busy.load());
  return result;
}

Napi::Value SequenceHandle::dispose(const Napi::CallbackInfo& info) {
  slot_.reset();
  return info.Env().Undefined();
}

}  // namespace snapkv::binding
