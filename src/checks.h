// Argument checks shared by the modules and layers of every concept (tensor
// shapes, contiguity). Internal.
#pragma once

#include <string>

#include "edgeattn/tensor.h"

namespace edgeattn::detail {

// "<what> must be a contiguous rank-<rank> tensor, found <shape>" unless it is.
template <class T>
Status require_dense(const TensorView<T>& v, int rank, const char* what) {
  if (v.empty() || v.rank() != rank || !v.is_contiguous())
    return Status::invalid(std::string(what) + " must be a contiguous rank-" +
                           std::to_string(rank) + " tensor, found " +
                           (v.empty() ? std::string("none") : v.shape().to_string()));
  return {};
}

// "<what> must be a contiguous <shape> tensor, found <shape>" unless v is one.
template <class T>
Status require_shape(const TensorView<T>& v, const Shape& want, const char* what) {
  if (v.empty() || !v.is_contiguous() || v.shape() != want)
    return Status::invalid(std::string(what) + " must be a contiguous " + want.to_string() +
                           " tensor, found " + (v.empty() ? std::string("none") : v.shape().to_string()));
  return {};
}

}  // namespace edgeattn::detail
