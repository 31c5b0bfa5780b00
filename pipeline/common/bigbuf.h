/* bigbuf.h: large buffers backed by huge pages where the kernel has them. */
#ifndef BIGBUF_H
#define BIGBUF_H

#include <stddef.h>

/* n bytes (n >= 2 MiB: 2 MiB-aligned and advised for transparent huge
 * pages; smaller: plain malloc), or NULL. Free with free(). */
void *bb_alloc(size_t n);

/* bb_alloc, zero-filled (calloc's contract; count * size checked). */
void *bb_calloc(size_t count, size_t size);

#endif
