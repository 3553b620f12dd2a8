// snapkv-write-model: a GGUF file of a real model's shape (architecture qwen2)
// with random weights, for benchmarks: speed does not depend on what the
// weights learned. Written without Node, so a GPU machine without it can make
// its own files.
//
//   snapkv-write-model --shape qwen2.5-coder-1.5b|qwen2.5-coder-7b|tiny --type BF16|F16|Q8_0|F32|Q4_0|Q5_0|Q4_K|Q5_K|Q6_K|Q4_K_M
//                      --out FILE [--seed N] [--threads N] [--context-length N] [--dry-run]
//
// --dry-run prints what would be written (sizes, parameters) and writes nothing.
// Matrices are stored in --type (Q4_K_M: llama.cpp's per-tensor mix,
// shape_writer/file_types.h), norms and biases in F32. The file holds what
// the engine's loader reads (model_config.cpp, model_weights.cpp) and no
// tokenizer: the benchmarks feed token ids. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "shape_writer/file_types.h"
#include "shape_writer/gguf_output.h"
#include "shape_writer/model_shapes.h"
#include "shape_writer/weight_encoding.h"

namespace {

using namespace shape_writer;

struct Arguments {
  std::string shape;
  std::string type;
  std::string out;
  std::uint64_t seed = 1;
  int threads = 0;
  int context_length = 0;  // 0: the shape's own
  bool dry_run = false;
};

const char* kUsage =
    "usage: snapkv-write-model --shape qwen2.5-coder-1.5b|qwen2.5-coder-7b|tiny\n"
    "                          --type BF16|F16|Q8_0|F32|Q4_0|Q5_0|Q4_K|Q5_K|Q6_K|Q4_K_M\n"
    "                          --out FILE [--seed N] [--threads N] [--context-length N] [--dry-run]\n";

std::uint64_t parse_unsigned(const std::string& text, const std::string& flag, std::uint64_t max) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || text[0] == '-' || value > max) {
    throw std::invalid_argument(flag + " needs a whole number up to " + std::to_string(max) + ", got '" + text + "'");
  }
  return value;
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--shape") {
      args.shape = value();
    } else if (arg == "--type") {
      args.type = value();
    } else if (arg == "--out") {
      args.out = value();
    } else if (arg == "--seed") {
      args.seed = parse_unsigned(value(), arg, std::numeric_limits<std::uint64_t>::max());
    } else if (arg == "--threads") {
      args.threads = static_cast<int>(parse_unsigned(value(), arg, 1024));
    } else if (arg == "--context-length") {
      args.context_length = static_cast<int>(parse_unsigned(value(), arg, std::numeric_limits<std::int32_t>::max()));
    } else if (arg == "--dry-run") {
      args.dry_run = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option '" + arg + "'");
    }
  }
  if (args.shape.empty() || args.type.empty() || args.out.empty()) {
    throw std::invalid_argument("--shape, --type and --out are required");
  }
  return args;
}

std::vector<MetadataEntry> model_metadata(const ModelShape& shape, const FileType& type) {
  const std::string a = "qwen2";
  return {
      MetadataEntry::of_string("general.architecture", a),
      MetadataEntry::of_string("general.name", "random-" + shape.name + "-" + type.name),
      MetadataEntry::of_u32("general.alignment", static_cast<std::uint32_t>(kAlignment)),
      MetadataEntry::of_u32("general.file_type", type.llama_ftype),
      MetadataEntry::of_u32("general.quantization_version", 2),
      MetadataEntry::of_u32(a + ".context_length", static_cast<std::uint32_t>(shape.context_length)),
      MetadataEntry::of_u32(a + ".embedding_length", static_cast<std::uint32_t>(shape.hidden)),
      MetadataEntry::of_u32(a + ".block_count", static_cast<std::uint32_t>(shape.layers)),
      MetadataEntry::of_u32(a + ".feed_forward_length", static_cast<std::uint32_t>(shape.ffn)),
      MetadataEntry::of_u32(a + ".attention.head_count", static_cast<std::uint32_t>(shape.heads)),
      MetadataEntry::of_u32(a + ".attention.head_count_kv", static_cast<std::uint32_t>(shape.kv_heads)),
      MetadataEntry::of_u32(a + ".attention.key_length", static_cast<std::uint32_t>(shape.head_dim)),
      MetadataEntry::of_u32(a + ".attention.value_length", static_cast<std::uint32_t>(shape.head_dim)),
      MetadataEntry::of_f32(a + ".attention.layer_norm_rms_epsilon", shape.rms_eps),
      MetadataEntry::of_f32(a + ".rope.freq_base", shape.rope_freq_base),
  };
}

WeightType stored_type(const TensorPlan& tensor, const FileType& file, const ModelShape& shape) {
  return tensor.is_matrix ? matrix_type(file, tensor.name, tensor.dims[0], shape.layers, shape.tied_embeddings) : WeightType::F32;
}

// Encodes a tensor's chunks on `threads` threads while the previous batch is
// being written, so generation and disk overlap.
class TensorStreamer {
 public:
  TensorStreamer(StagedFile& file, int threads)
      : file_(file), threads_(threads), batches_{Batch(threads), Batch(threads)} {}

  void stream(const TensorPlan& tensor, WeightType type, std::uint64_t seed) {
    const std::uint64_t count = tensor.element_count();
    const std::uint64_t chunks = (count + kChunkValues - 1) / kChunkValues;
    const std::uint64_t per_batch = static_cast<std::uint64_t>(threads_);
    Workers workers;
    Batch* filling = &batches_[0];
    Batch* ready = nullptr;
    for (std::uint64_t first = 0; first < chunks || ready != nullptr; first += per_batch) {
      if (first < chunks) {
        const std::uint64_t n = std::min(per_batch, chunks - first);
        filling->used = static_cast<int>(n);
        for (std::uint64_t i = 0; i < n; ++i) {
          const std::uint64_t chunk = first + i;
          const std::uint64_t values = std::min(kChunkValues, count - chunk * kChunkValues);
          Piece& piece = filling->pieces[i];
          piece.bytes = encoded_bytes(type, values);
          piece.data.resize(static_cast<std::size_t>(piece.bytes));
          workers.threads.emplace_back([&piece, type, &tensor, seed, chunk, values] {
            encode_random_chunk(type, tensor.values, seed, chunk, values, piece.data.data());
          });
        }
      }
      if (ready != nullptr) write(*ready);
      workers.join();
      ready = first < chunks ? filling : nullptr;
      filling = filling == &batches_[0] ? &batches_[1] : &batches_[0];
    }
  }

 private:
  // Joined however the batch ends: a failed write must not leave threads running.
  struct Workers {
    std::vector<std::thread> threads;
    ~Workers() { join(); }
    void join() {
      for (std::thread& thread : threads) {
        if (thread.joinable()) thread.join();
      }
      threads.clear();
    }
  };
  struct Piece {
    std::vector<std::uint8_t> data;
    std::uint64_t bytes = 0;
  };
  struct Batch {
    explicit Batch(int threads) : pieces(static_cast<std::size_t>(threads)) {}
    std::vector<Piece> pieces;
    int used = 0;
  };

  void write(const Batch& batch) {
    for (int i = 0; i < batch.used; ++i) file_.write(batch.pieces[i].data.data(), batch.pieces[i].bytes);
  }

  StagedFile& file_;
  int threads_;
  Batch batches_[2];
};

void write_file(const Arguments& args, const GgufHeader& header, const std::vector<TensorPlan>& plan,
                const std::vector<WeightType>& stored, int threads, std::uint64_t total) {
  StagedFile file(args.out);
  file.write(header.bytes.data(), header.bytes.size());
  TensorStreamer streamer(file, threads);
  const std::uint64_t report_every = std::uint64_t{2} << 30;
  std::uint64_t next_report = report_every;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (file.position() - header.bytes.size() != header.tensor_offsets[i]) {
      throw std::logic_error("tensor '" + plan[i].name + "' would not start at its directory offset");
    }
    streamer.stream(plan[i], stored[i], tensor_seed(args.seed, plan[i].name));
    file.pad_to(kAlignment);
    if (file.position() >= next_report) {
      std::cerr << "snapkv-write-model: " << file.position() / (1 << 20) << " of " << total / (1 << 20) << " MiB\n";
      next_report += report_every;
    }
  }
  if (file.position() != total) throw std::logic_error("wrote " + std::to_string(file.position()) + " bytes, planned " + std::to_string(total));
  file.commit();
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int run(const Arguments& args) {
  const auto start = std::chrono::steady_clock::now();
  ModelShape shape = find_shape(args.shape);
  if (args.context_length > 0) shape.context_length = args.context_length;
  const FileType type = parse_file_type(args.type);
  const int threads = args.threads > 0 ? args.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  const std::vector<TensorPlan> plan = plan_tensors(shape);
  std::vector<TensorEntry> entries;
  std::vector<WeightType> stored_types;
  std::uint64_t parameters = 0;
  for (const TensorPlan& tensor : plan) {
    const WeightType stored = stored_type(tensor, type, shape);
    stored_types.push_back(stored);
    if (tensor.dims[0] % type_info(stored).block_values != 0) {
      throw std::invalid_argument("tensor '" + tensor.name + "' has rows of " + std::to_string(tensor.dims[0]) +
                                  " values, not whole " + type_info(stored).name + " blocks");
    }
    entries.push_back({tensor.name, tensor.dims, type_info(stored).ggml_type, encoded_bytes(stored, tensor.element_count())});
    parameters += tensor.element_count();
  }
  const GgufHeader header = encode_header(model_metadata(shape, type), entries);
  const std::uint64_t total = header.bytes.size() + header.data_bytes;
  if (!args.dry_run) write_file(args, header, plan, stored_types, threads, total);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"path\":" << json_string(args.out) << ",\"written\":" << (args.dry_run ? "false" : "true")
            << ",\"shape\":" << json_string(shape.name) << ",\"type\":" << json_string(type.name)
            << ",\"bytes\":" << total << ",\"tensors\":" << plan.size() << ",\"parameters\":" << parameters
            << ",\"hidden\":" << shape.hidden << ",\"layers\":" << shape.layers << ",\"heads\":" << shape.heads
            << ",\"kvHeads\":" << shape.kv_heads << ",\"headDim\":" << shape.head_dim << ",\"ffn\":" << shape.ffn
            << ",\"vocab\":" << shape.vocab << ",\"tied\":" << (shape.tied_embeddings ? "true" : "false")
            << ",\"contextLength\":" << shape.context_length << ",\"threads\":" << threads << ",\"seconds\":" << seconds
            << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const std::invalid_argument& error) {
    std::cerr << "snapkv-write-model: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "snapkv-write-model: " << error.what() << "\n";
    return 1;
  }
}
