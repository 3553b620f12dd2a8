#include "sequence_handle.h"

#include <cstring>

#include "addon_data.h"
#include "cancel_flag.h"
#include "compress_options.h"
#include "engine/device_backend.h"
#include "engine/forward.h"
#include "engine/prefix_file.h"
#include "engine/prefix_query.h"
#include "js_values.h"
#include "progress_channel.h"
#include "promise_worker.h"
#include "stream_handle.h"
#include "common/free_memory.h"

namespace snapkv::binding {

namespace {

struct SequenceInit {
  std::shared_ptr<Model> model;
  int cache_heads = 0;
  int capacity = 0;
  std::shared_ptr<Sequence> existing;
  std::shared_ptr<const std::vector<std::vector<KeptHead>>> kept;
  int prompt_length = 0;
};

Napi::Error busy_error(Napi::Env env, const char* message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", "BUSY");
  return error;
}

LogitsMode logits_mode(Napi::Env env, const std::string& name) {
  if (name == "none") return LogitsMode::None;
  if (name == "last") return LogitsMode::Last;
  if (name == "all") return LogitsMode::All;
  throw Napi::RangeError::New(env, "logits must be 'none', 'last' or 'all'");
}

}  // namespace

SequenceLease::SequenceLease(Napi::Env env, std::shared_ptr<SequenceSlot> slot, LeaseKind kind)
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

SequenceLease::~SequenceLease() {
  std::lock_guard<std::mutex> lock(slot_->lease_mutex);
  if (kind_ == LeaseKind::Exclusive) {
    slot_->writer = false;
  } else {
    --slot_->readers;
  }
}

Napi::Function SequenceHandle::define(Napi::Env env) {
  return DefineClass(env, "Sequence",
                     {InstanceMethod<&SequenceHandle::forward>("forward"),
                      InstanceMethod<&SequenceHandle::query>("query"),
                      InstanceMethod<&SequenceHandle::truncate>("truncate"),
                      InstanceMethod<&SequenceHandle::save>("save"),
                      InstanceMethod<&SequenceHandle::tokens>("tokens"),
                      InstanceMethod<&SequenceHandle::kept>("kept"),
                      InstanceMethod<&SequenceHandle::generate>("generate"),
                      InstanceMethod<&SequenceHandle::last_logits>("lastLogits"),
                      InstanceMethod<&SequenceHandle::stats>("stats"),
                      InstanceMethod<&SequenceHandle::dispose>("dispose")});
}

Napi::Object SequenceHandle::create(Napi::Env env, std::shared_ptr<Model> model, int cache_heads, int capacity) {
  SequenceInit init;
  init.model = std::move(model);
  init.cache_heads = cache_heads;
  init.capacity = capacity;
  return addon_data(env).sequence.New({Napi::External<SequenceInit>::New(env, &init)});
}

Napi::Object SequenceHandle::wrap(Napi::Env env, std::shared_ptr<Model> model, std::shared_ptr<Sequence> sequence,
                                  std::shared_ptr<const std::vector<std::vector<KeptHead>>> kept, int prompt_length) {
  SequenceInit init;
  init.model = std::move(model);
  init.existing = std::move(sequence);
  init.kept = std::move(kept);
  init.prompt_length = prompt_length;
  return addon_data(env).sequence.New({Napi::External<SequenceInit>::New(env, &init)});
}

SequenceHandle::SequenceHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SequenceHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "sequences are made by model.createSequence(), not by new");
  }
  SequenceInit& init = *info[0].As<Napi::External<SequenceInit>>().Data();
  slot_ = std::make_shared<SequenceSlot>();
  slot_->model = init.model;
  slot_->kept = init.kept;
  slot_->prompt_length = init.prompt_length;
  if (init.existing) {
    slot_->sequence = init.existing;
    return;
  }
  CaughtError caught;
  if (!capture_errors(caught, [&] {
        slot_->sequence = make_sequence(*init.model, init.cache_heads, init.capacity, true);
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
  auto lease = std::make_shared<SequenceLease>(env, s, LeaseKind::Exclusive);
  auto logits = std::make_shared<std::vector<float>>();

  return PromiseWorker::start(
      env,
      [s, tokens, forward, cancel, progress, lease, logits]() mutable {
        forward.cancel = cancel.get();
        forward.on_progress = [progress](int done, int total) { progress->report(done, total); };
        *logits = extend_sequence(*s->model, *s->sequence, tokens->data(), static_cast<int>(tokens->size()), forward);
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
  auto lease = std::make_shared<SequenceLease>(env, s, LeaseKind::Exclusive);
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
  if (const DeviceKv* device = s->sequence->device.get()) {
    const double bytes = static_cast<double>(device->device_bytes() + device->host_bytes());
    result.Set("placement", device->placement() == KvPlacement::Device ? "device" : "pinned-host");
    result.Set("usedBytes", bytes * cache.length() / cache.capacity());
    result.Set("capacityBytes", bytes);
    result.Set("deviceBytes", static_cast<double>(device->device_bytes()));
    result.Set("hostBytes", static_cast<double>(device->host_bytes()));
  } else {
    result.Set("placement", "host");
    result.Set("usedBytes", static_cast<double>(cache.used_bytes()));
    result.Set("capacityBytes", static_cast<double>(cache.capacity_bytes()));
    result.Set("deviceBytes", 0);
    result.Set("hostBytes", static_cast<double>(cache.capacity_bytes()));
  }
  result.Set("forwardedTokens", static_cast<double>(s->sequence->forwarded_tokens));
  {
    std::lock_guard<std::mutex> lock(s->lease_mutex);
    result.Set("busy", s->writer || s->readers > 0);
  }
  result.Set("compressed", static_cast<bool>(s->kept));
  result.Set("promptLength", s->kept ? s->prompt_length : cache.length());
  return result;
}

// query(suffix, options, cancelFlag?, onProgress?) -> Promise<Sequence> (compressed)
Napi::Value SequenceHandle::query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  auto suffix = std::make_shared<std::vector<int>>(tokens_from_js(info[0]));
  CompressOptions options = compress_options_from_js(options_argument(info, 1));
  auto cancel = CancelFlag::from(info.Length() > 2 ? info[2] : env.Undefined());
  auto progress = std::make_shared<ProgressChannel>(env, info.Length() > 3 ? info[3] : env.Undefined());
  auto lease = std::make_shared<SequenceLease>(env, s, LeaseKind::Shared);
  auto result = std::make_shared<CompactCache>();
  return PromiseWorker::start(
      env,
      [s, suffix, options, cancel, progress, lease, result]() mutable {
        options.cancel = cancel.get();
        options.on_progress = [progress](int done, int total) { progress->report(done, total); };
        *result = snapkv::query_prefix(*s->model, *s->sequence, *suffix, options);
      },
      [s, result](Napi::Env env) -> Napi::Value {
        auto kept = std::make_shared<const std::vector<std::vector<KeptHead>>>(std::move(result->kept));
        return SequenceHandle::wrap(env, s->model, result->sequence, kept, result->prompt_length);
      });
}

// truncate(length): cuts a full cache back so only the changed tail runs again.
Napi::Value SequenceHandle::truncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "truncate needs a token count");
  const double length = info[0].As<Napi::Number>().DoubleValue();
  SequenceLease lease(env, s, LeaseKind::Exclusive);
  if (s->kept) throw_js(env, {"INVALID_ARGUMENT", "a compressed cache cannot be truncated; ask the question again instead"});
  CaughtError caught;
  if (!capture_errors(caught, [&] {
        if (length != static_cast<int>(length)) fail(ErrorCode::InvalidArgument, "truncate needs a whole token count");
        snapkv::truncate_sequence(*s->sequence, static_cast<int>(length));
      })) {
    throw_js(env, caught);
  }
  return env.Undefined();
}

// save(path) -> Promise<void>
Napi::Value SequenceHandle::save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "save needs a file path");
  if (s->kept) throw_js(env, {"INVALID_ARGUMENT", "only a full prompt cache can be saved"});
  std::string path = info[0].As<Napi::String>().Utf8Value();
  auto lease = std::make_shared<SequenceLease>(env, s, LeaseKind::Shared);
  return PromiseWorker::start(
      env, [s, path, lease] { save_prefix(*s->model, *s->sequence, path); },
      [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
}

Napi::Value SequenceHandle::tokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  const std::vector<int>& ids = s->sequence->tokens;
  Napi::Int32Array array = Napi::Int32Array::New(env, ids.size());
  if (!ids.empty()) std::memcpy(array.Data(), ids.data(), ids.size() * sizeof(int));
  return array;
}

// kept() -> per layer, per cache head: { positions: Int32Array, scores: Float32Array }
Napi::Value SequenceHandle::kept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SequenceSlot> s = slot(env);
  if (!s->kept) return env.Null();
  const auto& layers = *s->kept;
  Napi::Array result = Napi::Array::New(env, layers.size());
  for (std::uint32_t l = 0; l < layers.size(); ++l) {
    Napi::Array heads = Napi::Array::New(env, layers[l].size());
    for (std::uint32_t h = 0; h < layers[l].size(); ++h) {
      const KeptHead& head = layers[l][h];
      Napi::Int32Array positions = Napi::Int32Array::New(env, head.positions.size());
      Napi::Float32Array scores = Napi::Float32Array::New(env, head.scores.size());
      if (!head.positions.empty()) {
        std::memcpy(positions.Data(), head.positions.data(), head.positions.size() * sizeof(int));
        std::memcpy(scores.Data(), head.scores.data(), head.scores.size() * sizeof(float));
      }
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("positions", positions);
      entry.Set("scores", scores);
      heads.Set(h, entry);
    }
    result.Set(l, heads);
  }
  return result;
}

Napi::Value SequenceHandle::dispose(const Napi::CallbackInfo& info) {
  slot_.reset();
  return_free_memory_to_os();
  return info.Env().Undefined();
}

}  // namespace snapkv::binding
