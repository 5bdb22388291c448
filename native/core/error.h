// Errors thrown by the core. The addon turns each into a JS Error with the same message.
#pragma once
#include <stdexcept>
#include <string>

namespace xarxa {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws xarxa::Error(message) when the condition fails. For invariants the
// JS layer should already have validated: a clear message beats an abort.
inline void check(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

}  // namespace xarxa
