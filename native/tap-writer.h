/*
 * tap-writer: a thread that writes frames to a tap fd from a byte ring, in order.
 *
 * Why: a write() to a tap runs the kernel's receive path in the writer's context: the copy, the
 * destination socket's TCP receive, waking its reader. For a 64 KiB TSO super-frame that is tens
 * of microseconds, a third of the JS thread's time in a bulk download. Frames handed to this
 * thread are copied once into the ring (a few microseconds) and the rest runs on another core
 * while JS builds the next segment.
 *
 * Small frames (an ACK, a ping reply) are still written by the caller when nothing is queued:
 * waking a sleeping thread costs tens of microseconds on a VM, which would add to every round
 * trip. Everything written while frames are queued goes behind them, so the order on the wire
 * is the order of the calls.
 */
#ifndef TAPSTACK_TAP_WRITER_H
#define TAPSTACK_TAP_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct tap_writer tap_writer_t;

/* Start the thread for `fd` with a ring of `ring_bytes` (at least 128 KiB); frames of at least
 * `min_len` bytes are queued even when the queue is empty. NULL with *err set on failure. */
tap_writer_t *tap_writer_start(int fd, size_t ring_bytes, size_t min_len, int *err);

/* Queue one frame (its pieces glued) if the queue is busy or the frame is big: returns 1. Returns
 * 0 when the caller should write it itself (queue empty, frame small), which keeps the order.
 * Waits for room when the ring is full (the thread always makes progress: tap writes never block). */
int tap_writer_offer(tap_writer_t *w, const struct iovec *iov, int iovcnt, size_t len, bool defer_wake);

/* With `defer_wake` the thread is not woken for the frame; tap_writer_flush() wakes it for all the
 * frames so queued. Waking a sleeping thread is a futex call and, on a VM, an IPI: once per read
 * batch instead of once per frame halves them in a bulk download. */
void tap_writer_flush(tap_writer_t *w);

/* Frames the thread wrote, and frames it could not write: no room in the kernel (EAGAIN/ENOBUFS),
 * interface down (EIO), or another error (see tap_writer_take_error). */
void tap_writer_stats(tap_writer_t *w, uint64_t *written, uint64_t *dropped);

/* The errno of the first write that failed for another reason since the last call (the frame was
 * dropped too), or 0. */
int tap_writer_take_error(tap_writer_t *w);

/* Write what is queued, end the thread, give its final stats (as tap_writer_stats) and free it. */
void tap_writer_stop(tap_writer_t *w, uint64_t *written, uint64_t *dropped);

#endif
