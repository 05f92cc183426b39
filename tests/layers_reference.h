/* float64 host references of the layers (tests/layers_reference.c), written
 * from the definitions in include/perceptcl/layers.h, independent of the
 * device code. Arrays are NCHW. Backward functions overwrite dx and ADD to
 * parameter gradients (dw, db may be NULL). */
#ifndef PCL_LAYERS_REFERENCE_H
#define PCL_LAYERS_REFERENCE_H

typedef struct ref_conv {
    int n, c, h, w, o, kh, kw, s, ph, pw, replicate, ho, wo;
} ref_conv;

void ref_conv_setup(ref_conv *g);
void ref_conv_forward(const ref_conv *g, const double *x, const double *w, const double *b, double *y);
void ref_conv_backward(const ref_conv *g, const double *x, const double *w, const double *dy, double *dx,
                       double *dw, double *db);

void ref_dense_forward(int n, int in, int out, const double *x, const double *w, const double *b, double *y);
void ref_dense_backward(int n, int in, int out, const double *x, const double *w, const double *dy, double *dx,
                        double *dw, double *db);

void ref_gemm(int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb,
              double beta, double *c, int ldc);

void ref_upsample_forward(int planes, int h, int w, int f, const double *x, double *y);
void ref_upsample_backward(int planes, int h, int w, int f, const double *dy, double *dx);

/* kind: 0 relu, 1 tanh, 2 binary (forward sign(tanh a), 0 -> -1; backward the tanh gradient). */
void ref_elementwise_forward(int kind, long count, const double *x, double *y);
void ref_elementwise_backward(int kind, long count, const double *x, const double *dy, double *dx);
/* The function whose derivative the backward computes (binary: tanh). */
void ref_elementwise_surrogate(int kind, long count, const double *x, double *y);

/* Training mode (batch statistics); mean, var (biased) out when not NULL. */
void ref_batchnorm_forward_train(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                 const double *beta, double *y, double *mean, double *var);
void ref_batchnorm_backward_train(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                  const double *dy, double *dx, double *dgamma, double *dbeta);
void ref_batchnorm_forward_eval(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                const double *beta, const double *mean, const double *var, double *y);
void ref_batchnorm_backward_eval(int n, int c, int hw, double eps, const double *x, const double *gamma,
                                 const double *mean, const double *var, const double *dy, double *dx, double *dgamma,
                                 double *dbeta);

/* x is n x 2L (mu, log-variance); sample 0: z = mu. kl per image. */
void ref_vae_forward(int n, int L, int sample, const double *x, const double *eps, double *z, double *kl);
void ref_vae_backward(int n, int L, int sample, double kl_weight, const double *x, const double *eps,
                      const double *dz, double *dx);

#endif
