// The whole public API of edgeattn.
#pragma once

#include "edgeattn/context.h"
#include "edgeattn/kernels.h"
#include "edgeattn/ops.h"
#include "edgeattn/rnn.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"
#include "edgeattn/vision.h"
#include "edgeattn/version.h"
