#include "kv_access.cuh"

namespace snapkv::gpu {

void check_kv_view(const KvView& v, const char* who) {
  if (v.type != DType::F16 && v.type != DType::BF16) fail(Failure::InvalidArgument, who, ": the KV cache must be f16 or bf16");
  if (v.heads <= 0 || v.head_dim <= 0 || v.head_dim % 8 != 0 || v.head_dim > 256) {
    fail(Failure::InvalidArgument, who, ": ", v.heads, " cache heads of head_dim ", v.head_dim,
         " (head_dim must be a multiple of 8, at most 256)");
  }
  const KvSegment* segments[2] = {&v.base, &v.own};
  for (const KvSegment* s : segments) {
    if (s->length < 0) fail(Failure::InvalidArgument, who, ": negative segment length");
    if (s->length == 0) continue;
    if (s->keys == nullptr || s->values == nullptr) fail(Failure::InvalidArgument, who, ": segment without keys or values");
    if (!aligned16(s->keys) || !aligned16(s->values) || s->head_stride % 8 != 0) {
      fail(Failure::InvalidArgument, who, ": cache segments must be 16-byte aligned with head strides a multiple of 8");
    }
    if (s->head_stride < static_cast<std::size_t>(s->length) * v.head_dim) {
      fail(Failure::InvalidArgument, who, ": a segment's head stride (", s->head_stride, ") is smaller than its ",
           s->length, " slots");
    }
  }
  if (v.length() <= 0) fail(Failure::InvalidArgument, who, ": empty KV cache");
  if (v.length() > 0x7fffffffLL) fail(Failure::InvalidArgument, who, ": more than 2^31 keys");
}

}  // namespace snapkv::gpu
