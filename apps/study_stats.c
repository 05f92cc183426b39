/* The statistics of a study's analysis: Wilson intervals for proportions, the
 * sign test (exact binomial, p = 1/2) per comparison, and the agreement of
 * participants (pairwise agreement and Fleiss' kappa). Checked in
 * tests/test_study.c against published and hand-computed values. */
#include "study.h"

#include <math.h>

void app_study_wilson(long k, long n, double z, double *low, double *high)
{
    if (n <= 0) {
        *low = 0.0, *high = 1.0;
        return;
    }
    double p = (double)k / (double)n, z2 = z * z, nn = (double)n;
    double denominator = 1.0 + z2 / nn;
    double centre = (p + z2 / (2.0 * nn)) / denominator;
    double half = z / denominator * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    *low = centre - half < 0.0 ? 0.0 : centre - half;
    *high = centre + half > 1.0 ? 1.0 : centre + half;
}

double app_study_sign_test(long k, long n)
{
    if (n <= 0) return 1.0;
    long tail = k < n - k ? k : n - k;
    if (2 * tail == n) return 1.0;
    /* P(X <= tail) = sum_i C(n, i) / 2^n, each term in logs so that n in the
     * tens of thousands neither overflows nor loses the small terms. */
    double sum = 0.0;
    double log_half_n = (double)n * log(0.5);
    for (long i = 0; i <= tail; i++)
        sum += exp(lgamma((double)n + 1.0) - lgamma((double)i + 1.0) - lgamma((double)(n - i) + 1.0) + log_half_n);
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

long app_study_agreement(const long *counts, long units, int categories, double *pairwise, double *kappa)
{
    double agreement_sum = 0.0, total = 0.0;
    long used = 0;
    for (long u = 0; u < units; u++) {
        long n = 0;
        double squares = 0.0;
        for (int c = 0; c < categories; c++) {
            n += counts[u * categories + c];
            squares += (double)counts[u * categories + c] * (double)counts[u * categories + c];
        }
        if (n < 2) continue;
        agreement_sum += (squares - (double)n) / ((double)n * (double)(n - 1));
        total += (double)n;
        used++;
    }
    *pairwise = *kappa = NAN;
    if (used == 0) return 0;
    double expected = 0.0;
    for (int c = 0; c < categories; c++) {
        double share = 0.0;
        for (long u = 0; u < units; u++) {
            long n = 0;
            for (int d = 0; d < categories; d++) n += counts[u * categories + d];
            if (n >= 2) share += (double)counts[u * categories + c];
        }
        share /= total;
        expected += share * share;
    }
    *pairwise = agreement_sum / (double)used;
    if (expected < 1.0) *kappa = (*pairwise - expected) / (1.0 - expected);
    return used;
}
