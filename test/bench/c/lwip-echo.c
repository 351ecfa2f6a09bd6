/*
 * lwip-echo: a TCP echo server (RFC 862) on Debian's lwIP 2.1.3 (liblwip-dev)
 * over an existing Linux TUN device: a benchmark peer beside the kernel and
 * our stack.
 *
 *   lwip-echo --tun NAME --addr A.B.C.D --port N
 *
 * Attaches to TUN device NAME (layer 3, IFF_TUN | IFF_NO_PI: no ARP), gives
 * lwIP's netif A.B.C.D/24, listens on port N, prints `ready` on stdout and
 * echoes until SIGTERM/SIGINT/SIGHUP, then exits 0. Errors: one line on
 * stderr, exit 1; bad usage: exit 2. A connection's FIN follows the peer's,
 * after the last byte echoed, as in the other peers' echo servers.
 *
 * Threads. The library is built with NO_SYS=0 (lwIP's unix port: pthreads,
 * a tcpip thread for timers) and LWIP_TCPIP_CORE_LOCKING=1, assertions on:
 * any call into the core without the core lock aborts ("Function called
 * without core lock"). So:
 *   - main: tcpip_init(), then, under LOCK_TCPIP_CORE, the netif and the
 *     listener (raw API: tcp_new/tcp_bind/tcp_listen/tcp_accept);
 *   - reader thread: blocking read() on the TUN fd, then, under the lock,
 *     pbuf_alloc + netif->input (ip_input) per packet: no tcpip_input()
 *     mailbox hop and thread switch per packet;
 *   - tcpip thread: lwIP's timers, run holding the lock.
 * The raw-API callbacks (accept/recv/sent/err) and netif->output therefore
 * always run under the core lock and call tcp_write/tcp_output/tcp_recved
 * directly.
 *
 * Compiled options that matter (/usr/include/lwip/lwipopts.h, lwip/opt.h):
 * TCP_MSS 1460; TCP_WND 0xFFFF (LWIP_WND_SCALE 1, TCP_RCV_SCALE 1, but the
 * window is still 65535 bytes); TCP_SND_BUF 65535; TCP_SND_QUEUELEN 180;
 * MEM_LIBC_MALLOC 1 and MEMP_MEM_MALLOC 1 (heap and pools from malloc(), so
 * MEM_SIZE 1600, PBUF_POOL_SIZE 16 and MEMP_NUM_TCP_PCB 5 bound nothing);
 * TCP_LISTEN_BACKLOG 0; software checksums, LWIP_CHECKSUM_ON_COPY 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

static int tun_fd = -1;
static struct netif tun_netif;

static void fail(const char *what)
{
  fprintf(stderr, "lwip-echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- the TUN netif ---------------------------------------------------- */

/* netif->output: called by lwIP (core lock held) with one IPv4 packet. The
 * library sets LWIP_NETIF_TX_SINGLE_PBUF, so p is normally one pbuf; a chain
 * is copied into one buffer, since a TUN write must be the whole packet. */
static err_t tun_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
  static unsigned char buf[65536];
  const void *data = p->payload;
  (void)netif;
  (void)dst;
  if (p->next != NULL) { /* tot_len is a u16_t: it fits */
    pbuf_copy_partial(p, buf, p->tot_len, 0);
    data = buf;
  }
  /* A full TUN queue drops the packet; TCP retransmits, as on a real link. */
  if (write(tun_fd, data, p->tot_len) < 0)
    return ERR_IF;
  return ERR_OK;
}

static err_t tun_netif_init(struct netif *netif)
{
  netif->name[0] = 't';
  netif->name[1] = 'n';
  netif->output = tun_output;
  netif->flags = NETIF_FLAG_LINK_UP; /* no ETHARP, no BROADCAST: layer 3 */
  return ERR_OK;
}

/* Reader thread: one TUN packet per read(); each goes into lwIP under the
 * core lock. netif->input is ip_input (set in netif_add). */
static void *tun_reader(void *arg)
{
  static unsigned char buf[65536];
  (void)arg;
  for (;;) {
    ssize_t n = read(tun_fd, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        fail("read from TUN");
      continue;
    }
    LOCK_TCPIP_CORE();
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
    if (p != NULL) {
      memcpy(p->payload, buf, (size_t)n);
      if (tun_netif.input(p, &tun_netif) != ERR_OK)
        pbuf_free(p);
    }
    UNLOCK_TCPIP_CORE();
  }
  return NULL;
}

/* ---- the echo service (raw API; every function runs under the core lock) */

struct echo {
  struct pbuf *pending; /* received, not yet handed to tcp_write */
  u16_t offset;         /* bytes of pending's first pbuf already written */
  int peer_closed;      /* the peer's FIN came */
};

static void echo_free(struct echo *es)
{
  if (es->pending != NULL)
    pbuf_free(es->pending);
  free(es);
}

/* Detaches the state and closes (our FIN after the echoed data). Returns
 * ERR_ABRT if the pcb had to be aborted: the callback must then return it. */
static err_t echo_close(struct tcp_pcb *pcb, struct echo *es)
{
  tcp_arg(pcb, NULL);
  tcp_recv(pcb, NULL);
  tcp_sent(pcb, NULL);
  tcp_err(pcb, NULL);
  echo_free(es);
  if (tcp_close(pcb) != ERR_OK) {
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  return ERR_OK;
}

/* Copies as much of the pending data into the send buffer as fits, opens the
 * receive window by what was copied (so a slow reader of the echo throttles
 * the sender: backpressure through the window), and sends. */
static err_t echo_flush(struct tcp_pcb *pcb, struct echo *es)
{
  u32_t copied = 0;
  while (es->pending != NULL) {
    struct pbuf *q = es->pending;
    u16_t room = tcp_sndbuf(pcb);
    u16_t len = (u16_t)(q->len - es->offset);
    if (room == 0)
      break;
    if (len > room)
      len = room;
    u8_t flags = TCP_WRITE_FLAG_COPY;
    if (q->next != NULL || len < q->len - es->offset)
      flags |= TCP_WRITE_FLAG_MORE;
    err_t err = tcp_write(pcb, (u8_t *)q->payload + es->offset, len, flags);
    if (err == ERR_MEM)
      break; /* send queue full: sent_cb tries again */
    if (err != ERR_OK) {
      tcp_arg(pcb, NULL);
      echo_free(es);
      tcp_abort(pcb);
      return ERR_ABRT;
    }
    copied += len;
    es->offset = (u16_t)(es->offset + len);
    if (es->offset == q->len) {
      /* Drop the first pbuf of the chain and keep the rest. */
      es->pending = q->next;
      if (es->pending != NULL)
        pbuf_ref(es->pending);
      pbuf_free(q);
      es->offset = 0;
    }
  }
  if (copied > 0) {
    tcp_recved(pcb, (u16_t)copied); /* copied <= TCP_SND_BUF < 64 KiB */
    tcp_output(pcb);
  }
  if (es->pending == NULL && es->peer_closed)
    return echo_close(pcb, es);
  return ERR_OK;
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
  struct echo *es = arg;
  if (p == NULL) { /* the peer's FIN */
    es->peer_closed = 1;
    return echo_flush(pcb, es);
  }
  if (err != ERR_OK) {
    pbuf_free(p);
    return err;
  }
  if (es->pending == NULL)
    es->pending = p;
  else
    pbuf_cat(es->pending, p);
  return echo_flush(pcb, es);
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
  (void)len;
  return echo_flush(pcb, arg);
}

/* The pcb is already freed (RST, or a fatal error): only the state is ours. */
static void echo_err(void *arg, err_t err)
{
  (void)err;
  if (arg != NULL)
    echo_free(arg);
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
  (void)arg;
  if (err != ERR_OK || pcb == NULL)
    return ERR_VAL;
  struct echo *es = calloc(1, sizeof *es);
  if (es == NULL)
    return ERR_MEM; /* lwIP aborts the new connection */
  tcp_arg(pcb, es);
  tcp_recv(pcb, echo_recv);
  tcp_sent(pcb, echo_sent);
  tcp_err(pcb, echo_err);
  return ERR_OK;
}

/* ---- setup -------------------------------------------------------------- */

static void usage(void)
{
  fprintf(stderr, "usage: lwip-echo --tun NAME --addr A.B.C.D --port N\n");
  exit(2);
}

int main(int argc, char **argv)
{
  const char *tun = NULL, *addr = NULL, *port_s = NULL;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc)
      usage();
    if (strcmp(argv[i], "--tun") == 0)
      tun = argv[i + 1];
    else if (strcmp(argv[i], "--addr") == 0)
      addr = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      port_s = argv[i + 1];
    else
      usage();
  }
  ip4_addr_t ip, mask, gw;
  struct in_addr in;
  char *end;
  long port = port_s ? strtol(port_s, &end, 10) : 0;
  if (tun == NULL || addr == NULL || port_s == NULL || *end != '\0' || port < 1 ||
      port > 65535 || strlen(tun) >= IFNAMSIZ || inet_pton(AF_INET, addr, &in) != 1)
    usage();
  ip4_addr_set_u32(&ip, in.s_addr); /* both in network order */
  IP4_ADDR(&mask, 255, 255, 255, 0);
  ip4_addr_set_zero(&gw);

  /* Attach to the existing TUN device, and take its MTU for the netif.
   * TUNSETIFF would create a missing device: refuse one that is not there. */
  if (if_nametoindex(tun) == 0) {
    fprintf(stderr, "lwip-echo: no TUN device %s\n", tun);
    return 1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, tun);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  tun_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (tun_fd < 0)
    fail("open /dev/net/tun");
  if (ioctl(tun_fd, TUNSETIFF, &ifr) < 0)
    fail(tun);
  u16_t mtu = 1500;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0 && ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 576 &&
      ifr.ifr_mtu <= 65535)
    mtu = (u16_t)ifr.ifr_mtu;
  if (s >= 0)
    close(s);

  /* Threads inherit this mask: only sigwait() below sees the signals. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  /* tcpip_init runs lwip_init() here and starts the tcpip thread; from then
   * on the core is shared, so the setup takes the core lock. */
  tcpip_init(NULL, NULL);
  LOCK_TCPIP_CORE();
  int ok = netif_add(&tun_netif, &ip, &mask, &gw, NULL, tun_netif_init, ip_input) != NULL;
  if (ok) {
    tun_netif.mtu = mtu;
    netif_set_default(&tun_netif);
    netif_set_up(&tun_netif);
  }
  struct tcp_pcb *pcb = ok ? tcp_new_ip_type(IPADDR_TYPE_V4) : NULL;
  err_t err = pcb ? tcp_bind(pcb, IP4_ADDR_ANY, (u16_t)port) : ERR_MEM;
  struct tcp_pcb *listener = err == ERR_OK ? tcp_listen(pcb) : NULL;
  if (listener != NULL)
    tcp_accept(listener, echo_accept);
  UNLOCK_TCPIP_CORE();
  if (!ok || listener == NULL) {
    fprintf(stderr, "lwip-echo: cannot %s (lwIP error %d)\n",
            !ok ? "add the netif" : "listen on the port", (int)err);
    return 1;
  }

  pthread_t reader;
  errno = pthread_create(&reader, NULL, tun_reader, NULL);
  if (errno != 0)
    fail("pthread_create");

  printf("ready\n");
  fflush(stdout);

  int sig;
  sigwait(&sigs, &sig);
  return 0;
}
