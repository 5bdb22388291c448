// Argument checks for the raw addon. The TypeScript layer validates first;
// these keep the native side safe on its own (the fuzz test calls it raw):
// every bad argument becomes a JS TypeError/RangeError, never a crash.
#pragma once
#include "napi_config.h"

#include <cmath>
#include <string>
#include <vector>

namespace xarxa {

inline Napi::Object arg_object(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

inline Napi::Function arg_function(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsFunction())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a function");
  return info[i].As<Napi::Function>();
}

// An integer in [lo, hi] (JS numbers only).
inline long long to_int(Napi::Env env, const Napi::Value& v, const std::string& what, long long lo, long long hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d)
    throw Napi::TypeError::New(env, what + " must be an integer, received " + std::to_string(d));
  if (d < (double)lo || d > (double)hi)
    throw Napi::RangeError::New(env, what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                         "], received " + std::to_string((long long)d));
  return (long long)d;
}

inline long long arg_int(const Napi::CallbackInfo& info, size_t i, const std::string& what, long long lo,
                         long long hi) {
  if (info.Length() <= i) throw Napi::TypeError::New(info.Env(), what + " is missing");
  return to_int(info.Env(), info[i], what, lo, hi);
}

inline double to_number(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw Napi::RangeError::New(env, what + " must be finite");
  return d;
}

inline std::string to_string(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsString()) throw Napi::TypeError::New(env, what + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// A Float32Array of exactly `expected` elements (expected < 0: any length).
inline Napi::Float32Array arg_f32(const Napi::CallbackInfo& info, size_t i, const std::string& what,
                                  long long expected) {
  if (info.Length() <= i || !info[i].IsTypedArray())
    throw Napi::TypeError::New(info.Env(), what + " must be a Float32Array");
  auto ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), what + " must be a Float32Array");
  auto arr = ta.As<Napi::Float32Array>();
  if (arr.ArrayBuffer().IsDetached()) throw Napi::TypeError::New(info.Env(), what + " is detached");
  if (expected >= 0 && (long long)arr.ElementLength() != expected)
    throw Napi::RangeError::New(info.Env(), what + " must have " + std::to_string(expected) + " elements, received " +
                                                std::to_string(arr.ElementLength()));
  return arr;
}

inline Napi::Int32Array arg_i32(const Napi::CallbackInfo& info, size_t i, const std::string& what) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), what + " must be an Int32Array");
  auto arr = info[i].As<Napi::Int32Array>();
  if (arr.ArrayBuffer().IsDetached()) throw Napi::TypeError::New(info.Env(), what + " is detached");
  return arr;
}

// A shape: an array of at most 8 integers in [1, max_dim]. The default bound
// (2^30) keeps the window arithmetic of the layers (in + stride - 1, ...) far
// from int overflow; the product is limited to 2^31 - 1 values (every backend
// op takes int sizes).
inline std::vector<int> to_shape(Napi::Env env, const Napi::Value& v, const std::string& what,
                                 long long max_dim = 1LL << 30) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, what + " must be an array of positive integers");
  auto a = v.As<Napi::Array>();
  if (a.Length() > 8) throw Napi::RangeError::New(env, what + " has " + std::to_string(a.Length()) +
                                                           " dimensions (at most 8)");
  std::vector<int> out;
  double total = 1;
  for (uint32_t k = 0; k < a.Length(); k++) {
    out.push_back((int)to_int(env, a.Get(k), what + "[" + std::to_string(k) + "]", 1, max_dim));
    total *= out.back();
  }
  if (total > 2147483647.0)
    throw Napi::RangeError::New(env, what + " holds " + std::to_string((long long)total) +
                                         " values; the limit is 2^31 - 1 (2147483647)");
  return out;
}

}  // namespace xarxa
