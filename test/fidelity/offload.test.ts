/**
 * Fidelity with segmentation offloads on both sides (docs/offloads.md): our
 * stack over a TUN device with IFF_VNET_HDR, as `up` opens it by default,
 * against a kernel whose veth has TSO and GSO on. Loss, reordering and
 * duplication over a 50 ms path, where TSO autosizing sends two segments a
 * packet and a lost packet goes again whole (tcp_retransmit_skb with a TSO
 * skb); the reset and timer scenarios carry no super-segments and are run
 * with offloads off by the other files.
 */
import test from 'ava';
import { fidelityTests } from './fidelity.ts';

fidelityTests(test, ['loss-mid-cubic', 'loss-burst-reno', 'loss-reorder-cubic', 'loss-dup-cubic', 'loss-lost-rexmit-reno'], { offload: true });
