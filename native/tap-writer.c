/*
 * tap-writer: see tap-writer.h. One producer (the JS thread), one consumer (this thread), a
 * byte ring of entries [u32 length, 4 bytes pad, frame bytes] padded to 8 bytes; an entry that
 * would not fit before the end of the ring leaves a WRAP mark and starts at 0. One mutex guards
 * the positions; the frame bytes are copied and written outside it, and the counters are atomics.
 */
#define _GNU_SOURCE
#include "tap-writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRY_HEADER 8
#define WRAP 0xffffffffu
#define MIN_RING (128 * 1024)

struct tap_writer {
  int fd;
  size_t min_len;
  unsigned char *buf;
  size_t cap;
  size_t head; /* next entry to write (consumer) */
  size_t tail; /* where the next entry goes (producer) */
  size_t used; /* bytes between head and tail, WRAP remainders included */
  uint32_t frames; /* entries queued and not yet written; read without the lock by offer() */
  bool stopping;
  bool idle; /* the thread waits for work: offer() or tap_writer_flush() must signal */
  bool wake_owed; /* frames were queued with the wake-up deferred (tap_writer_flush) */
  bool producer_waits; /* offer() waits for room: the thread must signal */
  uint64_t written;
  uint64_t dropped;
  int error;
  pthread_mutex_t mu;
  pthread_cond_t work;
  pthread_cond_t room;
  pthread_t thread;
};

static size_t entry_size(size_t len) { return (ENTRY_HEADER + len + 7) & ~(size_t)7; }

/* Write one frame; a failure is a drop, as write() returning false is on the JS thread. What a
 * NIC drops is counted only; the first other error is kept for the JS thread to throw. Atomics,
 * not the mutex: the producer must not wait on the thread (nor wake it) for a counter. */
static void write_one(tap_writer_t *w, const unsigned char *frame, size_t len) {
  ssize_t r;
  do r = write(w->fd, frame, len);
  while (r < 0 && errno == EINTR);
  if (r >= 0) {
    __atomic_fetch_add(&w->written, 1, __ATOMIC_RELAXED);
    return;
  }
  int err = errno, none = 0;
  __atomic_fetch_add(&w->dropped, 1, __ATOMIC_RELAXED);
  if (err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS && err != EIO)
    __atomic_compare_exchange_n(&w->error, &none, err, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void *run(void *arg) {
  tap_writer_t *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->frames == 0 && !w->stopping) {
      w->idle = true;
      pthread_cond_wait(&w->work, &w->mu);
      w->idle = false;
    }
    if (w->frames == 0) break; /* stopping, and everything queued is written */
    uint32_t len;
    memcpy(&len, w->buf + w->head, sizeof len);
    if (len == WRAP) {
      w->used -= w->cap - w->head;
      w->head = 0;
      continue;
    }
    unsigned char *frame = w->buf + w->head + ENTRY_HEADER;
    pthread_mutex_unlock(&w->mu);
    write_one(w, frame, len);
    pthread_mutex_lock(&w->mu);
    size_t size = entry_size(len);
    w->head = (w->head + size) % w->cap;
    w->used -= size;
    __atomic_store_n(&w->frames, w->frames - 1, __ATOMIC_RELEASE);
    if (w->producer_waits) pthread_cond_signal(&w->room);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

tap_writer_t *tap_writer_start(int fd, size_t ring_bytes, size_t min_len, int *err) {
  tap_writer_t *w = calloc(1, sizeof *w);
  size_t cap = ring_bytes < MIN_RING ? MIN_RING : (ring_bytes + 7) & ~(size_t)7;
  unsigned char *buf = w == NULL ? NULL : malloc(cap);
  if (buf == NULL) {
    free(w);
    *err = ENOMEM;
    return NULL;
  }
  w->fd = fd;
  w->min_len = min_len;
  w->buf = buf;
  w->cap = cap;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->work, NULL);
  pthread_cond_init(&w->room, NULL);
  /* Signals stay with Node's threads: the writer starts with all of them blocked. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&w->thread, NULL, run, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->room);
    free(buf);
    free(w);
    *err = rc;
    return NULL;
  }
  return w;
}

/* Where an entry of `size` bytes can go, marking a WRAP first if it must start at 0; -1 if the
 * ring has no room yet. Under the lock. */
static long reserve(tap_writer_t *w, size_t size) {
  if (w->used == 0) w->head = w->tail = 0;
  if (w->used == w->cap) return -1;
  if (w->tail >= w->head) {
    if (w->cap - w->tail >= size) return (long)w->tail;
    if (w->head < size) return -1;
    uint32_t wrap = WRAP;
    memcpy(w->buf + w->tail, &wrap, sizeof wrap); /* entries are 8-aligned: the mark fits */
    w->used += w->cap - w->tail;
    w->tail = 0;
    return 0;
  }
  return w->head - w->tail >= size ? (long)w->tail : -1;
}

int tap_writer_offer(tap_writer_t *w, const struct iovec *iov, int iovcnt, size_t len, bool defer_wake) {
  if (__atomic_load_n(&w->frames, __ATOMIC_ACQUIRE) == 0 && len < w->min_len) return 0;
  size_t size = entry_size(len);
  if (size > w->cap) return 0; /* cannot happen for a tap frame (<= 64 KiB + header) */
  pthread_mutex_lock(&w->mu);
  long at;
  while ((at = reserve(w, size)) < 0) {
    if (w->idle) pthread_cond_signal(&w->work); /* a deferred wake-up is owed: the ring is full of it */
    w->producer_waits = true;
    pthread_cond_wait(&w->room, &w->mu);
    w->producer_waits = false;
  }
  pthread_mutex_unlock(&w->mu);
  /* The thread reads only entries counted in `frames`: the bytes are ours until we count it. */
  uint32_t len32 = (uint32_t)len;
  unsigned char *p = w->buf + at;
  memcpy(p, &len32, sizeof len32);
  p += ENTRY_HEADER;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(p, iov[i].iov_base, iov[i].iov_len);
    p += iov[i].iov_len;
  }
  pthread_mutex_lock(&w->mu);
  w->tail = (size_t)at + size;
  if (w->tail == w->cap) w->tail = 0;
  w->used += size;
  __atomic_store_n(&w->frames, w->frames + 1, __ATOMIC_RELEASE);
  if (defer_wake) w->wake_owed = true;
  else if (w->idle) pthread_cond_signal(&w->work);
  pthread_mutex_unlock(&w->mu);
  return 1;
}

void tap_writer_flush(tap_writer_t *w) {
  if (!w->wake_owed) return; /* only the producer sets and clears it */
  pthread_mutex_lock(&w->mu);
  w->wake_owed = false;
  if (w->idle) pthread_cond_signal(&w->work);
  pthread_mutex_unlock(&w->mu);
}

void tap_writer_stats(tap_writer_t *w, uint64_t *written, uint64_t *dropped) {
  *written = __atomic_load_n(&w->written, __ATOMIC_RELAXED);
  *dropped = __atomic_load_n(&w->dropped, __ATOMIC_RELAXED);
}

int tap_writer_take_error(tap_writer_t *w) {
  if (__atomic_load_n(&w->error, __ATOMIC_RELAXED) == 0) return 0;
  return __atomic_exchange_n(&w->error, 0, __ATOMIC_SEQ_CST);
}

void tap_writer_stop(tap_writer_t *w, uint64_t *written, uint64_t *dropped) {
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_signal(&w->work);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  *written = w->written;
  *dropped = w->dropped;
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->work);
  pthread_cond_destroy(&w->room);
  free(w->buf);
  free(w);
}
