/* SPDX-License-Identifier: Apache-2.0 */
/* watch_apply.h - the functions of watch_apply.c (split from watch_internal.h) */
#ifndef EDGE_WATCH_APPLY_H
#define EDGE_WATCH_APPLY_H

#include "edge/watch_internal.h"

/** Resets `b` for a new stream. */
void edge_watch__batch_init(edge_watch__batch_t *b);

/** Parse threads for this machine: its online processors, at most 4. */
int edge_watch__default_parse_threads(void);

/** Frees what `b` holds (an unpublished builder included). */
void edge_watch__batch_dispose(edge_watch__batch_t *b);

/** Applies one event to b->builder (cloned from `current` when NULL). SNAPSHOT_BEGIN starts a
 *  snapshot (b->in_snapshot until SNAPSHOT_END, which prunes what the snapshot did not name and
 *  sets max_rev to its revision); outside a snapshot (a replay or live events) max_rev follows the
 *  events. A certificate that does not parse or whose key does not match is CP_EINVAL (err says
 *  why) and changes nothing; inside a snapshot with parse_threads > 0 that is found in the
 *  background and reported through on_error at SNAPSHOT_END instead. */
int edge_watch__apply(edge_watch__batch_t *b, const edge_certmap_t *current,
                      const Certplane__V1__CertificateEvent *ev, cp_err_t *err);

#endif
