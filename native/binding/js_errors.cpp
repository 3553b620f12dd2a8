#include "js_errors.h"

namespace snapkv::binding {

Napi::Error make_error(Napi::Env env, const CaughtError& caught) {
  Napi::Error error = Napi::Error::New(env, caught.message);
  error.Set("code", Napi::String::New(env, caught.code));
  return error;
}

void throw_js(Napi::Env env, const CaughtError& caught) { throw make_error(env, caught); }

}  // namespace snapkv::binding
