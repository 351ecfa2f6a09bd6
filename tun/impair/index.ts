/**
 * Network impairments for any Link (the TUN device or an in-memory wire):
 * random faults per direction (loss, delay with jitter, duplication,
 * reordering, corruption, rate limit, MTU clamp, blackouts) and targeted
 * faults from a rule file, all deterministic from a seed in virtual time.
 *
 *   const impairment = new Impairment({ seed: 42, both: { loss: 0.05 }, rules: loadRules('rules.json') }, clock);
 *   const link = new ImpairedLink(device, impairment);
 *   new RealtimeDriver(stack, link, clock, [link]);
 */
export { ImpairCounters, IMPAIR_COUNTER_NAMES, type ImpairCounterName } from './counters.ts';
export { ImpairedLink } from './impaired-link.ts';
export { Impairment, directionFaults, isActive, type Direction, type ImpairConfig } from './impairment.ts';
export { craftTcp, flipOneBit, rewriteTcp, viewPacket, type PacketView } from './packet.ts';
export { IMPAIR_HELP, IMPAIR_OPTIONS, describeImpairment, parseImpairOptions, type ImpairValues, type ParsedImpairment } from './parse-cli.ts';
export type { DelayFault, DirectionFaults, RateFault, ReorderFault, Window } from './random-faults.ts';
export { RuleEngine } from './rule-engine.ts';
export { RuleError, loadRules, parseRules, type Rule, type RuleAction, type RuleMatch } from './rules.ts';
export { ImpairSyntaxError } from './units.ts';
export type { ImpairCopy, ImpairDropCause, ImpairObserver, ImpairVerdict } from './verdict.ts';
