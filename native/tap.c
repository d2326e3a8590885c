/*
 * tapstack_tap: the TAP device addon (Linux only, Node-API, C).
 *
 * What it does: opens /dev/net/tun as a TAP (IFF_TAP|IFF_NO_PI, optionally IFF_VNET_HDR) by
 * name, creating the interface or attaching to an existing persistent one; configures the
 * kernel side of the tap (IPv4/prefix, MTU, MAC, up/down) with the classic SIOCxIFx ioctls;
 * watches the non-blocking fd with a uv_poll handle on the main loop and, on each wake-up,
 * drains every ready frame (up to a batch limit) into a pooled ring (one ArrayBuffer, one 64 KiB
 * slot per frame, allocated once) and makes ONE call to JS with the count; writes frames with
 * plain synchronous write()s, or writev() when a frame comes in pieces (virtio-net header,
 * headers, payload chunks), so nothing is copied to glue them. Optionally (startWriter) big
 * frames, and all frames behind them, go to a writer thread instead (tap-writer.h).
 *
 * What it does not do: no reading off the main thread, no libuv threadpool work parked on the
 * fd (a blocking read() there could never be cancelled, so release() could hang), no parsing
 * of frames.
 *
 * Exports:
 *   class TapHandle(name: string, vnetHdr?: boolean, slots?: number)
 *     .name .fd .vnetHdr .created       created: the interface did not exist before this open
 *     .ring .slots .slotSize            the read ring: frame i of a batch is at ring[i*slotSize],
 *                                       its length in lengths (a Uint32Array view of the first
 *                                       `slots` words of .lengths); valid until onBatch returns
 *     .lengths
 *     .start(onBatch(count), onError(err))   begin (or resume) reading, at most `slots` per call
 *     .stop()                                                     pause reading
 *     .write(frame) -> boolean          false: dropped (no room in the kernel, or interface down)
 *                                       frame: a Buffer, or an array of Buffers written as ONE
 *                                       frame with writev()
 *     .writeBatch(frames, count?) -> number of frames dropped (each frame as for write())
 *     .startWriter(ringBytes, minLen)   frames of >= minLen bytes, and any frame while some
 *                                       are queued, are copied to a ring and written by a
 *                                       thread; close() writes what is queued first
 *     .writerStats() -> { written, dropped }   that thread's frames (dropped: as write() false)
 *     .setOffload(flags)                TUNSETOFFLOAD (TUN_F_*): needs the vnet header
 *     .ref() .unref()                   whether an active reader keeps the process alive
 *     .close()                          idempotent, synchronous, never blocks
 *   getMac(name) -> Buffer(6)   setMac(name, Buffer)     getMtu(name)   setMtu(name, n)
 *   getFlags(name) -> number    setUp(name, bool)
 *   getIpv4(name) -> [ip, prefix] | null                 setIpv4(name, ip, prefix)
 *   getTxQueueLen(name)   setTxQueueLen(name, n)
 *   constants: { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, TUN_F_UFO, IFF_UP,
 *                IFF_RUNNING, VNET_HDR_LEN, IFNAMSIZ }
 *
 * Every failure is thrown as an Error with `code` ("EACCES"...), `errno` (negative, as in
 * Node's own fs/net errors) and `syscall`, with a message that says what to do about it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include <node_api.h>
#include <uv.h>

#include "tap-writer.h"

/* Frames handed to JS per wake-up unless start() says otherwise: enough to amortise the call
 * into JS, small enough that one busy tap cannot starve the rest of the event loop (uv_poll is
 * level-triggered, so frames left in the queue wake us again on the next loop turn). */
#define DEFAULT_BATCH 64
#define MAX_BATCH 1024

/* One ring slot: the largest frame a tap can hand us is a 64 KiB GSO super-frame plus the
 * virtio-net header (only with IFF_VNET_HDR + TUNSETOFFLOAD); a plain frame is MTU + 14. */
#define SLOT_LEN (65536 + 256)

/* Most pieces of one frame for writev(): header, IP/TCP headers, payload chunks. */
#define MAX_PIECES 64

#define TUN_PATH "/dev/net/tun"

/* ------------------------------------------------------------------------------------------ */
/* errors */

/* Node names errors by their errno symbol; libuv knows nearly all of them. */
static const char *errno_name(int err) {
  if (err == EBADFD) return "EBADFD"; /* a tap whose interface was deleted under us */
  return uv_err_name(-err);
}

/* Build an Error with .code/.errno/.syscall; `fmt` (printf-style) is the message. */
static napi_value make_error(napi_env env, int err, const char *syscall, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  napi_value code, message, error, errno_v, syscall_v;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  return error;
}

/* The message for a failed open()/TUNSETIFF: the three failures users actually hit get a
 * sentence that says what to do; anything else gets the plain strerror. */
static napi_value open_error(napi_env env, int err, const char *syscall, const char *name) {
  switch (err) {
    case EPERM:
    case EACCES:
      return make_error(env, err, syscall, "opening " TUN_PATH " needs root or CAP_NET_ADMIN (%s %s: %s)",
                        syscall, name, strerror(err));
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return make_error(env, err, syscall, TUN_PATH " is missing (modprobe tun) (%s: %s)", syscall,
                        strerror(err));
    case EBUSY:
      return make_error(env, err, syscall, "tap %s is busy: another process has it open", name);
    case EINVAL:
      return make_error(env, err, syscall,
                        "cannot open tap %s: invalid name, or an interface of that name exists and is "
                        "not a single-queue tap (%s: %s)",
                        name, syscall, strerror(err));
    default:
      return make_error(env, err, syscall, "cannot open tap %s: %s failed: %s", name, syscall, strerror(err));
  }
}

static void throw_value(napi_env env, napi_value error) { napi_throw(env, error); }

/* Throw a TypeError for bad arguments (a programming error, not an OS one). */
static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* argument helpers */

/* Copy a JS string interface name into `out` (IFNAMSIZ bytes). Returns 0, or throws and
 * returns -1. Checking the length here (and not letting the kernel truncate it) means a too
 * long name fails the same way with or without root. */
static int get_ifname(napi_env env, napi_value v, char out[IFNAMSIZ]) {
  char buf[256];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) {
    type_error(env, "interface name must be a string");
    return -1;
  }
  if (len >= IFNAMSIZ) {
    throw_value(env, make_error(env, EINVAL, "TUNSETIFF", "tap name \"%s\" is too long (at most %d bytes)",
                                buf, IFNAMSIZ - 1));
    return -1;
  }
  if (strchr(buf, '/') != NULL || strchr(buf, ' ') != NULL || strchr(buf, ':') != NULL) {
    /* The kernel refuses these too (dev_valid_name), but only after the root-only open(). */
    throw_value(env, make_error(env, EINVAL, "TUNSETIFF", "tap name \"%s\" is not a valid interface name", buf));
    return -1;
  }
  memcpy(out, buf, len + 1);
  return 0;
}

/* Get a byte view of a Buffer / Uint8Array argument. Returns 0, or throws and returns -1. */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool ok = false;
  napi_is_typedarray(env, v, &ok);
  if (ok) {
    napi_typedarray_type type;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) == napi_ok && type == napi_uint8_array)
      return 0;
  }
  type_error(env, "frame must be a Buffer or Uint8Array");
  return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* interface configuration: SIOCxIFx ioctls on a throwaway AF_INET socket (as tuntap2 and
 * ifconfig do). They act in the calling thread's network namespace, the same one the tap was
 * created in as long as the caller does not move. */

/* Run one ifreq ioctl on interface `name`; returns 0 or an errno. */
static int if_ioctl(const char *name, unsigned long req, struct ifreq *ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
  ifr->ifr_name[IFNAMSIZ - 1] = '\0';
  int rc = ioctl(s, req, ifr);
  int err = rc < 0 ? errno : 0;
  close(s);
  return err;
}

/* Throw the error for a failed interface ioctl. */
static napi_value if_error(napi_env env, int err, const char *what, const char *name) {
  if (err == EPERM || err == EACCES)
    throw_value(env, make_error(env, err, what, "%s on %s needs root or CAP_NET_ADMIN", what, name));
  else if (err == ENODEV)
    throw_value(env, make_error(env, err, what, "%s: no interface named %s", what, name));
  else
    throw_value(env, make_error(env, err, what, "%s on %s failed: %s", what, name, strerror(err)));
  return NULL;
}

#define IF_ARGS(n)                                                     \
  size_t argc = n;                                                     \
  napi_value argv[n];                                                  \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);                \
  if (argc < n) return type_error(env, "missing argument");            \
  char name[IFNAMSIZ];                                                 \
  if (get_ifname(env, argv[0], name) != 0) return NULL;                \
  struct ifreq ifr;                                                    \
  memset(&ifr, 0, sizeof ifr)

static napi_value js_get_mac(napi_env env, napi_callback_info info) {
  IF_ARGS(1);
  int err = if_ioctl(name, SIOCGIFHWADDR, &ifr);
  if (err) return if_error(env, err, "SIOCGIFHWADDR", name);
  napi_value buf;
  napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, NULL, &buf);
  return buf;
}

static napi_value js_set_mac(napi_env env, napi_callback_info info) {
  IF_ARGS(2);
  void *data;
  size_t len;
  if (get_bytes(env, argv[1], &data, &len) != 0) return NULL;
  if (len != 6) return type_error(env, "a MAC address is 6 bytes");
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, data, 6);
  int err = if_ioctl(name, SIOCSIFHWADDR, &ifr);
  if (err) return if_error(env, err, "SIOCSIFHWADDR", name);
  return NULL;
}

static napi_value js_get_mtu(napi_env env, napi_callback_info info) {
  IF_ARGS(1);
  int err = if_ioctl(name, SIOCGIFMTU, &ifr);
  if (err) return if_error(env, err, "SIOCGIFMTU", name);
  napi_value v;
  napi_create_int32(env, ifr.ifr_mtu, &v);
  return v;
}

static napi_value js_set_mtu(napi_env env, napi_callback_info info) {
  IF_ARGS(2);
  int32_t mtu;
  if (napi_get_value_int32(env, argv[1], &mtu) != napi_ok) return type_error(env, "mtu must be a number");
  ifr.ifr_mtu = mtu;
  int err = if_ioctl(name, SIOCSIFMTU, &ifr);
  if (err) return if_error(env, err, "SIOCSIFMTU", name);
  return NULL;
}

static napi_value js_get_flags(napi_env env, napi_callback_info info) {
  IF_ARGS(1);
  int err = if_ioctl(name, SIOCGIFFLAGS, &ifr);
  if (err) return if_error(env, err, "SIOCGIFFLAGS", name);
  napi_value v;
  /* ifr_flags is a short: IFF_LOWER_UP and friends are not in it (they come via netlink);
   * IFF_RUNNING is, and on a tap it means "a reader is attached" (carrier on). */
  napi_create_uint32(env, (uint16_t)ifr.ifr_flags, &v);
  return v;
}

static napi_value js_set_up(napi_env env, napi_callback_info info) {
  IF_ARGS(2);
  bool up;
  if (napi_get_value_bool(env, argv[1], &up) != napi_ok) return type_error(env, "up must be a boolean");
  /* Read-modify-write: SIOCSIFFLAGS replaces every flag, and we only mean to touch IFF_UP. */
  int err = if_ioctl(name, SIOCGIFFLAGS, &ifr);
  if (err) return if_error(env, err, "SIOCGIFFLAGS", name);
  if (up)
    ifr.ifr_flags |= IFF_UP;
  else
    ifr.ifr_flags &= ~IFF_UP;
  err = if_ioctl(name, SIOCSIFFLAGS, &ifr);
  if (err) return if_error(env, err, "SIOCSIFFLAGS", name);
  return NULL;
}

static napi_value js_get_ipv4(napi_env env, napi_callback_info info) {
  IF_ARGS(1);
  int err = if_ioctl(name, SIOCGIFADDR, &ifr);
  napi_value result;
  if (err == EADDRNOTAVAIL) { /* no IPv4 address: not an error for a getter */
    napi_get_null(env, &result);
    return result;
  }
  if (err) return if_error(env, err, "SIOCGIFADDR", name);
  struct in_addr addr = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
  memset(&ifr, 0, sizeof ifr);
  err = if_ioctl(name, SIOCGIFNETMASK, &ifr);
  if (err) return if_error(env, err, "SIOCGIFNETMASK", name);
  uint32_t mask = ntohl(((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr, text, sizeof text);
  napi_value ip, prefix;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &ip);
  napi_create_int32(env, __builtin_popcount(mask), &prefix);
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, ip);
  napi_set_element(env, result, 1, prefix);
  return result;
}

static napi_value js_get_txqueuelen(napi_env env, napi_callback_info info) {
  IF_ARGS(1);
  int err = if_ioctl(name, SIOCGIFTXQLEN, &ifr);
  if (err) return if_error(env, err, "SIOCGIFTXQLEN", name);
  napi_value v;
  napi_create_int32(env, ifr.ifr_qlen, &v);
  return v;
}

static napi_value js_set_txqueuelen(napi_env env, napi_callback_info info) {
  IF_ARGS(2);
  int32_t qlen;
  if (napi_get_value_int32(env, argv[1], &qlen) != napi_ok || qlen < 0)
    return type_error(env, "txqueuelen must be a non-negative integer");
  ifr.ifr_qlen = qlen;
  int err = if_ioctl(name, SIOCSIFTXQLEN, &ifr);
  if (err) return if_error(env, err, "SIOCSIFTXQLEN", name);
  return NULL;
}

static napi_value js_set_ipv4(napi_env env, napi_callback_info info) {
  IF_ARGS(3);
  char text[64];
  size_t len;
  int32_t prefix;
  struct in_addr addr;
  if (napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len) != napi_ok ||
      inet_pton(AF_INET, text, &addr) != 1)
    return type_error(env, "ip must be a dotted-quad IPv4 address string");
  if (napi_get_value_int32(env, argv[2], &prefix) != napi_ok || prefix < 0 || prefix > 32)
    return type_error(env, "prefix must be an integer 0..32");

  /* SIOCSIFADDR first: it gives the address its classful mask (10.x => /8); SIOCSIFNETMASK
   * then re-inserts it with the real prefix, fixing the subnet route and broadcast. */
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  sin->sin_addr = addr;
  int err = if_ioctl(name, SIOCSIFADDR, &ifr);
  if (err) return if_error(env, err, "SIOCSIFADDR", name);

  memset(&ifr, 0, sizeof ifr);
  sin = (struct sockaddr_in *)&ifr.ifr_netmask;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(prefix == 0 ? 0 : 0xffffffffu << (32 - prefix));
  err = if_ioctl(name, SIOCSIFNETMASK, &ifr);
  if (err) return if_error(env, err, "SIOCSIFNETMASK", name);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* TapHandle */

/* The uv_poll_t lives in its own allocation because libuv owns it until uv_close()'s callback,
 * which may come after the JS object (and its tap_t) has been finalised. */
typedef struct {
  uv_poll_t poll;
  /* Set when closing from Node's environment teardown: tells Node we are done. */
  napi_async_cleanup_hook_handle teardown;
} poll_box_t;

typedef struct {
  napi_env env;
  int fd; /* -1 once closed */
  char name[IFNAMSIZ];
  bool vnet_hdr;
  poll_box_t *box; /* NULL once closed */
  bool polling;
  uint32_t batch;
  napi_ref on_frames; /* JS callbacks, held only while reading */
  napi_ref on_error;
  napi_async_context async_ctx; /* so frames arrive as a proper async callback (hooks, ticks) */
  napi_async_cleanup_hook_handle cleanup_hook;
  int in_callback;   /* >0 while JS runs from on_readable: defer free() */
  bool free_pending; /* finalised during a callback */
  unsigned char *ring;   /* `batch` slots of SLOT_LEN, owned by the ArrayBuffer in ring_ref */
  uint32_t *lengths;     /* `batch` frame lengths, owned by lengths_ref */
  napi_ref ring_ref;
  napi_ref lengths_ref;
  tap_writer_t *writer; /* NULL: every write() on the JS thread */
  uint64_t writer_written; /* the writer's counts, kept when it stops */
  uint64_t writer_dropped;
} tap_t;

static void on_poll_closed(uv_handle_t *h) {
  poll_box_t *box = (poll_box_t *)h;
  if (box->teardown != NULL) napi_remove_async_cleanup_hook(box->teardown);
  free(box);
}

static void drop_callbacks(tap_t *t) {
  if (t->on_frames != NULL) napi_delete_reference(t->env, t->on_frames);
  if (t->on_error != NULL) napi_delete_reference(t->env, t->on_error);
  t->on_frames = t->on_error = NULL;
}

/* Release everything, synchronously. Order matters: uv_close() (which stops the poll and
 * removes the fd from epoll) while the fd is still open, then close(fd) at once, so that a
 * new open of the same persistent tap right after release() does not see EBUSY. */
static void tap_close(tap_t *t, napi_async_cleanup_hook_handle teardown) {
  if (t->fd < 0) return;
  if (t->cleanup_hook != NULL && teardown == NULL) napi_remove_async_cleanup_hook(t->cleanup_hook);
  t->cleanup_hook = NULL;
  if (t->writer != NULL) {
    tap_writer_stop(t->writer, &t->writer_written, &t->writer_dropped); /* writes what is queued first */
    t->writer = NULL;
  }
  t->box->poll.data = NULL;
  t->box->teardown = teardown;
  uv_close((uv_handle_t *)&t->box->poll, on_poll_closed);
  t->box = NULL;
  t->polling = false;
  close(t->fd);
  t->fd = -1;
  drop_callbacks(t);
  if (t->async_ctx != NULL) napi_async_destroy(t->env, t->async_ctx);
  t->async_ctx = NULL;
  t->ring = NULL; /* the ArrayBuffers go with the JS object (references dropped in finalize) */
  t->lengths = NULL;
}

/* Node's environment is going away (process exit, worker end): close so the loop can end. */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  tap_t *t = arg;
  if (t->fd < 0) {
    napi_remove_async_cleanup_hook(handle);
    return;
  }
  t->cleanup_hook = NULL;
  tap_close(t, handle);
}

static void tap_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  tap_t *t = data;
  tap_close(t, NULL);
  if (t->ring_ref != NULL) napi_delete_reference(env, t->ring_ref);
  if (t->lengths_ref != NULL) napi_delete_reference(env, t->lengths_ref);
  t->ring_ref = t->lengths_ref = NULL;
  if (t->in_callback > 0) {
    t->free_pending = true;
    return;
  }
  free(t);
}

/* Call a JS callback held in `ref` with one argument, as an async callback from the loop. An
 * exception thrown by it becomes an uncaughtException, as for any other I/O callback. */
static void call_js(tap_t *t, napi_ref ref, napi_value arg) {
  napi_env env = t->env;
  napi_value fn, recv;
  if (ref == NULL || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); /* napi_make_callback wants an object as `this` */
  napi_status st = napi_make_callback(env, t->async_ctx, recv, fn, 1, &arg, NULL);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* Stop reading and hand `error` to onError (reading cannot continue: the tap is gone). */
static void fail_reading(tap_t *t, napi_value error) {
  if (t->polling && t->box != NULL) uv_poll_stop(&t->box->poll);
  t->polling = false;
  napi_ref on_error = t->on_error;
  t->on_error = NULL; /* called once */
  if (on_error == NULL) return;
  call_js(t, on_error, error);
  napi_delete_reference(t->env, on_error);
}

/* uv_poll callback: drain up to `batch` frames into the ring, then one call into JS with the
 * count. No allocation per frame: JS gets views of the slots, valid until its callback returns
 * (the next wake-up overwrites them). */
static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  tap_t *t = h->data;
  if (t == NULL || t->fd < 0) return;
  napi_env env = t->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  t->in_callback++;

  if (status < 0) {
    /* libuv reports EPOLLERR as UV_EBADF and stops the handle; for a tap it means the
     * interface was deleted (the fd is detached). A read() tells us the real errno. */
    int err = -status;
    if (read(t->fd, t->ring, SLOT_LEN) < 0 && errno != EAGAIN) err = errno;
    fail_reading(t, make_error(env, err, "read", "tap %s: reading failed: %s (was the interface deleted?)",
                               t->name, strerror(err)));
    goto out;
  }

  uint32_t n = 0;
  int err = 0;
  while (n < t->batch) {
    ssize_t r = read(t->fd, t->ring + (size_t)n * SLOT_LEN, SLOT_LEN);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    t->lengths[n++] = (uint32_t)r;
  }
  if (n > 0) {
    napi_value count;
    napi_create_uint32(env, n, &count);
    call_js(t, t->on_frames, count);
    if (t->writer != NULL) tap_writer_flush(t->writer); /* the frames the batch queued */
  }
  /* JS may have called stop() or close() from the callback: then we are done. */
  if (err != 0 && t->fd >= 0 && t->polling)
    fail_reading(t, make_error(env, err, "read", "tap %s: reading failed: %s (was the interface deleted?)",
                               t->name, strerror(err)));

out:
  t->in_callback--;
  napi_close_handle_scope(env, scope);
  if (t->free_pending && t->in_callback == 0) free(t);
}

static tap_t *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  napi_get_cb_info(env, info, argc, argv, &self, NULL);
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    type_error(env, "not a TapHandle");
    return NULL;
  }
  return data;
}

/* The same unwrap, plus: throw EBADF if the handle was closed. */
static tap_t *unwrap_open(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  tap_t *t = unwrap(env, info, argc, argv);
  if (t != NULL && t->fd < 0) {
    throw_value(env, make_error(env, EBADF, "tap", "tap %s is released", t->name));
    return NULL;
  }
  return t;
}

/* new TapHandle(name, vnetHdr = false, slots = DEFAULT_BATCH) */
static napi_value js_tap_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self, new_target;
  napi_get_cb_info(env, info, &argc, argv, &self, NULL);
  if (napi_get_new_target(env, info, &new_target) != napi_ok || new_target == NULL)
    return type_error(env, "TapHandle is a class: use `new TapHandle(name)`");
  char name[IFNAMSIZ] = "";
  if (argc >= 1 && get_ifname(env, argv[0], name) != 0) return NULL;
  bool vnet_hdr = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &vnet_hdr);
  uint32_t slots = DEFAULT_BATCH;
  napi_valuetype st = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &st);
  if (st != napi_undefined &&
      (napi_get_value_uint32(env, argv[2], &slots) != napi_ok || slots < 1 || slots > MAX_BATCH))
    return type_error(env, "slots must be an integer 1..1024");
  /* Whether TUNSETIFF creates the interface or attaches to an existing (persistent) one. */
  bool created = name[0] == '\0' || if_nametoindex(name) == 0;

  /* Non-blocking from the start: uv_poll only tells us "readable", and a read() that blocked
   * would freeze the event loop. CLOEXEC: a child process must not keep the tap attached. */
  int fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw_value(env, open_error(env, errno, "open", name[0] ? name : "(any)"));
    return NULL;
  }

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  /* IFF_NO_PI: frames start at the Ethernet header, no 4-byte packet-info prefix. An empty
   * name lets the kernel pick "tapN". An existing persistent tap of that name is attached. */
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    throw_value(env, open_error(env, err, "TUNSETIFF", name[0] ? name : "(any)"));
    return NULL;
  }
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  name[IFNAMSIZ - 1] = '\0';

  /* The kernel's default is already the 10-byte struct virtio_net_hdr, but a persistent tap
   * keeps what its last user set (12 for virtio 1.0 with num_buffers): say it every time. */
  int hdr_len = sizeof(struct virtio_net_hdr);
  if (vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
    int err = errno;
    close(fd);
    throw_value(env, make_error(env, err, "TUNSETVNETHDRSZ", "tap %s: TUNSETVNETHDRSZ failed: %s", name, strerror(err)));
    return NULL;
  }

  /* A persistent tap remembers the offloads of whoever had it last; a reader that does not
   * expect checksum-less or 64 KiB frames must say so explicitly, every time. */
  if (ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
    int err = errno;
    close(fd);
    throw_value(env, make_error(env, err, "TUNSETOFFLOAD", "tap %s: TUNSETOFFLOAD failed: %s", name, strerror(err)));
    return NULL;
  }

  tap_t *t = calloc(1, sizeof *t);
  poll_box_t *box = calloc(1, sizeof *box);
  void *ring = NULL, *lengths = NULL;
  napi_value ring_ab, lengths_ab, lengths_view;
  uv_loop_t *loop = NULL;
  if (t == NULL || box == NULL ||
      napi_create_arraybuffer(env, (size_t)slots * SLOT_LEN, &ring, &ring_ab) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)slots * 4, &lengths, &lengths_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, slots, lengths_ab, 0, &lengths_view) != napi_ok ||
      napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &box->poll, fd) != 0) {
    free(t);
    free(box);
    close(fd);
    throw_value(env, make_error(env, ENOMEM, "uv_poll_init", "tap %s: cannot set up polling", name));
    return NULL;
  }
  t->env = env;
  t->fd = fd;
  memcpy(t->name, name, IFNAMSIZ);
  t->vnet_hdr = vnet_hdr;
  t->box = box;
  t->batch = slots;
  t->ring = ring;
  t->lengths = lengths;
  napi_create_reference(env, ring_ab, 1, &t->ring_ref);
  napi_create_reference(env, lengths_ab, 1, &t->lengths_ref);
  box->poll.data = t;

  if (napi_wrap(env, self, t, tap_finalize, NULL, NULL) != napi_ok) {
    tap_close(t, NULL);
    free(t);
    return NULL;
  }
  napi_add_async_cleanup_hook(env, on_env_teardown, t, &t->cleanup_hook);

  napi_value v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, self, "name", v);
  napi_get_boolean(env, vnet_hdr, &v);
  napi_set_named_property(env, self, "vnetHdr", v);
  napi_get_boolean(env, created, &v);
  napi_set_named_property(env, self, "created", v);
  napi_set_named_property(env, self, "ring", ring_ab);
  napi_set_named_property(env, self, "lengths", lengths_view);
  napi_create_uint32(env, slots, &v);
  napi_set_named_property(env, self, "slots", v);
  napi_create_uint32(env, SLOT_LEN, &v);
  napi_set_named_property(env, self, "slotSize", v);
  return self;
}

static napi_value js_tap_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap(env, info, &argc, NULL);
  if (t == NULL) return NULL;
  napi_value v;
  napi_create_int32(env, t->fd, &v);
  return v;
}

/* start(onBatch, onError) */
static napi_value js_tap_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  tap_t *t = unwrap_open(env, info, &argc, argv);
  if (t == NULL) return NULL;
  napi_valuetype t0, t1;
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || t0 != napi_function ||
      napi_typeof(env, argv[1], &t1) != napi_ok || t1 != napi_function)
    return type_error(env, "start(onBatch, onError) needs two functions");
  drop_callbacks(t);
  napi_create_reference(env, argv[0], 1, &t->on_frames);
  napi_create_reference(env, argv[1], 1, &t->on_error);
  if (t->async_ctx == NULL) {
    napi_value resource_name;
    napi_create_string_utf8(env, "tapstack:tap", NAPI_AUTO_LENGTH, &resource_name);
    napi_async_init(env, NULL, resource_name, &t->async_ctx);
  }
  if (!t->polling) {
    int rc = uv_poll_start(&t->box->poll, UV_READABLE, on_readable);
    if (rc != 0) {
      throw_value(env, make_error(env, -rc, "uv_poll_start", "tap %s: cannot poll: %s", t->name, uv_strerror(rc)));
      return NULL;
    }
    t->polling = true;
  }
  return NULL;
}

/* stop(): frames queue in the kernel (and are dropped there once its queue is full). */
static napi_value js_tap_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap(env, info, &argc, NULL);
  if (t == NULL || t->fd < 0) return NULL;
  if (t->polling) uv_poll_stop(&t->box->poll);
  t->polling = false;
  drop_callbacks(t);
  return NULL;
}

/* Write one frame: a Buffer, or an array of Buffers glued by writev() (a tap takes exactly one
 * frame per write()/writev() call). 0 = written, 1 = dropped for lack of room, -1 = exception. */
static int write_frame(napi_env env, tap_t *t, napi_value frame, uint32_t index) {
  struct iovec iov[MAX_PIECES];
  int iovcnt = 1;
  size_t len = 0;
  bool is_array = false;
  napi_is_array(env, frame, &is_array);
  if (is_array) {
    uint32_t pieces;
    napi_get_array_length(env, frame, &pieces);
    if (pieces < 1 || pieces > MAX_PIECES) {
      type_error(env, "a frame in pieces has 1..64 pieces");
      return -1;
    }
    for (uint32_t i = 0; i < pieces; i++) {
      napi_value piece;
      napi_get_element(env, frame, i, &piece);
      if (get_bytes(env, piece, &iov[i].iov_base, &iov[i].iov_len) != 0) return -1;
      len += iov[i].iov_len;
    }
    iovcnt = (int)pieces;
  } else {
    if (get_bytes(env, frame, &iov[0].iov_base, &iov[0].iov_len) != 0) return -1;
    len = iov[0].iov_len;
  }
  if (t->writer != NULL) {
    int err = tap_writer_take_error(t->writer);
    if (err != 0) {
      throw_value(env, make_error(env, err, "write", "tap %s: the writer thread could not write a frame: %s", t->name,
                                  strerror(err)));
      return -1;
    }
    /* Inside a read batch the wake-up waits for its end (on_readable flushes). */
    if (tap_writer_offer(t->writer, iov, iovcnt, len, t->in_callback > 0)) return 0;
  }
  for (;;) {
    ssize_t r = iovcnt == 1 ? write(t->fd, iov[0].iov_base, len) : writev(t->fd, iov, iovcnt);
    if (r >= 0) return 0;
    if (errno == EINTR) continue;
    /* EAGAIN: the tap's socket send buffer is full (TUNSETSNDBUF); ENOBUFS: no memory for
     * the skb; EIO: the interface is down, and like any down NIC it carries nothing. None is
     * a bug in the caller: it counts a drop and moves on. (EINVAL, a frame shorter than 14
     * bytes or longer than 64 KiB, is a bug and throws.) */
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EIO) return 1;
    int err = errno;
    napi_value e = make_error(env, err, "write", "tap %s: writing a %zu-byte frame failed: %s", t->name, len,
                              strerror(err));
    napi_value idx;
    napi_create_uint32(env, index, &idx);
    napi_set_named_property(env, e, "index", idx);
    throw_value(env, e);
    return -1;
  }
}

/* write(frame) -> true if written, false if dropped (EAGAIN/ENOBUFS/EIO). */
static napi_value js_tap_write(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  tap_t *t = unwrap_open(env, info, &argc, argv);
  if (t == NULL) return NULL;
  if (argc < 1) return type_error(env, "write(frame) needs a frame");
  int rc = write_frame(env, t, argv[0], 0);
  if (rc < 0) return NULL;
  napi_value v;
  napi_get_boolean(env, rc == 0, &v);
  return v;
}

/* writeBatch(frames, count = frames.length) -> number dropped. A loop of write()s: a tap
 * takes exactly one frame per call, so one writev() would merge them into one bad frame. */
static napi_value js_tap_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  tap_t *t = unwrap_open(env, info, &argc, argv);
  if (t == NULL) return NULL;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array)
    return type_error(env, "writeBatch(frames[, count]) needs an array");
  uint32_t count;
  napi_get_array_length(env, argv[0], &count);
  if (argc >= 2) {
    uint32_t c;
    if (napi_get_value_uint32(env, argv[1], &c) != napi_ok) return type_error(env, "count must be a number");
    if (c < count) count = c;
  }
  uint32_t dropped = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value frame;
    napi_get_element(env, argv[0], i, &frame);
    int rc = write_frame(env, t, frame, i);
    if (rc < 0) return NULL;
    dropped += (uint32_t)rc;
  }
  napi_value v;
  napi_create_uint32(env, dropped, &v);
  return v;
}

/* startWriter(ringBytes, minLen): from now on frames of at least minLen bytes, and every frame
 * while some are queued, are written by a thread (tap-writer.h). Idempotent. */
static napi_value js_tap_start_writer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  tap_t *t = unwrap_open(env, info, &argc, argv);
  if (t == NULL) return NULL;
  uint32_t ring_bytes, min_len;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &ring_bytes) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &min_len) != napi_ok)
    return type_error(env, "startWriter(ringBytes, minLen) needs two numbers");
  if (t->writer != NULL) return NULL;
  int err = 0;
  t->writer = tap_writer_start(t->fd, ring_bytes, min_len, &err);
  if (t->writer == NULL)
    throw_value(env, make_error(env, err, "pthread_create", "tap %s: cannot start the writer thread: %s", t->name,
                                strerror(err)));
  return NULL;
}

/* writerStats() -> { written, dropped }: frames the writer thread wrote and dropped (as write()
 * returning false), counted until the tap closed. */
static napi_value js_tap_writer_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap(env, info, &argc, NULL);
  if (t == NULL) return NULL;
  uint64_t written = t->writer_written, dropped = t->writer_dropped;
  if (t->writer != NULL) tap_writer_stats(t->writer, &written, &dropped);
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_double(env, (double)written, &v);
  napi_set_named_property(env, o, "written", v);
  napi_create_double(env, (double)dropped, &v);
  napi_set_named_property(env, o, "dropped", v);
  return o;
}

/* setOffload(flags): TUNSETOFFLOAD; only meaningful with the vnet header (TSO needs CSUM). */
static napi_value js_tap_set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  tap_t *t = unwrap_open(env, info, &argc, argv);
  if (t == NULL) return NULL;
  uint32_t flags;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &flags) != napi_ok)
    return type_error(env, "setOffload(flags) needs a number");
  if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0) {
    int err = errno;
    throw_value(env, make_error(env, err, "TUNSETOFFLOAD", "tap %s: TUNSETOFFLOAD(0x%x) failed: %s", t->name, flags,
                                strerror(err)));
  }
  return NULL;
}

static napi_value js_tap_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap(env, info, &argc, NULL);
  if (t != NULL && t->box != NULL) uv_ref((uv_handle_t *)&t->box->poll);
  return NULL;
}

static napi_value js_tap_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap(env, info, &argc, NULL);
  if (t != NULL && t->box != NULL) uv_unref((uv_handle_t *)&t->box->poll);
  return NULL;
}

static napi_value js_tap_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tap_t *t = unwrap(env, info, &argc, NULL);
  if (t != NULL) tap_close(t, NULL);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* module */

static void set_u32(napi_env env, napi_value obj, const char *key, uint32_t value) {
  napi_value v;
  napi_create_uint32(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_fn(napi_env env, napi_value obj, const char *key, napi_callback fn) {
  napi_value v;
  napi_create_function(env, key, NAPI_AUTO_LENGTH, fn, NULL, &v);
  napi_set_named_property(env, obj, key, v);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"start", NULL, js_tap_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_tap_stop, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_tap_write, NULL, NULL, NULL, napi_default, NULL},
      {"writeBatch", NULL, js_tap_write_batch, NULL, NULL, NULL, napi_default, NULL},
      {"startWriter", NULL, js_tap_start_writer, NULL, NULL, NULL, napi_default, NULL},
      {"writerStats", NULL, js_tap_writer_stats, NULL, NULL, NULL, napi_default, NULL},
      {"setOffload", NULL, js_tap_set_offload, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_tap_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, js_tap_unref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_tap_close, NULL, NULL, NULL, napi_default, NULL},
      {"fd", NULL, NULL, js_tap_fd, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  napi_define_class(env, "TapHandle", NAPI_AUTO_LENGTH, js_tap_new, NULL, sizeof methods / sizeof methods[0],
                    methods, &cls);
  napi_set_named_property(env, exports, "TapHandle", cls);

  set_fn(env, exports, "getMac", js_get_mac);
  set_fn(env, exports, "setMac", js_set_mac);
  set_fn(env, exports, "getMtu", js_get_mtu);
  set_fn(env, exports, "setMtu", js_set_mtu);
  set_fn(env, exports, "getFlags", js_get_flags);
  set_fn(env, exports, "setUp", js_set_up);
  set_fn(env, exports, "getIpv4", js_get_ipv4);
  set_fn(env, exports, "setIpv4", js_set_ipv4);
  set_fn(env, exports, "getTxQueueLen", js_get_txqueuelen);
  set_fn(env, exports, "setTxQueueLen", js_set_txqueuelen);

  napi_value c;
  napi_create_object(env, &c);
  set_u32(env, c, "TUN_F_CSUM", TUN_F_CSUM);
  set_u32(env, c, "TUN_F_TSO4", TUN_F_TSO4);
  set_u32(env, c, "TUN_F_TSO6", TUN_F_TSO6);
  set_u32(env, c, "TUN_F_TSO_ECN", TUN_F_TSO_ECN);
  set_u32(env, c, "TUN_F_UFO", TUN_F_UFO);
  set_u32(env, c, "IFF_UP", IFF_UP);
  set_u32(env, c, "IFF_RUNNING", IFF_RUNNING);
  set_u32(env, c, "VNET_HDR_LEN", sizeof(struct virtio_net_hdr));
  set_u32(env, c, "IFNAMSIZ", IFNAMSIZ);
  napi_set_named_property(env, exports, "constants", c);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
