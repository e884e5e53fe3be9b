// Every module of the registry, named once. Adding one: its source defines
// detail::make_<name>(config, params) (a file of its concept), and a line
// here; registry.h declares the factory and registry.cpp files it from this
// list. docs/modules.md documents each (a test checks that the two agree).
#pragma once

#define EDGEATTN_MODULE_LIST(X) \
  X(soft_attention)             \
  X(hard_attention)             \
  X(multihead_attention)        \
  X(se)                         \
  X(eca)                        \
  X(cbam_channel)               \
  X(cbam_spatial)               \
  X(cbam)                       \
  X(non_local)                  \
  X(sagan_attention)            \
  X(gru)                        \
  X(lstm)                       \
  X(seq2seq)                    \
  X(attention_forecaster)
