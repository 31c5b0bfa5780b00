/* bigbuf.c: large buffers backed by huge pages where the kernel has them.
 *
 * DESIGN
 * On the virtual machines this engine is measured on, the first touch of a
 * fresh 4 KiB page costs about 11 us (16 MiB: 47 ms; the same with
 * transparent huge pages: about 1 ms). A run touches its batch buffers and
 * its per-target records once each: at 500 targets that was about 3,400 of
 * the run's 7,500 page faults. So buffers of 2 MiB or more are 2 MiB-aligned
 * (posix_memalign, so that free() and the sanitizers' allocator still own
 * them) and advised MADV_HUGEPAGE over their whole 2 MiB blocks; the tail
 * stays in small pages, so resident memory does not grow. Where the advice
 * is refused (no THP, another kernel) the buffer is an ordinary one.
 *
 * Thread safety: as malloc.
 */
#include "pipeline/common/bigbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { BB_HUGE = 2u << 20 };

void *bb_alloc(size_t n)
{
    if (n < BB_HUGE)
        return malloc(n ? n : 1);
    void *p = NULL;
    if (posix_memalign(&p, BB_HUGE, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n - n % BB_HUGE, MADV_HUGEPAGE);
#endif
    return p;
}

void *bb_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    if (n < BB_HUGE)
        return calloc(count ? count : 1, size ? size : 1);
    void *p = bb_alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}
