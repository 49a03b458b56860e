/* The kernel tables compiled into this build (kernels.h): the reference table first, then the
 * instruction sets setup.py built a unit for (it defines MINICNN_HAVE_<SET> for each), in
 * increasing order of preference.  Whether this CPU may run one is asked separately, once, at
 * import (_dispatch.pyx). */
#include "kernels.h"

extern const minicnn_kernel_table minicnn_table_reference, minicnn_table_avx2, minicnn_table_avx512,
    minicnn_table_neon;

static const minicnn_kernel_table *const tables[] = {
    &minicnn_table_reference,
#ifdef MINICNN_HAVE_AVX2
    &minicnn_table_avx2,
#endif
#ifdef MINICNN_HAVE_AVX512
    &minicnn_table_avx512,
#endif
#ifdef MINICNN_HAVE_NEON
    &minicnn_table_neon,
#endif
};

int minicnn_table_count(void)
{
    return (int)(sizeof(tables) / sizeof(tables[0]));
}

const minicnn_kernel_table *minicnn_table_at(int i)
{
    return i >= 0 && i < minicnn_table_count() ? tables[i] : NULL;
}
