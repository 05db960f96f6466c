/*
 * The AVX-512VL build of the ML-DSA-65 vector backend: the kernels of mldsa65_vector.inc
 * with their target attribute set to AVX2 + AVX-512F + AVX-512VL (the same intrinsics on
 * 256-bit vectors, with 32 registers and EVEX encodings available to the compiler) and the
 * AVX-512VL build of the four-way Keccak. Chosen at run time by mldsa65_backend.c when the
 * CPU and OS support AVX-512VL; identical results.
 */
#define MLDSA_AVX2_FOR_AVX512VL 1
#include "crypto/mldsa65_vector.inc"
