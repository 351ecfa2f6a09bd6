/**
 * Every scenario, in the order of the sections of docs/linux-behaviour.md
 * that they check. One file each under scenarios/, each headed by the Linux
 * behaviour it exercises. Each runs over IPv4 and IPv6; the few whose
 * steps depend on the family (the size of a full segment) are built for it.
 */
import type { Family } from './family.ts';
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
import { lossScenarios } from './scenarios/loss.ts';

function build(family: Family): readonly Scenario[] {
  return [
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
    injectedAcks(family),
    injectionStorm,
    ...lossScenarios(family),
  ];
}

const BY_FAMILY: Record<Family, readonly Scenario[]> = { 4: build(4), 6: build(6) };

/** The scenarios as built for `family`. */
export function scenariosFor(family: Family): readonly Scenario[] {
  return BY_FAMILY[family];
}

/** Every scenario (the IPv4 builds: names, titles and docs are the same in both families). */
export const SCENARIOS: readonly Scenario[] = BY_FAMILY[4];

export function findScenario(name: string, family: Family = 4): Scenario | undefined {
  return BY_FAMILY[family].find((s) => s.name === name);
}
