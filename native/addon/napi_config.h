// Include this instead of <napi.h> in every addon file. With
// NODE_ADDON_API_CPP_EXCEPTIONS_ALL, node-addon-api turns any C++ exception
// that escapes a JS-callable function (xarxa::Error, std::bad_alloc, ...) into
// a JS Error carrying its what() message instead of letting it reach the N-API
// boundary, where it would terminate the process. Every translation unit of
// the addon must see the same setting, hence this one header.
#pragma once
#ifndef NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#endif
// When a worker thread is terminated while a job runs, its completion
// callbacks find the environment shutting down: JS cannot run and an error
// cannot be thrown there. Without this, node-addon-api throws a C++ exception
// out of the N-API callback and the whole process aborts (std::terminate).
#ifndef NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#endif
#include <napi.h>
