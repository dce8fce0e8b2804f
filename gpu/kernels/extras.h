/* extras.h: the vendor extras. The portable kernel families (every build:
 * the AMD dispatch, and the NVIDIA portable build -DGETP_PORTABLE=ON) are
 * written once over the port's primitives. A vendor may add kernels of its
 * own for some shapes; each family's dispatcher asks its hook first and runs
 * the portable choice when the hook declines (returns false). Every extra
 * computes the same bits as the portable kernel it replaces.
 *
 *   fast NVIDIA build: matmul_async.hip, attention_mma.hip, moe_async.hip
 *                      (+ moe_wgmma.hip for sm_90a) define the hooks;
 *   every other build: extras_none.hip declines everything.
 */
#ifndef GETP_EXTRAS_H
#define GETP_EXTRAS_H

#include "kernels.h" // AttnArgs, MoeArgs

struct MmArgs; // matmul_common.h

bool mm_gemm_extra(const MmArgs &a, bool argmax, hipStream_t stream);
bool attention_extra(const AttnArgs *a, hipStream_t stream);
bool moe_gemm_extra(const MoeArgs &a, int epi, hipStream_t stream);

#endif
