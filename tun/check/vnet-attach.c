/*
 * Can a program turn on IFF_VNET_HDR and offloads when it attaches to a
 * persistent TUN device created without them (`ip tuntap add ... mode tun`)?
 * tun_set_iff replaces the TUN_FEATURES flags on every attach, and
 * TUNSETVNETHDRSZ / TUNSETOFFLOAD act on the attached fd. Prints "ok" and
 * exits 0 when all three are accepted and TUNGETIFF reports the flag.
 * Usage: vnet-attach IFNAME (run inside the device's namespace).
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
  if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ) return fprintf(stderr, "usage: vnet-attach IFNAME\n"), 2;
  int fd = open("/dev/net/tun", O_RDWR);
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, argv[1]);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  int hdr = sizeof(struct virtio_net_hdr);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) return perror("TUNSETIFF"), 1;
  if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR) || !(ifr.ifr_flags & IFF_PERSIST))
    return fprintf(stderr, "TUNGETIFF: flags 0x%x\n", ifr.ifr_flags), 1;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) return perror("TUNSETVNETHDRSZ"), 1;
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) return perror("TUNSETOFFLOAD"), 1;
  puts("ok");
  return 0;
}
