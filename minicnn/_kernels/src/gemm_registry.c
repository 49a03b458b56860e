/* The kernel registry: reference first, then every ISA kernel compiled into this build
 * (setup.py defines MINICNN_HAVE_<ISA> for the extension when it links that ISA's translation
 * unit).  Whether the CPU can run an entry is asked separately (runnable), at import.
 *
 * Block sizes: KC keeps one B micro-panel (KC x NR) plus an A micro-panel in L1, MC x KC of
 * packed A fills about half of L2, KC x NC of packed B lives in L3 (BLIS' analytic model). */
#include "gemm_kernels.h"

static const minicnn_gemm_kernel registry[] = {
    {"reference", "reference_4x8", "reference_4x4",
     MINICNN_REF_SMR, MINICNN_REF_SNR, 128, 256, 4096,
     MINICNN_REF_DMR, MINICNN_REF_DNR, 64, 256, 4096,
     minicnn_sgemm_ukr_reference, minicnn_dgemm_ukr_reference,
     minicnn_sgemm_ukr_rowa_reference, minicnn_dgemm_ukr_rowa_reference, minicnn_cpu_always},
#ifdef MINICNN_HAVE_AVX2
    {"avx2", "avx2_6x16", "avx2_6x8",
     6, 16, 144, 256, 4080,
     6, 8, 72, 256, 4080,
     minicnn_sgemm_ukr_avx2_6x16, minicnn_dgemm_ukr_avx2_6x8,
     minicnn_sgemm_ukr_rowa_avx2_6x16, minicnn_dgemm_ukr_rowa_avx2_6x8, minicnn_cpu_has_avx2_fma},
#endif
#ifdef MINICNN_HAVE_AVX512
    {"avx512", "avx512_12x32", "avx512_12x16",
     12, 32, 144, 384, 4096,
     12, 16, 72, 384, 4096,
     minicnn_sgemm_ukr_avx512_12x32, minicnn_dgemm_ukr_avx512_12x16,
     minicnn_sgemm_ukr_rowa_avx512_12x32, minicnn_dgemm_ukr_rowa_avx512_12x16, minicnn_cpu_has_avx512},
#endif
#ifdef MINICNN_HAVE_NEON
    {"neon", "neon_8x12", "neon_8x6",
     8, 12, 128, 256, 4092,
     8, 6, 64, 256, 4092,
     minicnn_sgemm_ukr_neon_8x12, minicnn_dgemm_ukr_neon_8x6, NULL, NULL, minicnn_cpu_has_neon},
#endif
};

int minicnn_gemm_kernel_count(void)
{
    return (int)(sizeof(registry) / sizeof(registry[0]));
}

const minicnn_gemm_kernel *minicnn_gemm_kernel_at(int i)
{
    if (i < 0 || i >= minicnn_gemm_kernel_count())
        return NULL;
    return &registry[i];
}
