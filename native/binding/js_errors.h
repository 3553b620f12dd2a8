#pragma once
// Turns engine errors into JavaScript Errors that carry a `code`.
#include <napi.h>

#include <string>

#include "common/engine_error.h"

namespace snapkv::binding {

// What a worker thread caught, kept until the JavaScript thread can throw it.
struct CaughtError {
  std::string code;
  std::string message;
};

// Runs `work` and records any exception instead of letting it escape a thread.
template <typename Work>
bool capture_errors(CaughtError& caught, Work&& work) {
  try {
    work();
    return true;
  } catch (const EngineError& e) {
    caught = {error_code_name(e.code()), e.what()};
  } catch (const std::bad_alloc&) {
    caught = {"OUT_OF_MEMORY", "out of memory; close other programs or use a smaller model or prompt"};
  } catch (const std::exception& e) {
    caught = {"INTERNAL", std::string("internal engine error: ") + e.what()};
  }
  return false;
}

Napi::Error make_error(Napi::Env env, const CaughtError& caught);

// Throws a JavaScript error for an engine error raised on the JavaScript thread.
[[noreturn]] void throw_js(Napi::Env env, const CaughtError& caught);

}  // namespace snapkv::binding
