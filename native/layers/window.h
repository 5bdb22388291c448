// Output sizes and padding of a sliding window, with TensorFlow's arithmetic:
// 'valid': out = ceil((in - k + 1) / stride); 'same': out = ceil(in / stride),
// pad_total = max(0, (out - 1) * stride + k - in), pad_before = pad_total / 2
// (the odd extra row/column goes after: bottom/right).
#pragma once
#include <string>

#include "../core/error.h"

namespace xarxa {

enum class Padding { Valid, Same };

struct Axis {
  int out = 0, pad_before = 0;
};

inline Axis window_axis(int in, int k, int stride, Padding padding, const std::string& layer) {
  check(k > 0 && stride > 0, layer + ": kernel size and strides must be positive");
  Axis a;
  if (padding == Padding::Same) {
    a.out = (in + stride - 1) / stride;
    int total = (a.out - 1) * stride + k - in;
    if (total < 0) total = 0;
    a.pad_before = total / 2;
  } else {
    check(in >= k, layer + ": input size " + std::to_string(in) + " is smaller than the window " +
                       std::to_string(k) + " with 'valid' padding");
    a.out = (in - k) / stride + 1;
  }
  return a;
}

}  // namespace xarxa
