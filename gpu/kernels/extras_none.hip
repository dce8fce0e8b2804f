/* extras_none.hip: the extras hooks of a build without vendor extras (AMD,
 * and the NVIDIA portable build): every shape takes the portable kernels. */
#include "extras.h"

bool mm_gemm_extra(const MmArgs &, bool, hipStream_t) { return false; }
bool attention_extra(const AttnArgs *, hipStream_t) { return false; }
bool moe_gemm_extra(const MoeArgs &, int, hipStream_t) { return false; }
