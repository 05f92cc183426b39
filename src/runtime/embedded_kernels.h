/* The table written at build time by tools/embed_files.c. */
#ifndef PERCEPTCL_EMBEDDED_KERNELS_H
#define PERCEPTCL_EMBEDDED_KERNELS_H

#include <stddef.h>

typedef struct pcl_embedded_source {
    const char *name;          /* file name in kernels/ */
    const unsigned char *text; /* includes resolved, #line markers added */
    size_t length;
} pcl_embedded_source;

extern const pcl_embedded_source pcl_embedded_sources[];
extern const size_t pcl_embedded_source_count;

#endif
