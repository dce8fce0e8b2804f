/* attention_common.h: the shape constants the attention kernels share
 * (attention.hip, attention_mma.hip). */
#ifndef GETP_ATTENTION_COMMON_H
#define GETP_ATTENTION_COMMON_H

#include "kernels.h"  // AttnArgs, KvLayer
#include "gpu_util.h" // bf16 <-> f32, group reductions

#define ATT_HD 64                         // head_dim this kernel is written for
#define ATT_TILE 32                       // positions per tile
#define ATT_TPH ATT_TILE                  // threads per query head: one score each per tile
#define ATT_DPT (ATT_HD / ATT_TPH)        // output dims per thread (2)
static_assert(ATT_TPH <= GETP_WAVE && GETP_WAVE % ATT_TPH == 0, "a head's lanes sit in one wave");
static_assert(ATT_DPT == 2, "the output loop below handles two dims per thread");

#endif
