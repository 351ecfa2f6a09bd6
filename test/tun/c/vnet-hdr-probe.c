/*
 * Can a program turn on IFF_VNET_HDR and TUN offloads when it attaches to a
 * TUN device created without them (`ip tuntap add dev NAME mode tun`)?
 * Offloads in the TUN addon (tun/src/tun.c) on an attached device would
 * depend on it. Attaches to
 * NAME with IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, sets a 12-byte
 * virtio_net_hdr (TUNSETVNETHDRSZ) and TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
 * (TUNSETOFFLOAD), and prints the device's flags as TUNGETIFF reports them:
 * "flags 0x... vnet_hdr on|off". Exit 1 with the call that failed.
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ) { fprintf(stderr, "usage: vnet-hdr-probe NAME\n"); return 2; }
  if (if_nametoindex(argv[1]) == 0) { fprintf(stderr, "vnet-hdr-probe: no device %s\n", argv[1]); return 1; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, argv[1]);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  int fd = open("/dev/net/tun", O_RDWR);
  int hdr = 12; /* struct virtio_net_hdr_v1 */
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("vnet-hdr-probe: TUNSETIFF"); return 1; }
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) { perror("vnet-hdr-probe: TUNSETVNETHDRSZ"); return 1; }
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) { perror("vnet-hdr-probe: TUNSETOFFLOAD"); return 1; }
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) { perror("vnet-hdr-probe: TUNGETIFF"); return 1; }
  printf("flags 0x%x vnet_hdr %s\n", (unsigned)ifr.ifr_flags, ifr.ifr_flags & IFF_VNET_HDR ? "on" : "off");
  return 0;
}
