/* mpi_shim.h: the few MPI operations the engine needs, and their serial stand-ins.
 *
 * Built with -DGCS_MPI (make MPI=1) these call MPI; otherwise rank 0 of 1
 * and no-ops, so the engine has one code path. */
#ifndef PAR_H
#define PAR_H

#include <stddef.h>
#include <stdint.h>

/* MPI_Init_thread (funneled: only the main thread calls MPI). 0 or -1. */
int par_init(int *argc, char ***argv);
void par_finalize(void);
/* Ends every rank at once (an error that only some ranks saw). */
void par_abort(int code);
int par_rank(void);
int par_size(void);
/* Largest of x over the ranks (all ranks call it). */
int par_max_int(int x);
/* Root's n bytes to every rank. */
void par_bcast(void *buf, size_t n, int root);
/* Blocking point-to-point byte transfers of any size (chunked under 2 GiB). */
void par_send(const void *buf, size_t n, int dest, int tag);
void par_recv(void *buf, size_t n, int src, int tag);

#endif
