// The whole public API of edgeattn: tensors and workspaces, status, threads
// (context), ISA control, the kernels users call, threaded operators, the
// attention, vision and recurrent modules, the registry and file loading,
// and whole-network models.
#pragma once

#include "edgeattn/activation.h"
#include "edgeattn/attention.h"
#include "edgeattn/context.h"
#include "edgeattn/io.h"
#include "edgeattn/isa.h"
#include "edgeattn/kernels.h"
#include "edgeattn/model.h"
#include "edgeattn/module.h"
#include "edgeattn/ops.h"
#include "edgeattn/rnn.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"
#include "edgeattn/vision.h"
#include "edgeattn/weights.h"
#include "edgeattn/version.h"
