/*
 * A small N-API addon for a Linux TUN device (IFF_TUN | IFF_NO_PI).
 *
 * Exports: open, startReading, stopReading, writeBatch, close, ioCounts.
 *
 * The fd is non-blocking and its readiness comes from libuv (uv_poll_t), so
 * Node's single thread never blocks on the device. Each wake-up drains every
 * ready packet (bounded) straight into memory JS owns (a pool of ~1 MiB
 * ArrayBuffers, as Node pools small Buffers) and hands JS one Uint8Array
 * view of the batch plus a Uint32Array of lengths: no copy in user space,
 * one JS call per batch, not per packet; then reads again for what came
 * while JS worked (on_readable).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include <node_api.h>
#include <uv.h>

/* Largest IPv4/IPv6 packet a single read() can return. */
#define MAX_PACKET 65536
/* The header before each packet on a device opened with IFF_VNET_HDR: the
 * legacy virtio_net_hdr, 10 bytes (TUNSETVNETHDRSZ sets it explicitly). */
#define VNET_HDR_LEN ((int)sizeof(struct virtio_net_hdr))
/* What the stack learns of each received packet, one word per packet: the
 * GSO segment size in the low 16 bits (0: a plain packet), and
 * RX_CSUM_TRUSTED when the kernel marked the transport checksum in the
 * virtio_net_hdr as one it owes (VIRTIO_NET_HDR_F_NEEDS_CSUM:
 * CHECKSUM_PARTIAL, the field holds the pseudo-header sum only) or as
 * already verified (F_DATA_VALID), or when the addon verified a TCP
 * packet's checksum itself (tcp_csum_ok, IPv4 or IPv6): what a NIC's
 * receive checksum offload reports, so that JavaScript need not sum the
 * bytes again. */
#define RX_CSUM_TRUSTED (1u << 16)
/* A word of writeBatch's txMeta (stack/link.ts): the GSO size, and the
 * mark of a TCP checksum still to be completed (TX_CSUM_PARTIAL). */
#define TX_GSO_SIZE_MASK 0xffffu
#define TX_CSUM_PARTIAL (1u << 16)
/* The offloads asked for with TUNSETOFFLOAD: the kernel may hand us TCP
 * segments of up to 64 KiB with a partial checksum, and takes ours. */
#define TUN_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
/* At most this many packets per wake-up, so one busy device cannot starve the
 * event loop (timers, other fds) for long. */
#define MAX_BATCH 256
/* Each pool holds 1 MiB of packets plus one maximal packet, so a read is
 * never truncated: a batch stops once less than MAX_PACKET bytes are left;
 * a new pool is taken once less than POOL_MIN_ROOM is left. */
#define POOL_SIZE ((1u << 20) + MAX_PACKET)
#define POOL_MIN_ROOM (4u * MAX_PACKET)

/* Bail out of a function returning napi_value if a N-API call fails; the
 * failing call has left a pending exception (or we raise a generic one). */
#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      throw_if_none_pending(env, #call);                                       \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static void throw_if_none_pending(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    char msg[256];
    snprintf(msg, sizeof msg, "tun addon: %s failed: %s", what,
             info && info->error_message ? info->error_message : "N-API error");
    napi_throw_error(env, NULL, msg);
  }
}

/* The symbolic errno name ("EBUSY") is what JS code branches on. */
static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  const char *name = strerrorname_np(err);
  if (name)
    return name;
#endif
  return uv_err_name(-err);
}

/* Builds an Error with .code = errno name and a printf-style one-line message. */
static napi_value make_errno_error(napi_env env, int err, const char *fmt,
                                   va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  napi_value code, message, error;
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code) !=
          napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) !=
          napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok)
    return NULL;
  napi_value errnum;
  if (napi_create_int32(env, err, &errnum) == napi_ok)
    napi_set_named_property(env, error, "errno", errnum);
  return error;
}

static void throw_errno(napi_env env, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void throw_errno(napi_env env, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  napi_value error = make_errno_error(env, err, fmt, ap);
  va_end(ap);
  if (error)
    napi_throw(env, error);
  else
    throw_if_none_pending(env, "creating an Error");
}

/* ------------------------------------------------------------------ open */

/* The kernel's dev_valid_name() rules, checked up front so a bad name is
 * reported as such and never reaches a syscall. */
static int valid_ifname(const char *name, size_t len) {
  if (len == 0 || len >= IFNAMSIZ || strlen(name) != len)
    return 0;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return 0;
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
      return 0;
  return 1;
}

/* Opens /dev/net/tun, inside the network namespace at netns_path if given.
 * A TUN device belongs to the namespace that was current when /dev/net/tun
 * was opened, so only that open() runs in the target namespace; the thread
 * switches back immediately. Returns the fd or -1 (exception thrown). */
static int open_tun_fd(napi_env env, const char *name, const char *netns_path) {
  int saved = -1, target = -1, fd = -1, err = 0;

  if (netns_path) {
    saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) {
      err = errno;
      throw_errno(env, err, "cannot open the current network namespace: %s",
                  strerror(err));
      return -1;
    }
    target = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      err = errno;
      if (err == ENOENT)
        throw_errno(env, err,
                    "network namespace %s not found: create it with `ip netns "
                    "add NAME`",
                    netns_path);
      else
        throw_errno(env, err, "cannot open network namespace %s: %s",
                    netns_path, strerror(err));
      close(saved);
      return -1;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
      err = errno;
      if (err == EINVAL)
        throw_errno(env, err, "%s is not a network namespace", netns_path);
      else if (err == EPERM)
        throw_errno(env, err,
                    "not permitted to enter network namespace %s: run as root "
                    "or grant CAP_SYS_ADMIN",
                    netns_path);
      else
        throw_errno(env, err, "cannot enter network namespace %s: %s",
                    netns_path, strerror(err));
      close(target);
      close(saved);
      return -1;
    }
  }

  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  err = fd < 0 ? errno : 0;

  if (netns_path) {
    /* Running JS in the wrong namespace would silently misdirect every later
     * socket of this thread, so failing to come back is fatal. */
    if (setns(saved, CLONE_NEWNET) < 0)
      napi_fatal_error("tun.open", NAPI_AUTO_LENGTH,
                       "cannot return to the original network namespace",
                       NAPI_AUTO_LENGTH);
    close(target);
    close(saved);
  }

  if (fd < 0) {
    if (err == ENOENT || err == ENODEV || err == ENXIO)
      throw_errno(env, err,
                  "/dev/net/tun not found: load the tun module (modprobe tun) "
                  "or give the container the device");
    else if (err == EPERM || err == EACCES)
      throw_errno(env, err,
                  "not permitted to create TUN device %s: run as root or grant "
                  "CAP_NET_ADMIN",
                  name);
    else
      throw_errno(env, err, "cannot open /dev/net/tun: %s", strerror(err));
    return -1;
  }
  return fd;
}

/* Explains a failed TUNSETIFF. Codes measured on Linux 6.18: an existing
 * name with IFF_TUN_EXCL is EBUSY; attaching to a TUN another fd holds is
 * EBUSY; attaching to a non-TUN device (or a TAP) is EINVAL. */
static void throw_setiff(napi_env env, int err, const char *name, int attach) {
  if (err == EPERM || err == EACCES)
    throw_errno(env, err,
                "not permitted to %s TUN device %s: run as root or grant "
                "CAP_NET_ADMIN",
                attach ? "attach to" : "create", name);
  else if (!attach && (err == EBUSY || err == EEXIST))
    throw_errno(env, err,
                "a network device named %s already exists: use --attach for a "
                "persistent TUN device or choose another --tun name",
                name);
  else if (attach && err == EBUSY)
    throw_errno(env, err,
                "TUN device %s is busy: another process has it open (choose "
                "another --tun name)",
                name);
  else if (attach && err == EINVAL)
    throw_errno(env, err,
                "network device %s exists but is not a single-queue TUN "
                "device: choose another --tun name",
                name);
  else if (err == EINVAL)
    throw_errno(env, err, "invalid interface name '%s': 1-15 characters, no "
                          "'/' or spaces",
                name);
  else
    throw_errno(env, err, "cannot %s TUN device %s: %s",
                attach ? "attach to" : "create", name, strerror(err));
}

/* open(name, netnsPath | null, attach) -> { fd, name } */
/* Turns on the virtio_net_hdr and the offloads on an attached fd. */
static int set_offloads(int fd) {
  int hdr = VNET_HDR_LEN;
  return ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0 && ioctl(fd, TUNSETOFFLOAD, TUN_OFFLOADS) == 0;
}

/* open(name, netnsPath, attach, offload) -> { fd, name, offload } */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "open(name, netnsPath, attach, offload) takes 3 or 4 arguments");
    return NULL;
  }

  napi_valuetype type;
  NAPI_CALL(env, napi_typeof(env, argv[0], &type));
  if (type != napi_string) {
    napi_throw_type_error(env, NULL, "name must be a string");
    return NULL;
  }
  /* Measure first: an over-long name must be rejected, not truncated. */
  size_t len = 0;
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &len));
  char name[IFNAMSIZ] = {0};
  char shown[64] = {0};
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], shown, sizeof shown, NULL));
  if (len >= IFNAMSIZ || !valid_ifname(shown, len)) {
    throw_errno(env, EINVAL,
                "invalid interface name '%s%s': 1-15 characters, no '/' or "
                "spaces",
                shown, len >= sizeof shown ? "..." : "");
    return NULL;
  }
  memcpy(name, shown, len + 1);

  char netns[4096];
  const char *netns_path = NULL;
  NAPI_CALL(env, napi_typeof(env, argv[1], &type));
  if (type == napi_string) {
    size_t plen = 0;
    NAPI_CALL(env, napi_get_value_string_utf8(env, argv[1], netns, sizeof netns, &plen));
    if (plen == 0 || plen >= sizeof netns - 1 || strlen(netns) != plen) {
      throw_errno(env, EINVAL, "invalid network namespace path");
      return NULL;
    }
    netns_path = netns;
  } else if (type != napi_null && type != napi_undefined) {
    napi_throw_type_error(env, NULL, "netnsPath must be a string or null");
    return NULL;
  }

  bool attach = false;
  NAPI_CALL(env, napi_get_value_bool(env, argv[2], &attach));
  bool offload = false;
  if (argc >= 4)
    NAPI_CALL(env, napi_get_value_bool(env, argv[3], &offload));

  int fd = open_tun_fd(env, name, netns_path);
  if (fd < 0)
    return NULL;

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  /* EXCL: creating must never silently attach to someone else's device.
   * IFF_VNET_HDR is taken on every attach, also to a device created without
   * it (tun_set_iff replaces the feature flags; test/tun/vnet-hdr.test.ts). */
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (attach ? 0 : IFF_TUN_EXCL) | (offload ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, len + 1);
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (offload && (rc < 0 ? errno == EINVAL : !set_offloads(fd))) {
    /* A kernel or device that refuses the header or the offloads: plain
     * packets on a fresh fd (the flags of an attached fd cannot change;
     * closing a device we had just created removes it again). */
    close(fd);
    offload = false;
    fd = open_tun_fd(env, name, netns_path);
    if (fd < 0)
      return NULL;
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (attach ? 0 : IFF_TUN_EXCL);
    rc = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (rc < 0) {
    int err = errno;
    close(fd);
    throw_setiff(env, err, name, attach);
    return NULL;
  }

  if (attach) {
    /* Without EXCL, TUNSETIFF creates the device when it does not exist.
     * A device that is not persistent was just made by us, so the name was
     * wrong: closing the fd destroys that temporary device again. */
    struct ifreq got;
    memset(&got, 0, sizeof got);
    if (ioctl(fd, TUNGETIFF, &got) < 0) {
      int err = errno;
      close(fd);
      throw_errno(env, err, "cannot query TUN device %s: %s", name, strerror(err));
      return NULL;
    }
    if (!(got.ifr_flags & IFF_PERSIST)) {
      close(fd);
      throw_errno(env, ENODEV,
                  "no persistent TUN device %s in this namespace: create one "
                  "with `ip tuntap add dev %s mode tun` or use --create",
                  name, name);
      return NULL;
    }
  }

  napi_value result, jfd, jname, joffload;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_int32(env, fd, &jfd) != napi_ok ||
      napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &jname) != napi_ok ||
      napi_get_boolean(env, offload, &joffload) != napi_ok ||
      napi_set_named_property(env, result, "fd", jfd) != napi_ok ||
      napi_set_named_property(env, result, "name", jname) != napi_ok ||
      napi_set_named_property(env, result, "offload", joffload) != napi_ok) {
    close(fd);
    throw_if_none_pending(env, "building open()'s result");
    return NULL;
  }
  return result;
}

/* ------------------------------------------------------------ I/O counts */

/* For the whole process, every device: read() and write() calls on TUN fds
 * (each attempt, EAGAIN and EINTR included). Doubles: exact to 2^53, and
 * what JS takes. */
static struct {
  double read_calls;
  double write_calls;
} io_counts;

/* ioCounts() -> { readCalls, writeCalls } */
static napi_value tun_io_counts(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, v;
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_double(env, io_counts.read_calls, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "readCalls", v));
  NAPI_CALL(env, napi_create_double(env, io_counts.write_calls, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "writeCalls", v));
  return result;
}

/* --------------------------------------------------------------- reading */

typedef struct {
  uv_poll_t poll;            /* first member: the uv handle maps to the reader */
  napi_env env;
  napi_ref on_packets;       /* (buf, lengths, count) => void */
  napi_ref on_error;         /* (err) => void */
  napi_async_context async;  /* so async_hooks / AsyncLocalStorage see batches */
  napi_ref pool;             /* the ArrayBuffer packets are read into */
  unsigned char *pool_data;  /* its bytes (a backing store never moves) */
  size_t pool_used;          /* bytes handed to JS; the rest is free */
  uint32_t lengths[MAX_BATCH];
  uint32_t rx_meta[MAX_BATCH]; /* gso_size | RX_CSUM_TRUSTED */
  int fd;
  int vnet;                  /* each packet comes behind a virtio_net_hdr */
  int polling;               /* uv_poll_start is in effect */
  int closing;               /* uv_close has been called */
  int close_done;            /* libuv is done with the handle memory */
  int external_gone;         /* the JS handle was finalized */
  int in_callback;           /* JS is running on our async context */
} reader_t;

static void maybe_free(reader_t *r) {
  if (r->close_done && r->external_gone)
    free(r);
}

static void on_closed(uv_handle_t *h) {
  reader_t *r = (reader_t *)h;
  r->close_done = 1;
  maybe_free(r);
}

/* Releases everything but the struct itself (that waits for libuv's close
 * callback and the JS handle's finalizer, whichever comes last). */
static void reader_stop(reader_t *r) {
  if (r->closing)
    return;
  r->closing = 1;
  if (r->polling)
    uv_poll_stop(&r->poll);
  r->polling = 0;
  uv_close((uv_handle_t *)&r->poll, on_closed);
  if (r->on_packets)
    napi_delete_reference(r->env, r->on_packets);
  if (r->on_error)
    napi_delete_reference(r->env, r->on_error);
  /* A callback may stop its own reader; its async context is still in use
   * by napi_make_callback then, so on_readable destroys it afterwards. */
  if (r->async && !r->in_callback) {
    napi_async_destroy(r->env, r->async);
    r->async = NULL;
  }
  r->on_packets = r->on_error = NULL;
  if (r->pool)
    napi_delete_reference(r->env, r->pool);
  r->pool = NULL;
  r->pool_data = NULL;
}

static void reader_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  reader_t *r = data;
  reader_stop(r);
  r->external_gone = 1;
  maybe_free(r);
}

/* Calls a JS callback as a top-level async callback (drains nextTicks and
 * microtasks afterwards). A throwing callback becomes an uncaught exception
 * rather than vanishing inside the uv callback. */
static void call_js(reader_t *r, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = r->env;
  napi_value fn, recv, result;
  /* make_callback needs an object receiver; undefined would throw. */
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok ||
      fn == NULL || napi_get_global(env, &recv) != napi_ok)
    return;
  r->in_callback++;
  napi_status st = napi_make_callback(env, r->async, recv, fn, argc, argv, &result);
  r->in_callback--;
  if (st != napi_ok) {
    napi_value exc;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok)
      napi_fatal_exception(env, exc);
  }
}

static napi_value errno_error(napi_env env, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  napi_value e = make_errno_error(env, err, fmt, ap);
  va_end(ap);
  return e;
}

/* The TCP segment of an unfragmented IPv4 TCP packet: its offset (the IP
 * header's length) and length; 0 when p is not one. */
static size_t ipv4_tcp_segment(const unsigned char *p, size_t len, size_t *tcp_len) {
  if (len < 40 || (p[0] >> 4) != 4 || p[9] != 6 /* TCP */)
    return 0;
  size_t ihl = (size_t)(p[0] & 15) * 4;
  size_t total = ((size_t)p[2] << 8) | p[3];
  if (ihl < 20 || total < ihl + 20 || total > len)
    return 0;
  if ((p[6] & 0x3f) != 0 || p[7] != 0)
    return 0; /* MF or a fragment offset: the checksum covers the whole datagram */
  *tcp_len = total - ihl;
  return ihl;
}

/* The TCP segment of an IPv6 packet whose fixed header names TCP (RFC 8200
 * §3): at 40, as long as the payload length says. The stack never puts an
 * extension header before TCP; a packet with one (or a fragment, or a
 * jumbogram's payload length of 0) is not one of these, and is left to
 * JavaScript. */
static size_t ipv6_tcp_segment(const unsigned char *p, size_t len, size_t *tcp_len) {
  if (len < 60 || p[6] != 6 /* TCP */)
    return 0;
  size_t payload = ((size_t)p[4] << 8) | p[5];
  if (payload < 20 || 40 + payload > len)
    return 0;
  *tcp_len = payload;
  return 40;
}

/* Either of the above, by the version nibble: the offset of the TCP header
 * (0 for no such packet), the segment's length in *tcp_len, and in *addr /
 * *addr_end where the source and destination addresses lie, which the
 * pseudo-header sums with 6 (TCP) and the segment's length (RFC 9293 §3.1;
 * RFC 8200 §8.1, whose 32-bit length of a segment under 64 KiB sums the
 * same). */
static size_t tcp_segment(const unsigned char *p, size_t len, size_t *tcp_len, size_t *addr, size_t *addr_end) {
  if (len > 0 && (p[0] >> 4) == 6) {
    *addr = 8;
    *addr_end = 40;
    return ipv6_tcp_segment(p, len, tcp_len);
  }
  *addr = 12;
  *addr_end = 20;
  return ipv4_tcp_segment(p, len, tcp_len);
}

/* Adds n bytes as big-endian 16-bit words (an odd last byte padded). */
static uint64_t sum_words(const unsigned char *t, size_t n, uint64_t sum) {
  size_t i = 0;
  for (; i + 1 < n; i += 2)
    sum += ((uint32_t)t[i] << 8) | t[i + 1];
  if (i < n)
    sum += (uint32_t)t[i] << 8;
  return sum;
}

static uint32_t fold16(uint64_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint32_t)sum;
}

/* Whether p is an unfragmented IPv4 TCP packet, or an IPv6 one with TCP
 * after the fixed header, whose TCP checksum verifies: the ones' complement
 * sum of the pseudo-header and the segment folds to 0xffff. A packet that
 * fails, or that is neither, is left to JavaScript, which checks it and
 * counts what fails. */
static int tcp_csum_ok(const unsigned char *p, size_t len) {
  size_t tcp_len, addr, addr_end;
  size_t at = tcp_segment(p, len, &tcp_len, &addr, &addr_end);
  if (at == 0)
    return 0;
  /* The loops inline, not sum_words: with it, a 1-byte round trip on one
   * CPU took 0.3-0.5 us longer (interleaved runs); why was not found. */
  uint64_t sum = 6 + tcp_len;
  for (size_t i = addr; i < addr_end; i += 2)
    sum += ((uint32_t)p[i] << 8) | p[i + 1];
  const unsigned char *t = p + at;
  size_t i = 0;
  for (; i + 1 < tcp_len; i += 2)
    sum += ((uint32_t)t[i] << 8) | t[i + 1];
  if (i < tcp_len)
    sum += (uint32_t)t[i] << 8;
  return fold16(sum) == 0xffff;
}

/* Completes the checksum of a TCP packet (as tcp_csum_ok takes them: IPv4
 * unfragmented, IPv6 with TCP after the fixed header) whose field holds the
 * folded pseudo-header sum (TX_CSUM_PARTIAL: what a device with
 * NETIF_F_HW_CSUM does for a CHECKSUM_PARTIAL skb): the sum over the
 * segment, field included, complemented into the field. The pseudo-header
 * is already in the field, so the family matters only for finding the
 * segment. 0 when p is not such a packet. */
static int tcp_csum_complete(unsigned char *p, size_t len) {
  size_t tcp_len, addr, addr_end;
  size_t at = tcp_segment(p, len, &tcp_len, &addr, &addr_end);
  if (at == 0)
    return 0;
  uint32_t csum = ~fold16(sum_words(p + at, tcp_len, 0)) & 0xffff;
  p[at + 16] = (unsigned char)(csum >> 8);
  p[at + 17] = (unsigned char)csum;
  return 1;
}

/* A pool with room for a batch: the current one, or a new ArrayBuffer once
 * less than POOL_MIN_ROOM is left. The old pool lives on while JS holds views
 * of it (TCP keeps views of received data, stack/tcp/buffers.ts). Returns 0
 * when V8 could not allocate one. */
static int pool_ready(reader_t *r) {
  if (r->pool != NULL && POOL_SIZE - r->pool_used >= POOL_MIN_ROOM)
    return 1;
  napi_value ab;
  void *data = NULL;
  napi_ref ref;
  if (napi_create_arraybuffer(r->env, POOL_SIZE, &data, &ab) != napi_ok ||
      napi_create_reference(r->env, ab, 1, &ref) != napi_ok) {
    napi_value ignored; /* V8's RangeError: the read error reports it instead */
    napi_get_and_clear_last_exception(r->env, &ignored);
    return 0;
  }
  if (r->pool)
    napi_delete_reference(r->env, r->pool);
  r->pool = ref;
  r->pool_data = data;
  r->pool_used = 0;
  return 1;
}

/* Reads every ready packet (bounded) into the pool and hands them to JS as
 * one batch; `backlogged` says the read came at once after JS had handled
 * the previous batch of this wake-up, so these packets came while it was
 * being handled (or were waiting behind it, when it was full). Returns the
 * number of packets; *err is set on a hard read error. */
static uint32_t read_batch(reader_t *r, int backlogged, int *err) {
  napi_env env = r->env;
  size_t used = 0;
  uint32_t count = 0;
  if (!pool_ready(r)) {
    *err = ENOMEM;
    return 0;
  }
  unsigned char *base = r->pool_data + r->pool_used;
  size_t room = POOL_SIZE - r->pool_used;
  while (!*err && count < MAX_BATCH && room - used >= MAX_PACKET) {
    io_counts.read_calls++;
    ssize_t n;
    struct virtio_net_hdr vh;
    if (r->vnet) {
      /* The header apart, the packet straight into the pool. */
      struct iovec iov[2] = {{&vh, VNET_HDR_LEN}, {base + used, MAX_PACKET}};
      n = readv(r->fd, iov, 2);
    } else {
      n = read(r->fd, base + used, MAX_PACKET);
    }
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        *err = errno;
      break;
    }
    if (n == 0)
      break;
    uint32_t meta = 0;
    if (r->vnet) {
      if (n <= VNET_HDR_LEN)
        continue; /* nothing behind the header: not a packet */
      n -= VNET_HDR_LEN;
      meta = vh.gso_type == VIRTIO_NET_HDR_GSO_NONE ? 0 : vh.gso_size;
      if (vh.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
        meta |= RX_CSUM_TRUSTED;
    }
    if (!(meta & RX_CSUM_TRUSTED) && tcp_csum_ok(base + used, (size_t)n))
      meta |= RX_CSUM_TRUSTED;
    r->rx_meta[count] = meta;
    r->lengths[count++] = (uint32_t)n;
    used += (size_t)n;
  }
  if (count > 0) {
    /* The batch: a view of the bytes just read, which are JS's from now on
     * (the pool's free part begins after them, 8-byte aligned). */
    size_t start = r->pool_used;
    size_t next = start + ((used + 7) & ~(size_t)7);
    r->pool_used = next < POOL_SIZE ? next : POOL_SIZE;
    /* lengths, then the per-packet metadata, in one array. */
    uint32_t words = 2 * count;
    napi_value argv[4], pool, ab;
    void *lens = NULL;
    if (napi_get_reference_value(env, r->pool, &pool) == napi_ok &&
        napi_create_typedarray(env, napi_uint8_array, used, pool, start, &argv[0]) == napi_ok &&
        napi_create_arraybuffer(env, words * sizeof(uint32_t), &lens, &ab) == napi_ok &&
        napi_create_typedarray(env, napi_uint32_array, words, ab, 0, &argv[1]) == napi_ok &&
        napi_create_uint32(env, count, &argv[2]) == napi_ok &&
        napi_get_boolean(env, backlogged, &argv[3]) == napi_ok) {
      memcpy(lens, r->lengths, count * sizeof(uint32_t));
      memcpy((uint32_t *)lens + count, r->rx_meta, count * sizeof(uint32_t));
      call_js(r, r->on_packets, 4, argv);
    }
  }
  return count;
}

/* Each wake-up reads a batch, and once JS has handled it reads again at
 * once: what came meanwhile is handed over without a trip through the event
 * loop, marked as backlogged. Bounded, so that timers and other fds still
 * get their turn under a steady stream. */
#define MAX_ROUNDS 16

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  reader_t *r = (reader_t *)h;
  if (r->closing)
    return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok)
    return;

  int err = status < 0 ? -status : 0;
  for (int round = 0; round < MAX_ROUNDS && !err && !r->closing; round++) {
    /* A fresh scope per round: the previous round's values can go. */
    napi_handle_scope round_scope;
    if (napi_open_handle_scope(env, &round_scope) != napi_ok)
      break;
    uint32_t count = read_batch(r, round > 0, &err);
    napi_close_handle_scope(env, round_scope);
    if (count == 0)
      break;
  }

  /* After a hard error the poll stays stopped: a dead device (EBADF once it
   * was deleted) would otherwise report readable forever and spin the loop.
   * The packet callback may have stopped the reader already. */
  if (err && !r->closing) {
    if (r->polling) {
      uv_poll_stop(&r->poll);
      r->polling = 0;
    }
    napi_value argv[1];
    argv[0] = errno_error(env, err, "reading from the TUN device failed: %s; reading stopped",
                          strerror(err));
    if (argv[0])
      call_js(r, r->on_error, 1, argv);
  }
  if (r->closing && r->async) {
    napi_async_destroy(env, r->async);
    r->async = NULL;
  }
  napi_close_handle_scope(env, scope);
}

static int get_fd(napi_env env, napi_value v, int *fd) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number ||
      napi_get_value_int32(env, v, fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return 0;
  }
  return 1;
}

static int is_function(napi_env env, napi_value v) {
  napi_valuetype type;
  return napi_typeof(env, v, &type) == napi_ok && type == napi_function;
}

/* startReading(fd, onPackets, onError, vnet) -> handle */
static napi_value tun_start_reading(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "startReading(fd, onPackets, onError) takes 3 arguments");
    return NULL;
  }
  if (!get_fd(env, argv[0], &fd))
    return NULL;
  if (!is_function(env, argv[1]) || !is_function(env, argv[2])) {
    napi_throw_type_error(env, NULL, "onPackets and onError must be functions");
    return NULL;
  }
  bool vnet = false;
  if (argc >= 4)
    NAPI_CALL(env, napi_get_value_bool(env, argv[3], &vnet));

  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));

  reader_t *r = calloc(1, sizeof *r);
  if (!r) {
    throw_errno(env, ENOMEM, "cannot allocate the TUN reader");
    return NULL;
  }
  r->env = env;
  r->fd = fd;
  r->vnet = vnet;

  int rc = uv_poll_init(loop, &r->poll, fd);
  if (rc < 0) {
    /* Never initialised, so there is no handle to close. */
    free(r);
    if (rc == UV_EEXIST)
      throw_errno(env, -rc, "fd %d is already being read: stop that reader first", fd);
    else
      throw_errno(env, -rc, "cannot watch fd %d: %s", fd, uv_strerror(rc));
    return NULL;
  }
  /* From here on the handle is live: every failure goes through reader_stop,
   * which closes it, and the struct is freed by on_closed. */
  r->external_gone = 1;

  napi_value name, handle;
  if (napi_create_reference(env, argv[1], 1, &r->on_packets) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &r->on_error) != napi_ok ||
      napi_create_string_utf8(env, "TunReader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &r->async) != napi_ok) {
    reader_stop(r);
    throw_if_none_pending(env, "startReading setup");
    return NULL;
  }
  rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (rc < 0) {
    reader_stop(r);
    throw_errno(env, -rc, "cannot watch fd %d: %s", fd, uv_strerror(rc));
    return NULL;
  }
  r->polling = 1;

  r->external_gone = 0;
  if (napi_create_external(env, r, reader_finalize, NULL, &handle) != napi_ok) {
    r->external_gone = 1;
    reader_stop(r);
    throw_if_none_pending(env, "startReading handle");
    return NULL;
  }
  return handle;
}

/* stopReading(handle): safe to call twice. */
static napi_value tun_stop_reading(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type;
  void *data = NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "stopReading expects a handle from startReading");
    return NULL;
  }
  reader_stop(data);
  return NULL;
}

/* --------------------------------------------------------------- writing */

/* The virtio_net_hdr for a packet of ours. `gso_size` 0 and not `partial`:
 * a whole packet, its checksums complete. Otherwise a TCP packet (IPv4 or
 * IPv6, by the version nibble) whose checksum field holds the pseudo-header
 * sum, which the kernel completes (CHECKSUM_PARTIAL from csum_start, the
 * TCP header, at csum_offset 16); with a `gso_size`, a super-segment it
 * also cuts into segments of that size. */
static int vnet_header_for(struct virtio_net_hdr *vh, const uint8_t *p, size_t len, uint32_t gso_size, int partial) {
  memset(vh, 0, sizeof *vh);
  if (gso_size == 0 && !partial)
    return 1;
  size_t l3;
  uint8_t gso_type;
  if (len >= 20 && p[0] >> 4 == 4 && p[9] == 6) {
    l3 = (size_t)(p[0] & 15) * 4;
    gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  } else if (len >= 40 && p[0] >> 4 == 6 && p[6] == 6) {
    l3 = 40;
    gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
  } else {
    return 0;
  }
  if (len < l3 + 20)
    return 0;
  size_t l4 = (size_t)(p[l3 + 12] >> 4) * 4;
  if (l4 < 20 || len < l3 + l4 || gso_size > 0xffff)
    return 0;
  vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh->gso_type = gso_size != 0 ? gso_type : VIRTIO_NET_HDR_GSO_NONE;
  vh->hdr_len = (uint16_t)(l3 + l4);
  vh->gso_size = (uint16_t)gso_size;
  vh->csum_start = (uint16_t)l3;
  vh->csum_offset = 16;
  return 1;
}

/* writeBatch(fd, packets: Uint8Array[], vnet?, txMeta?) -> number written.
 * One write() per packet: a TUN fd takes exactly one packet per call. With
 * `vnet` (a device opened with offload) each goes behind its virtio_net_hdr
 * in one writev. txMeta[i] (stack/link.ts): a GSO size in the low 16 bits
 * makes packet i a TCP super-segment; TX_CSUM_PARTIAL, a TCP checksum to
 * complete (the kernel does, told by the header, with `vnet`; we do here,
 * in C, without). */
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "writeBatch(fd, packets, vnet, txMeta) takes 2 to 4 arguments");
    return NULL;
  }
  if (!get_fd(env, argv[0], &fd))
    return NULL;
  bool vnet = false;
  if (argc >= 3)
    NAPI_CALL(env, napi_get_value_bool(env, argv[2], &vnet));
  /* txMeta: a Uint32Array as long as packets, or absent (all whole, checksums complete). */
  uint32_t *meta_words = NULL;
  size_t meta_count = 0;
  if (argc >= 4) {
    napi_valuetype gt;
    NAPI_CALL(env, napi_typeof(env, argv[3], &gt));
    if (gt != napi_undefined && gt != napi_null) {
      bool is_ta = false;
      napi_typedarray_type ta_type;
      void *gdata = NULL;
      if (napi_is_typedarray(env, argv[3], &is_ta) != napi_ok || !is_ta ||
          napi_get_typedarray_info(env, argv[3], &ta_type, &meta_count, &gdata, NULL, NULL) != napi_ok ||
          ta_type != napi_uint32_array) {
        napi_throw_type_error(env, NULL, "txMeta must be a Uint32Array");
        return NULL;
      }
      meta_words = gdata;
    }
  }
  bool is_array = false;
  NAPI_CALL(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, NULL, "packets must be an array of Uint8Array");
    return NULL;
  }
  uint32_t n = 0;
  NAPI_CALL(env, napi_get_array_length(env, argv[1], &n));

  uint32_t written = 0;
  for (uint32_t i = 0; i < n; i++) {
    /* A scope per packet keeps handle usage flat for large batches. */
    napi_handle_scope scope;
    NAPI_CALL(env, napi_open_handle_scope(env, &scope));
    napi_value item;
    bool is_ta = false;
    napi_typedarray_type ta_type;
    size_t len = 0;
    void *data = NULL;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok ||
        napi_is_typedarray(env, item, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, item, &ta_type, &len, &data, NULL, NULL) != napi_ok ||
        ta_type != napi_uint8_array) {
      napi_close_handle_scope(env, scope);
      napi_throw_type_error(env, NULL, "packets must be an array of Uint8Array");
      return NULL;
    }

    /* Written while the scope still holds `item`, so `data` stays valid. */
    ssize_t rc;
    struct virtio_net_hdr vh;
    uint32_t meta = meta_words != NULL && i < meta_count ? meta_words[i] : 0;
    uint32_t gso_size = meta & TX_GSO_SIZE_MASK;
    int partial = (meta & TX_CSUM_PARTIAL) != 0;
    if (gso_size != 0 && (!vnet || !vnet_header_for(&vh, data, len, gso_size, 1))) {
      napi_close_handle_scope(env, scope);
      throw_errno(env, EINVAL, "packet %u of %u: a GSO size %u needs a device opened with offload and a TCP packet",
                  i, n, gso_size);
      return NULL;
    }
    if (gso_size == 0 && (vnet ? !vnet_header_for(&vh, data, len, 0, partial) : partial && !tcp_csum_complete(data, len))) {
      napi_close_handle_scope(env, scope);
      throw_errno(env, EINVAL, "packet %u of %u: a partial checksum on a packet that is not %s", i, n,
                  vnet ? "TCP" : "unfragmented IPv4 TCP or IPv6 TCP after the fixed header");
      return NULL;
    }
    struct iovec iov[2] = {{&vh, VNET_HDR_LEN}, {data, len}};
    do {
      io_counts.write_calls++;
      rc = vnet ? writev(fd, iov, 2) : write(fd, data, len);
    } while (rc < 0 && errno == EINTR);
    int err = rc < 0 ? errno : 0;
    napi_close_handle_scope(env, scope);
    if (rc >= 0) {
      written++;
      continue;
    }
    /* Queue full: the kernel side is not keeping up; drop like a NIC would. */
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
      continue;
    napi_value error = errno_error(env, err, "writing packet %u of %u to the TUN device failed: %s",
                                   i, n, strerror(err));
    /* Let the caller account for the batch and resume after the bad one. */
    napi_value jw, ji;
    if (error && napi_create_uint32(env, written, &jw) == napi_ok &&
        napi_create_uint32(env, i, &ji) == napi_ok) {
      napi_set_named_property(env, error, "written", jw);
      napi_set_named_property(env, error, "index", ji);
    }
    if (error)
      napi_throw(env, error);
    else
      throw_if_none_pending(env, "creating an Error");
    return NULL;
  }
  napi_value result;
  NAPI_CALL(env, napi_create_uint32(env, written, &result));
  return result;
}

/* close(fd) */
static napi_value tun_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd(env, argv[0], &fd))
    return NULL;
  /* Linux releases the fd even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) {
    int err = errno;
    throw_errno(env, err, "closing TUN fd %d failed: %s", fd, strerror(err));
  }
  return NULL;
}

/* ----------------------------------------------------------------- module */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startReading", NULL, tun_start_reading, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopReading", NULL, tun_stop_reading, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeBatch", NULL, tun_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioCounts", NULL, tun_io_counts, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
