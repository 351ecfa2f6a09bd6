/**
 * Every scenario, in the order of the sections of docs/linux-behaviour.md
 * that they check. One file each under scenarios/, each headed by the Linux
 * behaviour it exercises.
 */
import type { Scenario } from './types.ts';
import { acceptOverflow } from './scenarios/accept-overflow.ts';
import { appBlocked } from './scenarios/app-blocked.ts';
import { badAck } from './scenarios/bad-ack.ts';
import { closeUnread } from './scenarios/close-unread.ts';
import { connectTimeout } from './scenarios/connect-timeout.ts';
import { crash } from './scenarios/crash.ts';
import { dataAfterClose } from './scenarios/data-after-close.ts';
import { finWait2 } from './scenarios/fin-wait2.ts';
import { keepalive } from './scenarios/keepalive.ts';
import { linger0 } from './scenarios/linger0.ts';
import { listenerClose } from './scenarios/listener-close.ts';
import { noListener } from './scenarios/no-listener.ts';
import { retransGiveup } from './scenarios/retrans-giveup.ts';
import { rfc5961 } from './scenarios/rfc5961.ts';
import { windowInjection } from './scenarios/window-injection.ts';
import { injectedAcks } from './scenarios/injected-acks.ts';
import { injectionStorm } from './scenarios/injection-storm.ts';
import { LOSS_SCENARIOS } from './scenarios/loss.ts';

export const SCENARIOS: readonly Scenario[] = [
  noListener,
  connectTimeout,
  closeUnread,
  linger0,
  dataAfterClose,
  crash,
  keepalive,
  finWait2,
  retransGiveup,
  rfc5961,
  badAck,
  acceptOverflow,
  appBlocked,
  listenerClose,
  windowInjection,
  injectedAcks,
  injectionStorm,
  ...LOSS_SCENARIOS,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
