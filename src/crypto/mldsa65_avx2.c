/*
 * The AVX2 build of the ML-DSA-65 vector backend: the kernels of mldsa65_vector.inc with
 * their target attribute set to AVX2 and the AVX2 build of the four-way Keccak. Chosen at
 * run time by mldsa65_backend.c on CPUs with AVX2 (and BMI1/BMI2) but not AVX-512VL, and
 * reachable through the test-only switch on those with it.
 */
#include "crypto/mldsa65_vector.inc"
