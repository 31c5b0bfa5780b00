/* reader.c: one batch's input read from HDF5: A of its images, G (and
 * saliency) of their targets, timed.
 *
 * DESIGN
 * reader_run does the HDF5 calls; run.c runs it on a second thread for the
 * next batch while the workers compute the current one (reader_main), when
 * the library is thread-safe (reader_h5_threadsafe): the reader thread is
 * then the only one reading, and the main thread's maps.h5 writes are
 * serialised by the library.
 */
#include "pipeline/run/run_int.h"

#include "pipeline/common/timer.h"

#include <hdf5.h>

/*  * One batch's input: A of its images, G (and saliency) of their targets.
 * (see run_int.h) */
void reader_set(reader *r, const h5in_meta *m, int64_t i0, int64_t i1)
{
    r->i0 = i0;
    r->i1 = i1;
    r->t0 = m->tfirst[i0];
    r->nt = m->tfirst[i1] - r->t0;
    r->rc = 0;
    r->seconds = 0.0;
}

void reader_run(reader *r)
{
    double t = tm_now_s();
    if (r->nt > 0 &&
        (h5in_read_acts(r->f, r->A, r->i0, r->i1 - r->i0, r->err, sizeof r->err) < 0 ||
         h5in_read_grads(r->f, r->G, r->t0, r->nt, r->err, sizeof r->err) < 0 ||
         (r->sal && h5in_read_saliency(r->f, r->S, r->t0, r->nt, r->err, sizeof r->err) < 0)))
        r->rc = -1;
    r->seconds = tm_now_s() - t;
}

void *reader_main(void *arg)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* error stacks are per thread */
    reader_run(arg);
    return NULL;
}

/* Whether HDF5 may be called from the reader thread while this one writes
 * maps.h5 (a thread-safe build serialises the calls). */
int reader_h5_threadsafe(void)
{
    hbool_t ts = 0;
    return H5is_library_threadsafe(&ts) >= 0 && ts;
}

