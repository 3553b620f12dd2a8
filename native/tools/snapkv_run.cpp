// snapkv-run: loads a GGUF model, runs the given token ids through it, and
// prints logits and timings as JSON. It runs the engine without Node, on a GPU
// machine or in benchmarks.
//
//   snapkv-run MODEL.gguf [--tokens 1,2,3 | --random-tokens N] [--logits none|last|all]
//              [--generate N] [--threads N] [--chunk N] [--seed N] [--top K]
//              [--backend cpu|cuda] [--gpu-memory-mib N] [--kv-type f16|bf16|q8_0|f32] [--exact]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/cuda_probe.h"
#include "common/engine_error.h"
#include "engine/forward.h"
#include "engine/prefix_cache.h"
#include "engine/token_stream.h"
#include "model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Arguments {
  std::string model_path;
  std::vector<int> tokens;
  int random_tokens = 0;
  std::string logits = "last";
  int generate = 0;
  int threads = 0;
  int chunk = 256;
  std::uint64_t seed = 1;
  int top = 0;
  std::string backend = "cpu";
  int gpu_memory_mib = 0;
  std::string kv_type;  // empty: the engine's default
  bool exact = false;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "snapkv-run: " << problem << "\n"
            << "usage: snapkv-run MODEL.gguf [--tokens 1,2,3 | --random-tokens N] [--logits none|last|all]\n"
            << "                  [--generate N] [--threads N] [--chunk N] [--seed N] [--top K]\n"
            << "                  [--backend cpu|cuda] [--gpu-memory-mib N] [--kv-type f16|bf16|q8_0|f32] [--exact]\n";
  std::exit(2);
}

int parse_int(const std::string& text, const std::string& flag) {
  try {
    std::size_t used = 0;
    long value = std::stol(text, &used);
    if (used != text.size() || value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
      throw std::invalid_argument(text);
    }
    return static_cast<int>(value);
  } catch (const std::exception&) {
    usage(flag + " needs an integer, got '" + text + "'");
  }
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--tokens") {
      std::stringstream list(value());
      std::string item;
      while (std::getline(list, item, ',')) {
        if (!item.empty()) args.tokens.push_back(parse_int(item, "--tokens"));
      }
    } else if (arg == "--random-tokens") {
      args.random_tokens = parse_int(value(), arg);
    } else if (arg == "--logits") {
      args.logits = value();
      if (args.logits != "none" && args.logits != "last" && args.logits != "all") usage("--logits takes none, last or all");
    } else if (arg == "--generate") {
      args.generate = parse_int(value(), arg);
    } else if (arg == "--threads") {
      args.threads = parse_int(value(), arg);
    } else if (arg == "--kv-type") {
      args.kv_type = value();
      if (args.kv_type != "f16" && args.kv_type != "bf16" && args.kv_type != "q8_0" && args.kv_type != "f32") {
        usage("--kv-type takes f16, bf16, q8_0 or f32");
      }
    } else if (arg == "--chunk") {
      args.chunk = parse_int(value(), arg);
    } else if (arg == "--seed") {
      args.seed = static_cast<std::uint64_t>(parse_int(value(), arg));
    } else if (arg == "--top") {
      args.top = parse_int(value(), arg);
    } else if (arg == "--backend") {
      args.backend = value();
      if (args.backend != "cpu" && args.backend != "cuda") usage("--backend takes cpu or cuda");
    } else if (arg == "--gpu-memory-mib") {
      args.gpu_memory_mib = parse_int(value(), arg);
    } else if (arg == "--exact") {
      args.exact = true;  // the exact f32 CPU matrix products instead of the fast int8 ones
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else if (!arg.empty() && arg[0] == '-') {
      usage("unknown option " + arg);
    } else if (args.model_path.empty()) {
      args.model_path = arg;
    } else {
      usage("more than one model path");
    }
  }
  if (args.model_path.empty()) usage("no model path");
  return args;
}

void print_floats(std::ostream& out, const float* values, std::size_t count) {
  out << '[';
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out << ',';
    if (std::isfinite(values[i])) {
      out << values[i];
    } else {
      out << "null";
    }
  }
  out << ']';
}

std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      quoted += escape;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

void print_top(std::ostream& out, const float* logits, int vocab, int k) {
  std::vector<int> ids(static_cast<std::size_t>(vocab));
  for (int i = 0; i < vocab; ++i) ids[i] = i;
  k = std::min(k, vocab);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int a, int b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  out << '[';
  for (int i = 0; i < k; ++i) out << (i ? "," : "") << "{\"token\":" << ids[i] << ",\"logit\":" << logits[ids[i]] << '}';
  out << ']';
}

int run(const Arguments& args) {
  using namespace snapkv;
  const auto load_start = Clock::now();
  ModelLoadOptions load;
  load.threads = args.threads;
  if (!args.kv_type.empty()) load.device.kv_type = parse_kv_type(args.kv_type);
  load.backend = args.backend;
  load.exact = args.exact;
  load.device.memory_budget = static_cast<std::size_t>(std::max(args.gpu_memory_mib, 0)) << 20;
  std::shared_ptr<Model> model = Model::load(args.model_path, load);
  const double load_ms = milliseconds_since(load_start);
  const ModelConfig& c = model->config();

  std::vector<int> tokens = args.tokens;
  if (args.random_tokens > 0) {
    std::mt19937_64 rng(args.seed);
    std::uniform_int_distribution<int> pick(0, c.vocab - 1);
    for (int i = 0; i < args.random_tokens; ++i) tokens.push_back(pick(rng));
  }
  if (tokens.empty()) usage("no tokens: give --tokens or --random-tokens");

  PrefixCache prefix = make_prefix_cache(*model, static_cast<int>(tokens.size()) + args.generate + 1);
  ForwardOptions forward;
  forward.chunk_tokens = args.chunk;
  forward.logits = args.logits == "all" ? LogitsMode::All : LogitsMode::Last;
  const auto prefill_start = Clock::now();
  std::vector<float> logits = extend_prefix(*model, prefix, tokens.data(), static_cast<int>(tokens.size()), forward);
  const double prefill_ms = milliseconds_since(prefill_start);

  std::vector<int> generated;
  double decode_ms = 0;
  if (args.generate > 0) {
    GenerationOptions generation;
    generation.max_tokens = args.generate;
    TokenStream stream(model, prefix.sequence, generation);
    const auto decode_start = Clock::now();
    while (auto token = stream.next(nullptr)) generated.push_back(*token);
    stream.finish(nullptr);
    decode_ms = milliseconds_since(decode_start);
  }

  const CudaProbe cuda = probe_cuda();
  std::ostream& out = std::cout;
  out.precision(9);
  out << "{\"model\":{\"path\":" << json_string(args.model_path) << ",\"architecture\":" << json_string(c.architecture)
      << ",\"layers\":" << c.layers << ",\"hidden\":" << c.hidden << ",\"heads\":" << c.heads
      << ",\"kvHeads\":" << c.kv_heads << ",\"headDim\":" << c.head_dim << ",\"vocab\":" << c.vocab
      << ",\"weightBytes\":" << model->weights().matrix_bytes << "}";
  out << ",\"backend\":\"" << model->backend().name() << "\"";
  if (const std::optional<DeviceMemoryReport> device = model->backend().device_memory()) {
    out << ",\"device\":{\"name\":" << json_string(device->device_name) << ",\"weightBytes\":" << device->weight_bytes
        << ",\"memoryBudget\":" << device->budget << ",\"memoryInUse\":" << device->in_use << "}";
  }
  out << ",\"threads\":" << model->pool().size() << ",\"kvType\":\"" << kv_type_name(model->kv_type()) << "\""
      << ",\"exact\":" << (args.exact ? "true" : "false")
      << ",\"cuda\":{\"compiled\":" << (cuda.compiled ? "true" : "false") << ",\"usable\":" << (cuda.usable ? "true" : "false")
      << ",\"message\":" << json_string(cuda.message) << "}";
  out << ",\"tokens\":" << tokens.size();
  out << ",\"timings\":{\"loadMs\":" << load_ms << ",\"prefillMs\":" << prefill_ms
      << ",\"prefillTokensPerSecond\":" << tokens.size() / (prefill_ms / 1000.0);
  if (!generated.empty()) {
    out << ",\"decodeMs\":" << decode_ms << ",\"decodeMsPerToken\":" << decode_ms / generated.size();
  }
  out << "}";
  if (!generated.empty()) {
    out << ",\"generated\":[";
    for (std::size_t i = 0; i < generated.size(); ++i) out << (i ? "," : "") << generated[i];
    out << "]";
  }
  if (args.logits != "none") {
    const std::size_t rows = logits.size() / static_cast<std::size_t>(c.vocab);
    out << ",\"logits\":[";
    for (std::size_t r = 0; r < rows; ++r) {
      if (r) out << ',';
      const float* row = logits.data() + r * static_cast<std::size_t>(c.vocab);
      if (args.top > 0) {
        print_top(out, row, c.vocab, args.top);
      } else {
        print_floats(out, row, static_cast<std::size_t>(c.vocab));
      }
    }
    out << "]";
  }
  out << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  try {
    return run(args);
  } catch (const snapkv::EngineError& e) {
    std::cerr << "snapkv-run: " << e.what() << "\n";
    std::cout << "{\"error\":{\"code\":\"" << snapkv::error_code_name(e.code()) << "\",\"message\":" << json_string(e.what()) << "}}\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "snapkv-run: " << e.what() << "\n";
    return 1;
  }
}
