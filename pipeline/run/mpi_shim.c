/* mpi_shim.c: MPI wrappers (GCS_MPI) or the single-process stand-ins.
 *
 * DESIGN
 * The engine's distributed mode needs little: agreement on an error code,
 * broadcasts of small things (mu, an error message), and ordered
 * point-to-point transfers of per-target results to rank 0. Everything is
 * bytes: ranks run the same binary on the same kind of machine (one
 * cluster), so structs travel as they are. Transfers are split into chunks
 * below INT_MAX bytes, the MPI count limit.
 *
 * Thread safety: MPI_THREAD_FUNNELED; call from the main thread only.
 */
#include "pipeline/run/mpi_shim.h"

#ifdef GCS_MPI
#include <limits.h>
#include <mpi.h>

int par_init(int *argc, char ***argv)
{
    int provided = 0;
    return MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS ? 0 : -1;
}

void par_finalize(void) { MPI_Finalize(); }

void par_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int par_rank(void)
{
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int par_size(void)
{
    int s = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

int par_max_int(int x)
{
    int y = x;
    MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return y;
}

#define CHUNK ((size_t)1 << 30)

void par_bcast(void *buf, size_t n, int root)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t c = n - off < CHUNK ? n - off : CHUNK;
        MPI_Bcast((char *)buf + off, (int)c, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

void par_send(const void *buf, size_t n, int dest, int tag)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t c = n - off < CHUNK ? n - off : CHUNK;
        MPI_Send((const char *)buf + off, (int)c, MPI_BYTE, dest, tag, MPI_COMM_WORLD);
    }
}

void par_recv(void *buf, size_t n, int src, int tag)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t c = n - off < CHUNK ? n - off : CHUNK;
        MPI_Recv((char *)buf + off, (int)c, MPI_BYTE, src, tag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    }
}

#else /* one process */
#include <stdlib.h>

int par_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
void par_finalize(void) {}
void par_abort(int code) { exit(code); }
int par_rank(void) { return 0; }
int par_size(void) { return 1; }
int par_max_int(int x) { return x; }
void par_bcast(void *buf, size_t n, int root)
{
    (void)buf;
    (void)n;
    (void)root;
}
void par_send(const void *buf, size_t n, int dest, int tag)
{
    (void)buf;
    (void)n;
    (void)dest;
    (void)tag;
    abort(); /* no peer in a single process: a logic error */
}
void par_recv(void *buf, size_t n, int src, int tag)
{
    (void)buf;
    (void)n;
    (void)src;
    (void)tag;
    abort();
}
#endif
